"""Customer lifetime value: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend) fitted on the
customers' own order history, weeks as the unit."""

import dagster as dg
import numpy as np
import polars as pl

from assets.features.btyd import (
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
)
from assets.sql_model import comment_table, sql_table_asset
from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse

WEEKS_PER_MONTH = 52 / 12
VOLATILE = {"fit_seconds"}  # wall time differs between identical runs; kept out of the table
# When the BG/NBD MLE is degenerate (a and b run off together towards infinity: a constant dropout
# probability, which the generator's data can produce), the closed-form expectation overflows
# (hyp2f1 -> inf times (1-z)^(a-1) -> 0 gives NaN for every customer). The fit is then repeated with
# these L2 penalties in turn; the first that gives finite scores for every customer is kept and its
# penalizer is recorded in marts.clv_model. 1e-6 moves r and alpha by < 1% on such data.
FALLBACK_PENALIZERS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


def _finite(*arrays: np.ndarray) -> bool:
    return all(bool(np.isfinite(a).all()) for a in arrays)


def score_bgnbd(x, tx, t, horizon: float, penalizer: float = 0.0):
    """Fit BG/NBD with the configured penalizer; if any customer's P(alive) or expected purchases
    is not finite, refit with the FALLBACK_PENALIZERS in turn. Returns (params, p_alive, expected)."""
    tried = []
    for pen in (penalizer, *[p for p in FALLBACK_PENALIZERS if p > penalizer]):
        params = fit_bgnbd(x, tx, t, penalizer=pen)
        with np.errstate(invalid="ignore", over="ignore"):
            p_alive = bgnbd_p_alive(params, x, tx, t)
            expected = bgnbd_expected_purchases(params, horizon, x, tx, t)
        if _finite(p_alive, expected):
            return params, p_alive, expected
        tried.append((pen, params.as_dict()))
    raise ValueError(f"BG/NBD gives non-finite scores for every penalizer tried: {tried}")


clv_inputs = sql_table_asset(
    "staging.clv_inputs", "features/clv_inputs.sql",
    deps=[["marts", "customer_identity"], ["staging", "crm_orders"]], group="features",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "customer_clv"], deps=[["staging", "clv_inputs"]], kinds={"duckdb", "scipy"},
                     description="marts.customer_clv: one row per customer with a completed order: P(alive), "
                                 "churn risk (1 - P(alive)), expected purchases and discounted CLV (USD) over the "
                                 "configured horizon, from BG/NBD + Gamma-Gamma. Input: staging.clv_inputs."),
        dg.AssetSpec(["marts", "clv_model"], deps=[["staging", "clv_inputs"]], kinds={"duckdb"},
                     description="marts.clv_model: one row per run date, model and parameter: fitted BG/NBD "
                                 "(r, alpha, a, b) and Gamma-Gamma (p, q, gamma) parameters and fit diagnostics "
                                 "(log-likelihood, customers, convergence). Input: staging.clv_inputs."),
    ],
    group_name="features",
)
def customer_clv(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
    """Fit BG/NBD and Gamma-Gamma, score every buyer, and record the fit per run date."""
    config = pipeline_config()["clv"]
    horizon = float(config["horizon_weeks"])
    monthly_rate = (1 + float(config["annual_discount_rate"])) ** (1 / 12) - 1
    run_date = settings.as_of_date
    with warehouse.connect() as con:
        inputs = con.sql("select * from staging.clv_inputs order by customer_key").pl()
        if inputs.height < 20 or inputs["frequency"].sum() == 0:
            raise ValueError(
                f"staging.clv_inputs has {inputs.height} buyers and {inputs['frequency'].sum()} repeat purchases;"
                " BG/NBD needs at least 20 buyers with some repeat purchases"
            )
        x, tx, t = inputs["frequency"].to_numpy(), inputs["recency_weeks"].to_numpy(), inputs["t_weeks"].to_numpy()
        m = inputs["avg_repeat_value"].fill_null(0).cast(pl.Float64).to_numpy()
        bgnbd, p_alive, expected = score_bgnbd(x, tx, t, horizon, float(config.get("penalizer", 0.0)))
        gamma_gamma = fit_gamma_gamma(x, m)
        scores = pl.DataFrame(
            {
                "customer_key": inputs["customer_key"],
                "p_alive": p_alive,
                "churn_risk": 1 - p_alive,
                "expected_purchases": expected,
                "expected_avg_order_value_usd": gamma_gamma_expected_spend(gamma_gamma, x, m),
                "predicted_clv_usd": customer_lifetime_value(
                    bgnbd, gamma_gamma, x, tx, t, m, horizon=horizon, step=WEEKS_PER_MONTH, discount_rate=monthly_rate
                ),
            }
        ).with_columns(pl.lit(horizon).alias("horizon_weeks"))
        bad = scores.select(pl.exclude("customer_key").is_nan().sum()).sum_horizontal().item()
        if bad:
            raise ValueError(f"marts.customer_clv would hold {bad} NaN scores (BG/NBD {bgnbd.as_dict()})")
        model_rows = pl.DataFrame(
            [("bg_nbd", name, float(value)) for name, value in bgnbd.to_rows() if name not in VOLATILE]
            + [("gamma_gamma", name, float(value)) for name, value in gamma_gamma.to_rows() if name not in VOLATILE],
            schema={"model": pl.String, "parameter": pl.String, "value": pl.Float64},
            orient="row",
        ).with_columns(pl.lit(run_date).alias("run_date"))
        con.execute("begin transaction")
        con.execute("create or replace table marts.customer_clv as select * from scores order by customer_key")
        con.execute(
            "create table if not exists marts.clv_model (run_date date, model varchar, parameter varchar, value double)"
        )
        con.execute("delete from marts.clv_model where run_date = $d", {"d": run_date})
        con.execute("insert into marts.clv_model select run_date, model, parameter, value from model_rows")
        comment_table(con, "marts.customer_clv", "features/customer_clv.yml")
        comment_table(con, "marts.clv_model", "features/clv_model.yml")
        con.execute("commit")
    context.log.info(f"BG/NBD {bgnbd.as_dict()}; Gamma-Gamma {gamma_gamma.as_dict()}")
    yield dg.MaterializeResult(
        asset_key=["marts", "customer_clv"],
        metadata={"dagster/row_count": scores.height, "mean_clv_usd": float(scores["predicted_clv_usd"].mean())},
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "clv_model"],
        metadata={"dagster/row_count": model_rows.height, **{f"bgnbd_{k}": v for k, v in bgnbd.as_dict().items()},
                  **{f"gg_{k}": v for k, v in gamma_gamma.as_dict().items()}},
    )
