"""staging.web_session_days: the web events aggregated once per session, day, login and country."""

import dagster as dg

from assets.sql_model import model_description, model_params
from assets.staging.staged import check_same_columns, replaces_whole_table
from pipelines.partitions import DayRange, backfill_policy, daily_partitions, max_days_per_transaction
from pipelines.resources import Warehouse, read_sql

SQL_FILE = "staging/web_session_days.sql"


def build_session_days(con, days: DayRange) -> int:
    """Rebuild the rows of `days` from staging.web_events in one transaction (a failure leaves the
    previous version); returns the rows written."""
    sql = read_sql(SQL_FILE)
    args = model_params(sql, {"partition_start": days.first, "partition_end": days.last})
    con.execute("begin transaction")
    # straight into the table: a temp copy of the rows first cost as much as the aggregation
    if replaces_whole_table(con, "web_session_days", days):
        rows = con.execute(f"create or replace table staging.web_session_days as\n{sql}", args).fetchall()[0][0]
    else:
        check_same_columns(con, "web_session_days", f"(\n{sql}\n)", args)
        con.execute(f"delete from staging.web_session_days where {days.sql('_partition_date')}")
        rows = con.execute(f"insert into staging.web_session_days by name\n{sql}", args).fetchall()[0][0]
    con.execute("commit")
    return rows


@dg.asset(
    key=["staging", "web_session_days"],
    group_name="staging",
    kinds={"duckdb", "sql"},
    deps=[["staging", "web_events"]],
    description=model_description(SQL_FILE),
    metadata={"sql": f"sql/{SQL_FILE}"},
    partitions_def=daily_partitions,
    backfill_policy=backfill_policy,
)
def web_session_days(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    days = DayRange.of(context)
    with warehouse.connect() as con:
        written = sum(build_session_days(con, chunk) for chunk in days.chunks(max_days_per_transaction()))
        rows, events = con.execute("select count(*), sum(events) from staging.web_session_days").fetchall()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "days": str(days), "rows_written": written,
                                          "events": int(events or 0)})


@dg.asset_check(asset=["staging", "web_session_days"], name="events_conserved", blocking=True,
                description="Every staged web event is counted in exactly one row of staging.web_session_days, "
                            "day by day (events per partition day equal in both tables).")
def web_session_days_events_conserved(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        days_off, staged, counted = con.execute(
            """
            with staged as (select _partition_date, count(*) as events from staging.web_events group by all),
                 counted as (select _partition_date, sum(events) as events from staging.web_session_days group by all)
            select count(*) filter (where staged.events is distinct from counted.events),
                   coalesce(sum(staged.events), 0), coalesce(sum(counted.events), 0)
            from staged full join counted using (_partition_date)
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=days_off == 0,
        metadata={"days_that_differ": days_off, "staged_events": int(staged), "events_in_session_days": int(counted)},
    )
