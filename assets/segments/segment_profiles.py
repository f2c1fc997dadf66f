"""Personas and validation: what each segment looks like, and whether each segmentation holds up.

marts.segment_feature_stats and marts.segment_profiles are computed in DuckDB SQL (unpivot of the
feature table, means and standardized differences); silhouettes use the ML preprocessing on a
seeded sample; the persona label is composed from the segment's most distinguishing features.
"""

import dagster as dg
import numpy as np
import polars as pl
from sklearn.metrics import pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

from assets.segments.ml_segments import FEATURES, ml_config, preprocessing, to_pandas
from assets.sql_model import comment_table
from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse

# numeric (and boolean, as shares) features profiled per segment
PROFILE_FEATURES = [
    "age_years", "annual_income_usd", "tenure_days", "recency_days", "frequency", "monetary_usd",
    "avg_order_value_usd", "p_alive", "churn_risk", "predicted_clv_usd", "sessions_90d", "page_views_90d",
    "product_views_90d", "cart_abandonment_rate", "days_since_last_visit", "mobile_session_share",
    "desktop_session_share", "tablet_session_share", "paid_search_session_share", "paid_social_session_share",
    "email_session_share", "email_open_rate", "email_click_through_rate", "value_sustainability", "value_price",
    "value_prestige", "interest_novelty", "lifestyle_active", "lifestyle_digital", "nps_score",
    "has_orders", "has_web", "has_email", "has_survey", "marketing_opt_in",
]
# feature -> (word when the segment is above the population, word when below)
PERSONA_WORDS = {
    "age_years": ("older", "young"), "annual_income_usd": ("affluent", "budget"),
    "tenure_days": ("long-standing", "recently acquired"), "recency_days": ("lapsed", "recently active"),
    "frequency": ("frequent", "occasional"), "monetary_usd": ("high-spending", "low-spending"),
    "avg_order_value_usd": ("big-basket", "small-basket"), "p_alive": ("engaged", "fading"),
    "churn_risk": ("churn-prone", "loyal"), "predicted_clv_usd": ("high-value", "low-value"),
    "sessions_90d": ("web-active", "web-quiet"), "page_views_90d": ("browsing-heavy", "light-browsing"),
    "mobile_session_share": ("mobile", "non-mobile"), "desktop_session_share": ("desktop", "non-desktop"),
    "email_open_rate": ("email-responsive", "email-ignoring"), "email_click_through_rate": ("click-happy", "non-clicking"),
    "value_sustainability": ("eco-minded", "eco-indifferent"), "value_price": ("price-sensitive", "price-relaxed"),
    "value_prestige": ("prestige-seeking", "unpretentious"), "interest_novelty": ("novelty-seeking", "traditional"),
    "lifestyle_active": ("active outdoor", "indoor"), "lifestyle_digital": ("digital", "offline"),
    "nps_score": ("enthusiastic", "critical"), "has_orders": ("buying", "non-buying"),
    "has_survey": ("vocal", "silent"),
}
PERSONA_MIN_EFFECT = 0.3  # |standardized difference| a trait needs to appear in the label


def _profile_sql() -> str:
    """One row per segmentation, segment and feature. Aggregated wide (one row per customer and
    segmentation, every feature a column) and unpivoted after: the long form (customers x
    segmentations x features rows) took minutes at 1M customers. Sums are exact DECIMAL sums, which
    do not depend on the order rows arrive in (parallel float sums differ in the last bits between
    runs), so reruns are bit-identical without sorting."""
    casts = ", ".join(f"{c}::double as {c}" for c in PROFILE_FEATURES)

    def exact_avg(column: str) -> str:
        return f"avg({column}::decimal(38, 12))::double"

    population = ", ".join(
        f"{{'population_mean': any_value(m.{c}), "
        f"'population_sd': sqrt(sum(((f.{c} - m.{c}) ^ 2)::decimal(38, 12))::double / nullif(count(f.{c}) - 1, 0))}} as {c}"
        for c in PROFILE_FEATURES)
    observed = ", ".join(f"{{'segment_mean': {exact_avg(c)}, 'customers_with_value': count({c})}} as {c}"
                         for c in PROFILE_FEATURES)
    means = ", ".join(f"{exact_avg(c)} as {c}" for c in PROFILE_FEATURES)
    return f"""
    with features as (
        select customer_key, {casts} from marts.customer_features
    ),
    means as (
        select {means} from features
    ),
    population_wide as (
        select {population} from features f cross join means m
    ),
    population as (
        select feature, stats.population_mean, stats.population_sd
        from (unpivot population_wide on columns(*) into name feature value stats)
    ),
    observed_wide as (
        select s.segmentation, s.segment, {observed}
        from marts.customer_segments s join features using (customer_key)
        group by all
    ),
    observed as (
        select segmentation, segment, feature, stats.segment_mean,
               -- a feature no customer of the segment has is absent (NULL mean), as in the long form
               nullif(stats.customers_with_value, 0) as customers_with_value
        from (unpivot observed_wide on columns(* exclude (segmentation, segment)) into name feature value stats)
    ),
    -- every segment x every feature: a feature no customer of the segment has gets a NULL mean
    segment as (
        select keys.segmentation, keys.segment, population.feature, observed.segment_mean,
               coalesce(observed.customers_with_value, 0) as customers_with_value
        from (select distinct segmentation, segment from marts.customer_segments) keys
        cross join population
        left join observed using (segmentation, segment, feature)
    )
    select
        segment.segmentation, segment.segment, segment.feature, segment.segment_mean, segment.customers_with_value,
        population.population_mean, population.population_sd,
        (segment.segment_mean - population.population_mean) / nullif(population.population_sd, 0) as standardized_difference,
        -- ranked on 9 decimals: mirrored features (churn_risk = 1 - p_alive) tie and go by name, not by
        -- the last bits of their sums
        row_number() over (partition by segment.segmentation, segment.segment
                           order by round(abs((segment.segment_mean - population.population_mean)
                                              / nullif(population.population_sd, 0)), 9) desc nulls last, segment.feature)
            as distinction_rank
    from segment join population using (feature)
    order by segmentation, segment, distinction_rank
    """


