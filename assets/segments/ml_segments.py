"""Data-driven segments: k-means on the customer features, k chosen by silhouette.

Fit on a seeded sample, applied to every customer, so the cost of fitting does not grow with the
customer base. Clusters are numbered by size (cluster_1 is the largest) so names are stable.
"""

import dagster as dg
import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from pipelines.resources import Warehouse

# Heavy-tailed counts and amounts enter on a log scale.
LOG_FEATURES = ["frequency", "monetary_usd", "sessions_90d", "page_views_90d", "annual_income_usd", "recency_days"]
LINEAR_FEATURES = [
    "age_years", "mobile_share", "email_open_rate", "email_click_through_rate",
    "value_sustainability", "value_price", "value_prestige", "interest_novelty",
    "lifestyle_active", "lifestyle_digital", "nps_score",
]
CATEGORICAL_FEATURES = ["gender", "main_interest"]
FIT_SAMPLE = 50_000
SILHOUETTE_SAMPLE = 10_000
K_RANGE = range(2, 9)


def preprocessing() -> ColumnTransformer:
    """Impute (median, with missing-indicators), log-transform counts, scale, one-hot categoricals."""
    return ColumnTransformer(
        [
            ("log", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                                  FunctionTransformer(np.log1p, feature_names_out="one-to-one"), StandardScaler()),
             LOG_FEATURES),
            ("linear", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                                     StandardScaler()), LINEAR_FEATURES),
            ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                          OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
             CATEGORICAL_FEATURES),
        ]
    )


def fit_segmentation(frame: pl.DataFrame, seed: int = 7) -> tuple[Pipeline, dict[int, float]]:
    """Fit the pipeline on a sample; return it with the silhouette of every k tried."""
    sample = frame.sample(min(FIT_SAMPLE, frame.height), seed=seed).to_pandas()
    for column in LOG_FEATURES:  # negative values cannot be log-transformed; they are clipped at 0
        sample[column] = sample[column].clip(lower=0)
    prep = preprocessing().fit(sample)
    X = prep.transform(sample)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(SILHOUETTE_SAMPLE, len(X)), replace=False)
    scores = {}
    for k in K_RANGE:
        if k >= len(X):
            break
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(X)
        scores[k] = float(silhouette_score(X[idx], labels[idx])) if len(set(labels[idx])) > 1 else -1.0
    best_k = max(scores, key=lambda k: (scores[k], -k))
    model = Pipeline([("prep", prep), ("kmeans", KMeans(n_clusters=best_k, n_init=10, random_state=seed))])
    model.named_steps["kmeans"].fit(X)
    return model, scores


def assign_segments(model: Pipeline, frame: pl.DataFrame) -> np.ndarray:
    data = frame.to_pandas()
    for column in LOG_FEATURES:
        data[column] = data[column].clip(lower=0)
    raw = model.predict(data)
    # rename clusters by size so the largest is cluster_1 (stable names across reruns)
    order = np.argsort(-np.bincount(raw, minlength=model.named_steps["kmeans"].n_clusters), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[raw] + 1


@dg.asset(key=["marts", "ml_segments"], group_name="segments", kinds={"duckdb", "scikitlearn"},
          deps=[["marts", "customer_features"]])
def ml_segments(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Data-driven segments from scikit-learn k-means over demographic, behavioural, email and survey
    features (imputed, log-scaled, standardized, one-hot). k is chosen by silhouette over 2-8 on a
    seeded sample. Grain: one row per customer. Inputs: marts.customer_features."""
    columns = ["customer_key", *LOG_FEATURES, *LINEAR_FEATURES, *CATEGORICAL_FEATURES]
    with warehouse.connect() as con:
        frame = con.sql(f"select {', '.join(columns)} from marts.customer_features order by customer_key").pl()
        if frame.height < 10:
            raise ValueError(f"marts.customer_features has {frame.height} customers; ML segmentation needs at least 10")
        frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in LOG_FEATURES + LINEAR_FEATURES)
        model, scores = fit_segmentation(frame)
        segments = pl.DataFrame(
            {"customer_key": frame["customer_key"], "segment": [f"cluster_{i}" for i in assign_segments(model, frame)]}
        )
        con.execute("create or replace table marts.ml_segments as select * from segments order by customer_key")
    best_k = model.named_steps["kmeans"].n_clusters
    context.log.info(f"k-means: k={best_k}, silhouette by k {scores}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": segments.height,
            "k": best_k,
            "silhouette": scores[best_k],
            "silhouette_by_k": dg.MetadataValue.json({str(k): round(v, 4) for k, v in scores.items()}),
        }
    )
