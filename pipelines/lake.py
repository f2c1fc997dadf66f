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
import uuid
from pathlib import Path

import duckdb

SUPPRESSION_FILE = "erasure_suppressions.parquet"


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