def persona_label(traits: list[tuple[str, float]]) -> str:
    """A readable label from (feature, standardized difference) pairs, most distinguishing first:
    up to three words for traits with |difference| >= PERSONA_MIN_EFFECT, then a noun."""
    words = []
    for feature, diff in traits:
        if diff is None or abs(diff) < PERSONA_MIN_EFFECT or feature not in PERSONA_WORDS:
            continue
        word = PERSONA_WORDS[feature][0 if diff > 0 else 1]
        if word not in words:
            words.append(word)
        if len(words) == 3:
            break
    buyer = dict(traits).get("frequency")
    noun = "shoppers" if buyer is not None and buyer >= PERSONA_MIN_EFFECT else "customers"
    return " ".join(words + [noun]) if words else f"typical {noun}"


def segmentation_silhouettes(con, seed: int, sample_size: int) -> dict[str, float | None]:
    """Silhouette of every segmentation in one space: the ML preprocessing of the customer features,
    on a seeded sample of customers (None when a segmentation has one segment in the sample). The
    sample's distance matrix is computed once, so keep the sample to a few thousand."""
    frame = con.sql(f"select customer_key, {', '.join(FEATURES)} from marts.customer_features order by customer_key").pl()
    frame = frame.sample(min(sample_size, frame.height), seed=seed, shuffle=True)
    labels = con.sql("select customer_key, segmentation, segment from marts.customer_segments").pl()
    out = {}
    keys = frame.select("customer_key")
    with threadpool_limits(1):
        distances = pairwise_distances(preprocessing().fit_transform(to_pandas(frame)))  # once for all segmentations
        for segmentation in labels["segmentation"].unique().sort():
            seg = keys.join(labels.filter(pl.col("segmentation") == segmentation), on="customer_key", how="left")
            y = seg["segment"].fill_null("(none)").to_numpy()
            out[segmentation] = float(silhouette_score(distances, y, metric="precomputed")) if 1 < len(set(y)) < len(y) else None
    return out


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "segment_feature_stats"], deps=[["marts", "customer_segments"], ["marts", "customer_features"]],
                     kinds={"duckdb", "sql"},
                     description="marts.segment_feature_stats: one row per segmentation, segment and profiled feature: "
                                 "segment mean, population mean and sd, standardized difference and its rank. "
                                 "Inputs: marts.customer_segments, marts.customer_features."),
        dg.AssetSpec(["marts", "segment_profiles"], deps=[["marts", "customer_segments"], ["marts", "customer_features"]],
                     kinds={"duckdb"},
                     description="marts.segment_profiles: one row per segmentation and segment: size, share, mean of "
                                 "each feature (a map), the most distinguishing features and a generated persona label. "
                                 "Inputs: marts.customer_segments, marts.customer_features."),
        dg.AssetSpec(["marts", "segmentation_validation"],
                     deps=[["marts", "customer_segments"], ["marts", "customer_features"], ["marts", "ml_segmentation_fit"]],
                     kinds={"duckdb", "scikitlearn"},
                     description="marts.segmentation_validation: one row per run date and segmentation: segments, "
                                 "minimum segment share, silhouette (in the ML feature space, on a sample), bootstrap "
                                 "ARI stability (ML only; rule-based segmentations are not refitted) and how many "
                                 "segments fall below segments.min_segment_share. Inputs: marts.customer_segments, "
                                 "marts.customer_features, marts.ml_segmentation_fit."),
    ],
    group_name="segments",
)
def segment_profiles(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
    """Profile every segment, label it, and validate every segmentation."""
    ml = ml_config()
    min_share = float(pipeline_config()["segments"].get("min_segment_share", 0.02))
    run_date = settings.as_of_date
    with warehouse.connect() as con:
        con.execute(f"create or replace table marts.segment_feature_stats as {_profile_sql()}")
        comment_table(con, "marts.segment_feature_stats", "segments/segment_feature_stats.yml")
        traits = con.sql(
            "select segmentation, segment, list({'feature': feature, 'standardized_difference': standardized_difference}"
            " order by distinction_rank) as traits "
            "from marts.segment_feature_stats group by all"
        ).pl()
        labels = pl.DataFrame({
            "segmentation": traits["segmentation"], "segment": traits["segment"],
            "persona_label": [persona_label([(t["feature"], t["standardized_difference"]) for t in row])
                              for row in traits["traits"].to_list()],
        }, schema={"segmentation": pl.String, "segment": pl.String, "persona_label": pl.String})
        con.execute(
            """
            create or replace table marts.segment_profiles as
            with counts as (
                select segmentation, segment, count(*) as customers from marts.customer_segments group by all
            ),
            sizes as (
                select *, customers / sum(customers) over (partition by segmentation) as share from counts
            ),
            stats as (
                select segmentation, segment,
                       map(list(feature order by feature), list(segment_mean order by feature)) as feature_means,
                       list(feature || ' ' || case when standardized_difference >= 0 then '+' else '' end
                            || round(standardized_difference, 2)::varchar || ' sd' order by distinction_rank)
                           filter (where distinction_rank <= 5 and standardized_difference is not null)
                           as distinguishing_features
                from marts.segment_feature_stats group by all
            )
            select $run_date::date as run_date, sizes.segmentation, sizes.segment, sizes.customers, sizes.share,
                   labels.persona_label, stats.distinguishing_features, stats.feature_means
            from sizes
            left join stats using (segmentation, segment)
            left join labels using (segmentation, segment)
            order by segmentation, customers desc, segment
            """,
            {"run_date": run_date},
        )
        comment_table(con, "marts.segment_profiles", "segments/segment_profiles.yml")
        silhouettes = pl.DataFrame(
            list(segmentation_silhouettes(con, int(ml["seed"]), int(ml["validation_sample"])).items()),
            schema={"segmentation": pl.String, "silhouette": pl.Float64}, orient="row",
        )
        con.execute(
            """
            create or replace table marts.segmentation_validation as
            with fit as (
                select bootstrap_ari_mean from marts.ml_segmentation_fit where run_date = $run_date and chosen
            )
            select $run_date::date as run_date, p.segmentation, count(*) as segments, sum(p.customers) as customers,
                   min(p.share) as min_segment_share, arg_min(p.segment, p.share) as smallest_segment,
                   s.silhouette,
                   case when p.segmentation = 'ml_cluster' then (select bootstrap_ari_mean from fit) end as bootstrap_ari,
                   count(*) filter (where p.share < $min_share) as segments_below_min_share,
                   $min_share::double as min_share_threshold
            from marts.segment_profiles p
            left join silhouettes s using (segmentation)
            group by p.segmentation, s.silhouette
            order by p.segmentation
            """,
            {"run_date": run_date, "min_share": min_share},
        )
        comment_table(con, "marts.segmentation_validation", "segments/segmentation_validation.yml")
        counts = [con.execute(f"select count(*) from marts.{t}").fetchall()[0][0]
                  for t in ("segment_feature_stats", "segment_profiles", "segmentation_validation")]
        validation = con.sql("select segmentation, min_segment_share, silhouette, bootstrap_ari from marts.segmentation_validation").fetchall()
    context.log.info(f"segmentation validation: {validation}")
    yield dg.MaterializeResult(asset_key=["marts", "segment_feature_stats"], metadata={"dagster/row_count": counts[0]})
    yield dg.MaterializeResult(asset_key=["marts", "segment_profiles"], metadata={"dagster/row_count": counts[1]})
    yield dg.MaterializeResult(
        asset_key=["marts", "segmentation_validation"],
        metadata={"dagster/row_count": counts[2],
                  "validation": dg.MetadataValue.json({s: {"min_share": m, "silhouette": sil, "bootstrap_ari": b}
                                                       for s, m, sil, b in validation})},
    )


@dg.asset_check(asset=["marts", "segment_profiles"], name="segments_viable", blocking=False,
                description="Warns about segments whose share of customers is below segments.min_segment_share "
                            "(too small to target on their own).")
def segments_viable(warehouse: Warehouse) -> dg.AssetCheckResult:
    min_share = float(pipeline_config()["segments"].get("min_segment_share", 0.02))
    with warehouse.connect() as con:
        small = con.execute(
            "select segmentation, segment, customers, round(share, 4) from marts.segment_profiles "
            "where share < $m order by segmentation, share", {"m": min_share}
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not small,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"min_share": min_share, "small_segments": len(small),
                  "segments": dg.MetadataValue.json([{"segmentation": a, "segment": b, "customers": c, "share": float(d)}
                                                     for a, b, c, d in small])},
    )


segment_profile_checks = [segments_viable]
