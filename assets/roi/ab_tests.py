"""marts.ab_test_results: A/B results per experiment x pre-treatment segment x variant vs control.

The SQL model marts.ab_outcomes gives one row per assigned customer and segmentation with the
segment as of the assignment date; the statistics come from assets/roi/ab_stats.py (scipy /
statsmodels). Settings: roi.ab_tests in config/pipeline.yaml.
"""

import dagster as dg
import polars as pl

from assets.roi.ab_stats import ab_test_results as compute_ab_results
from assets.roi.params import ab_settings
from assets.sql_model import comment_table
from pipelines.resources import Warehouse

OUTCOME_COLUMNS = ("experiment_id", "segmentation", "segment", "variant", "is_control", "converted", "revenue_usd")


def results_frame(outcomes: pl.DataFrame, settings: dict) -> pl.DataFrame:
    """ab_stats over the outcome rows (revenue in USD as float; the sums are reported to the cent)."""
    frame = outcomes.select(
        pl.col("experiment_id", "segmentation", "segment", "variant", "is_control", "converted"),
        pl.col("revenue_usd").cast(pl.Float64).alias("revenue"),
    )
    return compute_ab_results(
        frame, alpha=settings["alpha"], power=settings["power"], fdr=settings["fdr"],
        expected_split=settings["expected_split"], srm_alpha=settings["srm_alpha"],
    )


@dg.asset(
    key=["marts", "ab_test_results"], group_name="roi", kinds={"duckdb", "python"},
    deps=[["marts", "ab_outcomes"], ["staging", "experiments"]],
)
def ab_test_results(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """A/B test results: one row per experiment x segmentation x pre-treatment segment x non-control
    variant (vs the control): sizes, conversion rates, absolute and relative lift with CIs, p-value,
    Benjamini-Hochberg q-value within experiment x segmentation, significant flag, sample-ratio-mismatch
    check, MDE at the configured power, revenue-per-user lift with CI. Segments are as of each
    customer's assignment date. Inputs: marts.ab_outcomes, staging.experiments; settings roi.ab_tests."""
    settings = ab_settings()
    with warehouse.connect() as con:
        outcomes = con.sql(f"select {', '.join(OUTCOME_COLUMNS)} from marts.ab_outcomes").pl()
        results = results_frame(outcomes, settings)
        con.register("ab_results_frame", results.to_arrow())
        con.execute(
            """
            create or replace table marts.ab_test_results as
            select
                r.*,
                e.experiment_name,
                e.conversion_window_days,
                complete.window_complete,
                $fdr::double as fdr
            from ab_results_frame r
            join staging.experiments e using (experiment_id)
            join (select experiment_id, bool_and(window_complete) as window_complete
                  from marts.ab_outcomes group by experiment_id) complete using (experiment_id)
            order by experiment_id, segmentation, segment, variant
            """,
            {"fdr": settings["fdr"]},
        )
        con.unregister("ab_results_frame")
        comment_table(con, "marts.ab_test_results", "roi/ab_test_results.yml")
        rows, significant, srm = con.execute(
            "select count(*), count(*) filter (where significant), count(*) filter (where srm_flag)"
            " from marts.ab_test_results"
        ).fetchall()[0]
        headline = con.sql(
            "select experiment_id, variant, n_control, n_variant, round(abs_lift, 4) as abs_lift,"
            " round(abs_lift_ci_lower, 4) as ci_lower, round(abs_lift_ci_upper, 4) as ci_upper,"
            " round(q_value, 4) as q_value, significant, srm_flag"
            " from marts.ab_test_results where segmentation = 'all' order by experiment_id, variant"
        ).pl()
    context.log.info(f"ab_test_results: {rows} comparisons, {significant} significant at FDR {settings['fdr']}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "significant_comparisons": significant,
        "srm_flags": srm,
        "headline (segmentation all)": dg.MetadataValue.md(_markdown_table(headline)),
    })


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in frame.iter_rows())
