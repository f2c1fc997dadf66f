"""The lake: Parquet partitions under one folder (SEG_LAKE_DIR, default <output>/lake) that several
worker processes or hosts write at once, where the DuckDB warehouse has one writer.

Layout: <lake>/<source>/day=YYYY-MM-DD/<source>.parquet, one file per source and day, each written by
one step; <lake>/erasure_suppressions.parquet, the warehouse's erasure suppression list (salted
hashes) for the workers. Files are replaced whole and atomically: written beside the target, then
renamed over it, so a reader or a killed writer never sees half a file.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import duckdb

SUPPRESSION_FILE = "erasure_suppressions.parquet"


def lake_enabled() -> bool:
    """Whether web events are staged through the lake (config `lake.web_events`, or env
    SEG_LAKE_WEB_EVENTS=1/0). Read when the definitions load: it decides the graph's shape."""
    from pipelines.config import pipeline_config

    env = os.environ.get("SEG_LAKE_WEB_EVENTS")
    if env is not None:
        return env.strip().lower() in ("1", "true", "yes")
    return bool(pipeline_config().get("lake", {}).get("web_events", False))


def day_file(lake: Path, source: str, day: dt.date) -> Path:
    return lake / source / f"day={day.isoformat()}" / f"{source}.parquet"


def day_files(lake: Path, source: str) -> list[Path]:
    """Every day file of the source, oldest day first."""
    return sorted((lake / source).glob(f"day=*/{source}.parquet"))


def parquet_relation(files: list[Path], filename: bool = False) -> str:
    """read_parquet over lake files (with `filename`: plus the column naming each row's file). Hive
    partitioning off: the day is a column of the files already, and the folder's `day=` key would
    otherwise be added as a column."""
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], hive_partitioning = false{', filename = true' if filename else ''})"


def write_atomically(con: duckdb.DuckDBPyConnection, select_sql: str, target: Path,
                     params: dict[str, object] | None = None) -> None:
    """COPY a query's rows to the Parquet file `target`, through a file beside it and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    literal = str(partial).replace("'", "''")
    try:
        con.execute(f"copy ({select_sql}) to '{literal}' (format parquet, compression zstd)", params or {})
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_days(con: duckdb.DuckDBPyConnection, relation: str, lake: Path, source: str, days: list[dt.date]) -> None:
    """Replace the day files of `days` with the rows of `relation` (column `_partition_date`): one
    partitioned COPY into a folder beside the days, then one rename per day. A day without rows gets
    an empty file, so a reader can tell a quiet day from a day not staged yet."""
    partial = lake / source / f".partial-{uuid.uuid4().hex}"
    partial.parent.mkdir(parents=True, exist_ok=True)
    literal = str(partial).replace("'", "''")
    try:
        con.execute(f"copy (select * from {relation}) to '{literal}' (format parquet, compression zstd, "
                    "partition_by (_partition_date), write_partition_columns true)")
        for day in days:
            written = sorted((partial / f"_partition_date={day.isoformat()}").glob("*.parquet"))
            target = day_file(lake, source, day)
            target.parent.mkdir(parents=True, exist_ok=True)
            if len(written) == 1:
                os.replace(written[0], target)
            else:  # no rows that day (or, unexpectedly, several files): one file of them
                rows = parquet_relation(written) if written else f"(select * from {relation} limit 0)"
                write_atomically(con, f"select * from {rows}", target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
