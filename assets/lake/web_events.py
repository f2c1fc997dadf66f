"""lake.web_events: the web events of each day run through the staging model, as one Parquet file per
day that any worker can write (pipelines/lake.py).

Flattening the nested GA4 export is the heaviest per-day step of the graph, and several workers
(processes, Kubernetes pods, Celery workers) cannot share the DuckDB file. So this step needs nothing
from the warehouse: it reads the day's landed files, works in an in-memory DuckDB with the
warehouse's macros, the ISO country list (from pycountry, as ref.countries) and the erasure
suppression list the warehouse published to the lake, and replaces its day's file atomically. It
takes the `lake_writer` pool, not `duckdb_writer`, so any number of days (up to that pool's limit)
are staged at once, beside a warehouse step. staging.web_events (one writer) then loads the days.
"""
import dagster as dg

from assets.ingest.landing import check_parquet, create_parquet_view, resolve_files
from assets.privacy.erasure import has_suppressions, load_lake_suppressions, staging_filter
from assets.reference.ref_tables import countries_frame
from assets.sql_model import model_params
from pipelines.lake import day_file, parquet_relation, write_days
from pipelines.partitions import DayRange, backfill_policy, daily_partitions, files_for, max_days_per_transaction
from pipelines.privacy import pii_salt
from pipelines.resources import PipelineSettings, Warehouse, read_sql

LAKE_POOL = "lake_writer"
SOURCE = "web_events"
SQL_FILE = f"staging/{SOURCE}.sql"


def prepare_worker(con, settings: PipelineSettings) -> int:
    """What the staging model reads besides the landed files, in a scratch connection: ref.countries
    and the published erasure suppression list (returns its size)."""
    frame = countries_frame()
    con.execute("create table ref.countries as select * from frame")
    return load_lake_suppressions(con, settings.lake_path)


def stage_days(con, settings: PipelineSettings, source, days: DayRange, params: dict[str, object]) -> dict[str, int]:
    """The staging model over the landed files of `days` (bookkeeping columns kept: rejected rows with
    their rule and reason, defects), minus rows with a suppressed identifier, to the days' files."""
    files = files_for(source, resolve_files(source, settings.landing_path), days)
    check_parquet(con, source, files)  # a missing or retyped required column stops here, naming the file
    create_parquet_view(con, source, files)
    sql = read_sql(SQL_FILE)
    con.execute(f"create or replace temp table _typed as\n{sql}",
                model_params(sql, {**params, "partition_start": days.first, "partition_end": days.last}))
    suppress = staging_filter(SOURCE) if has_suppressions(con) else None
    erased = con.execute(suppress, {"pii_salt": params["pii_salt"]}).fetchall()[0][0] if suppress else 0
    write_days(con, "_typed", settings.lake_path, SOURCE, days.days)
    rows, rejected = con.execute(
        "select count(*), count(*) filter (where _reject_rule is not null) from _typed").fetchall()[0]
    con.execute("drop table _typed")
    return {"rows": rows, "rejected_rows": rejected, "erasure_suppressed_rows": int(erased), "files": len(files)}


def lake_files(settings: PipelineSettings, days: DayRange) -> list:
    return [day_file(settings.lake_path, SOURCE, d) for d in days.days]


def lake_rows(settings: PipelineSettings, days: DayRange) -> str:
    """A select over the lake files of `days`, for staging.web_events; every day must have its file."""
    files = lake_files(settings, days)
    missing = [f for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(
            f"{missing[0]}: no lake file for {len(missing)} day(s) of {days}; materialize lake/{SOURCE} for "
            f"those days first (it writes one file per day)")
    return f"select * from {parquet_relation(files)}"


@dg.asset(
    key=["lake", SOURCE],
    group_name="staging",
    kinds={"parquet", "duckdb"},
    deps=[["raw", SOURCE]],
    pool=LAKE_POOL,
    partitions_def=daily_partitions,
    backfill_policy=backfill_policy,
    metadata={"sql": f"sql/{SQL_FILE}", "path": "<lake>/web_events/day=YYYY-MM-DD/web_events.parquet"},
)
def lake_web_events(context: dg.AssetExecutionContext, settings: PipelineSettings,
                    warehouse: Warehouse) -> dg.MaterializeResult:
    """The rows of sql/staging/web_events.sql for each day of the run, one Parquet file per day
    (<lake>/web_events/day=YYYY-MM-DD/web_events.parquet, SEG_LAKE_DIR, default <output>/lake),
    including the rows the model rejects (`_reject_rule`, `_reject_reason`) and the defects found
    (`_defects`). Grain: one row per GA4 event of the day's export. Inputs: the landed GA4 files of
    raw.web_events, the ISO country list, the erasure suppression list published to the lake. Opens
    no warehouse connection, so several workers stage days at once (pool `lake_writer`); a rerun
    replaces its days' files atomically."""
    source = settings.sources()[SOURCE]
    days = DayRange.of(context)
    params = {"as_of": settings.as_of_date, "pii_salt": pii_salt(), "load_id": context.run_id}
    totals: dict[str, int] = {}
    with warehouse.scratch() as con:
        suppressed_identifiers = prepare_worker(con, settings)
        for chunk in days.chunks(max_days_per_transaction()):  # bounded working set, as in staging
            for name, value in stage_days(con, settings, source, chunk, params).items():
                totals[name] = totals.get(name, 0) + value
    return dg.MaterializeResult(metadata={
        "days": str(days), **totals, "suppressed_identifiers_known": suppressed_identifiers,
        "path": str(settings.lake_path / SOURCE)})
