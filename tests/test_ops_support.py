"""Helpers shared by the operations tests (tests/test_ops_*.py; this module holds no tests): relocatable marts fingerprints,
a pipeline run in a subprocess, a small ingest selection, and a throwaway PostgreSQL server."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.serving import base_tables, quote_ident

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def fingerprints(database: Path, output: Path, schemas: tuple[str, ...] = ("marts",),
                 ignore: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """{schema.table: (rows, order-independent content hash)} of a warehouse, with the output folder
    it was written under replaced by '<output>' in text columns (some marts name their files), so two
    runs into different folders compare equal when their content is the same; `ignore` names columns
    left out (e.g. `_load_id`, the run that loaded a row)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out = {}
        for schema, table in base_tables(con, schemas):
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = $s and table_name = $t"
                " and column_name not in (select unnest($ignore::varchar[])) order by column_index",
                {"s": schema, "t": table, "ignore": list(ignore)},
            ).fetchall()
            values = ", ".join(
                f"replace({quote_ident(c)}, $root, '<output>')" if kind == "VARCHAR" else quote_ident(c)
                for c, kind in columns
            )
            rows, digest = con.execute(
                f"select count(*), coalesce(sum(hash({values})::hugeint), 0)::varchar"
                f" from {quote_ident(schema)}.{quote_ident(table)}",
                {"root": str(output)},
            ).fetchall()[0]
            out[f"{schema}.{table}"] = (rows, int(digest))
        return out
    finally:
        con.close()


def ingest_subset(defs) -> list:
    """A small, quick part of the graph with independent branches: the reference tables and three
    sources' raw and staging assets (their checks come with them)."""
    return [k for k in defs.resolve_asset_graph().get_all_asset_keys()
            if k.path[0] == "ref" and k.path[1] != "rfm_segment_map"
            or k.path[0] in ("raw", "staging") and k.path[1] in ("crm_contacts", "crm_orders", "fx_rates")]


def step_intervals(instance, run_ids: list[str]) -> list[tuple[float, float, str, str, int]]:
    """(start, end, run id, step key, process id) of every step of the runs, sorted by start; every
    step that started also succeeded."""
    import dagster as dg

    intervals = []
    for run_id in run_ids:
        starts = {e.step_key: e for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)}
        ends = {e.step_key: e.timestamp for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
        assert set(starts) == set(ends), set(starts) ^ set(ends)
        intervals += [(e.timestamp, ends[k], run_id, k, e.dagster_event.pid) for k, e in starts.items()]
    return sorted(intervals)


def overlapping(intervals: list[tuple]) -> list[tuple[str, str]]:
    """Pairs of steps that ran at the same time (intervals sorted by start)."""
    return [(a[3], b[3]) for a, b in zip(intervals, intervals[1:]) if b[0] < a[1]]


def differences(left: dict, right: dict) -> list[str]:
    return [f"{k}: {left.get(k)} != {right.get(k)}" for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen | None = None, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {what}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def postgres_bin() -> Path | None:
    """The bin folder of an installed PostgreSQL server (Debian layout, or initdb on PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def env_with(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEG_", "DAGSTER_"))}
    env.update(values)
    env["PYTHONPATH"] = str(REPO)
    return env
