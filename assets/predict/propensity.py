"""Predictive scores: churn-trend features, the propensity-to-convert model (time split, calibrated,
evaluated per run) and the per-customer score table."""

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl

from assets.features.customer_clv import score_bgnbd
from assets.fitted_models import signature, store_fit, usable_fit
from assets.predict.model import MODEL_INPUTS, evaluate, fit_final, model_inputs, predict
from assets.sql_model import comment_table, create_table, model_description
from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse, read_sql

GROUP = "predict"
TREND_DEPS = [["marts", "customer_identity"], ["staging", "crm_contacts"], ["staging", "crm_orders"],
              ["staging", "web_session_days"], ["staging", "email_events"], ["staging", "survey_responses"]]


# Fits (each cross-validation fold, the final model) use a seeded sample of at most this many training
# customers (config predict.max_fit_customers); every customer is still predicted out of fold and
# scored. 200k rows put the AUC within noise of the full fit and keep the fit time flat in N.
MAX_FIT_CUSTOMERS = 200_000
# predict settings that do not change the fitted model (a stored fit stays usable when they change)
NOT_MODEL_SETTINGS = {"auc_floor", "max_auc_drift", "slipping_drop_share", "refit_every_days"}


def predict_config() -> dict:
    return pipeline_config()["predict"]


@dg.asset(key=["marts", "customer_trends"], group_name=GROUP, kinds={"duckdb", "sql"}, deps=TREND_DEPS,
          description=model_description("predict/customer_trends.sql"),
          metadata={"sql": "sql/predict/customer_trends.sql"})
