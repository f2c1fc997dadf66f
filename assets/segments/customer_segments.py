"""Rule-based segmentations and the one table holding every customer's segment per segmentation."""

import dagster as dg

from assets.sql_model import comment_table, sql_table_asset
from pipelines.resources import PipelineSettings, Warehouse

rfm_segment_map = sql_table_asset("ref.rfm_segment_map", "segments/rfm_segment_map.sql", deps=[], group="segments")

rfm_scores = sql_table_asset(
    "marts.rfm_scores", "segments/rfm_scores.sql",
    deps=[["marts", "customer_features"], ["ref", "rfm_segment_map"]], group="segments",
)

customer_segments = sql_table_asset(
    "marts.customer_segments", "segments/customer_segments.sql",
    deps=[["marts", "customer_features"], ["marts", "rfm_scores"], ["marts", "analyst_segments"], ["marts", "ml_segments"]],
    group="segments",
)


@dg.asset(key=["marts", "segment_history"], group_name="segments", kinds={"duckdb"},
          deps=[["marts", "customer_segments"]])
def segment_history(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """Segment membership kept per run date: one row per run date, customer and segmentation.
    A rerun for the same date replaces that date's rows. Input: marts.customer_segments."""
    with warehouse.connect() as con:
        con.execute("begin transaction")
        con.execute(
            "create table if not exists marts.segment_history as select * from marts.customer_segments where false"
        )
        con.execute("delete from marts.segment_history where run_date = $d", {"d": settings.as_of_date})
        con.execute("insert into marts.segment_history select * from marts.customer_segments")
        comment_table(con, "marts.segment_history", "segments/segment_history.yml")
        con.execute("commit")
        runs, rows = con.execute("select count(distinct run_date), count(*) from marts.segment_history").fetchall()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "run_dates": runs})


segment_transitions = sql_table_asset(
    "marts.segment_transitions", "segments/segment_transitions.sql", deps=[["marts", "segment_history"]],
    group="segments",
)