def customer_trends(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """Activity levels and trends per customer as of the run date (cutoff = run date)."""
    params = {"cutoff": settings.as_of_date, "drop_prior_events": float(predict_config()["drop_prior_events"])}
    with warehouse.connect() as con:
        rows = create_table(con, "marts.customer_trends", "predict/customer_trends.sql", params)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


def with_bgnbd(frame: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """Add BG/NBD expected purchases in the next horizon_days and P(alive), fitted on the frame itself
    (so on the history before its cutoff only). The customer's clock starts at their first record
    (acquisition), every purchase day counts (not only repeats) and dropout can follow any purchase:
    the generator's and many shops' process; T = tenure, recency = days to the last order, in weeks."""
    x = frame["order_days"].fill_null(0).cast(pl.Float64).to_numpy()
    big_t = frame["tenure_days"].fill_null(0).cast(pl.Float64).to_numpy() / 7
    tx = np.where(x > 0, frame["days_to_last_order"].fill_null(0).cast(pl.Float64).to_numpy() / 7, 0.0)
    tx = np.minimum(tx, big_t)
    _, p_alive, expected = score_bgnbd(x, tx, big_t, horizon_days / 7)
    return frame.with_columns(pl.Series("bgnbd_expected_purchases", expected), pl.Series("bgnbd_p_alive", p_alive))


def feature_frame(con, cutoff: dt.date, drop_prior_events: float, horizon_days: int,
                  labelled: bool = True, trends_table: str | None = None) -> pl.DataFrame:
    """customer_trends as of `cutoff` (data before the cutoff only) plus BG/NBD features fitted on
    that history. labelled: one row per customer seen before the cutoff, with the label (a completed
    order in the horizon after it). Not labelled (scoring): one row per customer of marts.customers,
    those without any record before the cutoff with empty history. trends_table: a table already
    holding sql/predict/customer_trends.sql for this cutoff and drop_prior_events (marts.customer_trends
    for the run date), read instead of computing the model again."""
    if trends_table is None:
        trends = read_sql("predict/customer_trends.sql")
        con.execute(f"create or replace temp table _features as {trends}",
                    {"cutoff": cutoff, "drop_prior_events": drop_prior_events})
    else:
        con.execute(f"create or replace temp table _features as select * from {trends_table}")
    if labelled:
        con.execute(f"create or replace temp table _labels as {read_sql('predict/propensity_labels.sql')}",
                    {"cutoff": cutoff, "horizon_days": horizon_days})
        frame = con.sql("""select _features.*, _labels.customer_key is not null as label
                           from _features left join _labels using (customer_key) order by customer_key""").pl()
    else:
        frame = con.sql("""select customers.customer_key, _features.* exclude (customer_key)
                           from marts.customers customers left join _features using (customer_key)
                           order by customers.customer_key""").pl()
    return with_bgnbd(frame, horizon_days)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "propensity_model"], deps=TREND_DEPS, kinds={"duckdb", "scikit-learn"},
                     description="marts.propensity_model: one row per fit (its run date) and evaluation figure of the "
                                 "propensity model (kind metric | calibration_decile | feature_importance), "
                                 "measured out of fold on the training cutoff (run date - horizon). The model is "
                                 "refitted every predict.refit_every_days run dates (models.fitted_models). "
                                 "Inputs: staging orders/web/email/contacts/surveys via sql/predict/customer_trends.sql; "
                                 "BG/NBD (assets/features/btyd.py) fitted on the history before the cutoff."),
        dg.AssetSpec(["marts", "propensity_backtest"], deps=TREND_DEPS, kinds={"duckdb"},
                     description="marts.propensity_backtest: one row per customer seen before the training "
                                 "cutoff: the realised label in the horizon after the cutoff and the out-of-fold "
                                 "predicted probability. Rewritten at every refit."),
        dg.AssetSpec(["marts", "customer_propensity"], deps=[*TREND_DEPS, ["marts", "customers"], ["marts", "customer_trends"]],
                     kinds={"duckdb"},
                     description="marts.customer_propensity: one row per customer of marts.customers: "
                                 "calibrated probability of a completed order in the next horizon days after the "
                                 "run date, the BG/NBD inputs behind it (expected purchases, P(alive)) and the "
                                 "run date of the model fit that scored it."),
    ],
    group_name=GROUP,
)
def propensity_model(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
    """Score every customer with features as of the run date, with the stored model when one is usable
    for the run date (models.fitted_models). Otherwise refit first: train on features as of
    (run date - horizon) with the label from the horizon after it, evaluate out of fold, fit on all
    training rows (a bounded sample) and store the fit with its evaluation."""
    config = predict_config()
    horizon, drop_prior = int(config["horizon_days"]), float(config["drop_prior_events"])
    run_date = settings.as_of_date
    with warehouse.connect() as con:
        sig = signature({k: v for k, v in config.items() if k not in NOT_MODEL_SETTINGS}, list(MODEL_INPUTS))
        stored = usable_fit(con, "propensity", run_date, int(config["refit_every_days"]), sig)
        # marts.customer_trends is this same model as of the run date (asset customer_trends); computed
        # again only when the table is missing or from another run date (a partial materialization)
        current = con.execute(
            "select count(*) > 0 from duckdb_tables() where schema_name = 'marts' and table_name = 'customer_trends'"
        ).fetchall()[0][0] and con.execute(
            "select coalesce(bool_and(cutoff_date = $d), true) from marts.customer_trends", {"d": run_date}
        ).fetchall()[0][0]
        score = feature_frame(con, run_date, drop_prior, horizon, labelled=False,
                              trends_table="marts.customer_trends" if current else None)
        refit = None if stored else fit_propensity(con, run_date, config)
        model, fit_date = (stored.model, stored.fit_date) if stored else (refit.model, run_date)
        propensity = predict(model, model_inputs(score)[0])
        scores = score.select("customer_key", "bgnbd_expected_purchases", "bgnbd_p_alive").with_columns(
            pl.Series("propensity", propensity), pl.lit(run_date).alias("as_of_date"), pl.lit(horizon).alias("horizon_days"),
            pl.lit(fit_date).alias("model_fit_date"))
        con.execute("begin transaction")
        con.execute("create or replace table marts.customer_propensity as "
                    "select customer_key, propensity, bgnbd_expected_purchases, bgnbd_p_alive, as_of_date, horizon_days, "
                    "model_fit_date from scores order by customer_key")
        if refit:
            refit.write(con)
            store_fit(con, "propensity", fit_date, sig, model, refit.training_rows)
        for table in ("propensity_backtest", "customer_propensity", "propensity_model"):
            comment_table(con, f"marts.{table}", f"predict/{table}.yml")
        con.execute("commit")
        metrics = dict(con.execute("select name, value from marts.propensity_model where kind = 'metric' and run_date = $d",
                                   {"d": fit_date}).fetchall())
        counts = {t: con.execute(f"select count(*) from marts.{t}").fetchall()[0][0]
                  for t in ("propensity_model", "propensity_backtest")}
    context.log.info(f"propensity model ({'refitted' if refit else f'fitted {fit_date}, reused'}, "
                     f"horizon {horizon} d): {metrics}")
    yield dg.MaterializeResult(asset_key=["marts", "propensity_model"],
                               metadata={"dagster/row_count": counts["propensity_model"], "refitted": refit is not None,
                                         "model_fit_date": fit_date.isoformat(),
                                         **{k: dg.MetadataValue.float(v) for k, v in metrics.items()}})
    yield dg.MaterializeResult(asset_key=["marts", "propensity_backtest"],
                               metadata={"dagster/row_count": counts["propensity_backtest"]})
    yield dg.MaterializeResult(asset_key=["marts", "customer_propensity"],
                               metadata={"dagster/row_count": scores.height,
                                         "mean_propensity": float(propensity.mean()) if len(propensity) else 0.0})


@dataclass
class PropensityFit:
    """A refit of the propensity model and the evaluation tables it produces."""
    model: object
    training_rows: int
    backtest: pl.DataFrame
    evaluation: pl.DataFrame

    def write(self, con) -> None:
        """Replace marts.propensity_backtest and this fit's rows of marts.propensity_model (in the
        caller's transaction)."""
        backtest, evaluation = self.backtest, self.evaluation  # noqa: F841 (read by DuckDB by name)
        con.execute("create or replace table marts.propensity_backtest as select * from backtest order by customer_key")
        con.execute("""create table if not exists marts.propensity_model (
                           run_date date, cutoff_date date, horizon_days integer, kind varchar, name varchar,
                           decile integer, value double, mean_predicted double, observed_rate double, customers bigint)""")
        con.execute("delete from marts.propensity_model where run_date in (select distinct run_date from evaluation)")
        con.execute("""insert into marts.propensity_model
                       select run_date, cutoff_date, horizon_days, kind, name, decile, value, mean_predicted,
                              observed_rate, customers from evaluation""")


def fit_propensity(con, run_date: dt.date, config: dict) -> PropensityFit:
    """Train on features as of (run date - horizon) with the label from the horizon after it, evaluate
    out of fold and fit the scoring model on all training rows (a bounded sample)."""
    horizon, folds, seed = int(config["horizon_days"]), int(config["cv_folds"]), int(config["random_seed"])
    cutoff = run_date - dt.timedelta(days=horizon)
    train = feature_frame(con, cutoff, float(config["drop_prior_events"]), horizon)
    x_train, features = model_inputs(train)
    y_train = train["label"].to_numpy().astype(np.int64)
    max_fit = int(config.get("max_fit_customers", MAX_FIT_CUSTOMERS))
    result = evaluate(x_train, y_train, features, folds, seed, max_fit_rows=max_fit, max_importance_rows=max_fit // folds)
    model = fit_final(x_train, y_train, seed, max_fit_rows=max_fit)
    backtest = train.select("customer_key", "cutoff_date", pl.col("label").alias("purchased_in_horizon")).with_columns(
        pl.Series("predicted_probability", result.oof), pl.Series("fold", result.fold))
    evaluation = pl.DataFrame(
        [("metric", name, None, value, None, None, len(y_train)) for name, value in result.metrics.items()]
        + [("calibration_decile", f"decile_{r['decile']:02d}", r["decile"], r["observed_rate"] - r["mean_predicted"],
            r["mean_predicted"], r["observed_rate"], r["customers"]) for r in result.calibration]
        + [("feature_importance", name, None, value, None, None, len(y_train))
           for name, value in sorted(result.importances.items(), key=lambda kv: -kv[1])],
        schema={"kind": pl.String, "name": pl.String, "decile": pl.Int64, "value": pl.Float64,
                "mean_predicted": pl.Float64, "observed_rate": pl.Float64, "customers": pl.Int64},
        orient="row",
    ).with_columns(pl.lit(run_date).alias("run_date"), pl.lit(cutoff).alias("cutoff_date"),
                   pl.lit(horizon).alias("horizon_days"))
    return PropensityFit(model, len(y_train), backtest, evaluation)


@dg.asset(key=["marts", "customer_scores"], group_name=GROUP, kinds={"duckdb", "sql"},
          deps=[["marts", "customers"], ["marts", "customer_propensity"], ["marts", "customer_trends"],
                ["marts", "customer_clv"]],
          description=model_description("predict/customer_scores.sql"),
          metadata={"sql": "sql/predict/customer_scores.sql"})
def customer_scores(warehouse: Warehouse) -> dg.MaterializeResult:
    """Propensity, churn risk, slipping flag and CLV per customer, with deciles."""
    params = {"slipping_drop_share": float(predict_config()["slipping_drop_share"])}
    with warehouse.connect() as con:
        rows = create_table(con, "marts.customer_scores", "predict/customer_scores.sql", params)
        slipping = con.execute("select count(*) filter (where slipping) from marts.customer_scores").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "slipping_customers": slipping})


def auc_warning(current: float | None, previous: float | None, floor: float, max_drift: float) -> list[str]:
    """Reasons to warn about the model's ROC AUC (empty when it is fine)."""
    if current is None or np.isnan(current):
        return ["no ROC AUC recorded for the model fit that scored this run"]
    reasons = []
    if current < floor:
        reasons.append(f"ROC AUC {current:.3f} is below the floor {floor:.3f}")
    if previous is not None and abs(current - previous) > max_drift:
        reasons.append(f"ROC AUC moved {current - previous:+.3f} since the previous fit (max {max_drift:.3f})")
    return reasons


@dg.asset_check(asset=["marts", "propensity_model"], name="auc_floor_and_drift", blocking=False,
                description="Warns when the out-of-fold ROC AUC of the model fit that scored the run date is below "
                            "predict.auc_floor or moved by more than predict.max_auc_drift since the previous fit.")
def propensity_auc_check(settings: PipelineSettings, warehouse: Warehouse) -> dg.AssetCheckResult:
    config = predict_config()
    with warehouse.connect() as con:
        # the fit that scored this run date's customers, and the fit before it
        fit_date = con.execute("select max(model_fit_date) from marts.customer_propensity where as_of_date = $d",
                               {"d": settings.as_of_date}).fetchall()[0][0]
        rows = con.execute(
            """select run_date, value from marts.propensity_model
               where kind = 'metric' and name = 'roc_auc' and run_date <= $d order by run_date desc limit 2""",
            {"d": fit_date},
        ).fetchall()
    current = rows[0][1] if rows and fit_date is not None and rows[0][0] == fit_date else None
    previous = rows[1][1] if len(rows) > 1 and current is not None else None
    reasons = auc_warning(current, previous, float(config["auc_floor"]), float(config["max_auc_drift"]))
    return dg.AssetCheckResult(
        passed=not reasons, severity=dg.AssetCheckSeverity.WARN,
        metadata={"roc_auc": current if current is not None else float("nan"),
                  "previous_roc_auc": previous if previous is not None else float("nan"),
                  "reasons": "; ".join(reasons) or "ok"},
    )
