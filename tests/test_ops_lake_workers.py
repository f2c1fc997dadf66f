"""Storage several workers can write (config lake.web_events, here SEG_LAKE_WEB_EVENTS=1): two runs of
lake_job, each in its own process, stage two days of web events into the lake at the same time while a
third process holds the warehouse's write lock; loading those days into staging.web_events then gives
the rows the session's run (no lake) staged. Erasure reaches the lake files and the workers.

Each worker waits (up to 3 minutes) until the other has also started its step before it stages its
day, so the runs pass only if the instance let both steps run at once (pool lake_writer, limit 2) and
neither step needed the warehouse."""
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb

from assets.ingest.raw import raw_assets
from assets.lake.web_events import lake_web_events
from assets.privacy.erasure import purge_lake
from assets.staging.staged import staged_asset
from pipelines.contract import load_contract
from pipelines.lake import day_file, parquet_relation
from pipelines.partitions import DayRange, range_tags
from pipelines.privacy import pii_salt
from pipelines.resources import PipelineSettings, Warehouse
from tests.conftest import AS_OF, pipeline_env
from tests.test_ops_support import PYTHON, REPO, env_with, overlapping, step_intervals

DAYS = DayRange(dt.date(2026, 11, 18), dt.date(2026, 11, 19))
RAW_WEB = next(a for a in raw_assets if a.key.path[1] == "web_events")

# Runs lake_job for one day (argv[1]) on the instance in DAGSTER_HOME; prints the run id.
DRIVER = """
import os, pathlib, sys, time
import assets.lake.web_events as lake
barrier = pathlib.Path(os.environ["OPS_BARRIER"])
stage_days = lake.stage_days
def stage_days_together(*args, **kwargs):
    (barrier / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + 180
    while len(list(barrier.glob("started-*"))) < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the other worker's step did not run at the same time")
        time.sleep(0.1)
    return stage_days(*args, **kwargs)
lake.stage_days = stage_days_together
import dagster as dg
from pipelines.definitions import defs
with dg.DagsterInstance.get() as instance:
    result = defs.resolve_job_def("lake_job").execute_in_process(
        instance=instance, partition_key=sys.argv[1], raise_on_error=False)
print(result.run_id)
sys.exit(0 if result.success else 1)
"""


def staged_days(database: Path, days: DayRange) -> list[tuple]:
    """Per day: staged rows and an order-independent hash of every column but the loading run."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(
            f"""select _partition_date, count(*), sum(hash(e)::hugeint)
                from (select * exclude (_load_id) from staging.web_events where {days.sql('_partition_date')}) e
                group by all order by all"""
        ).fetchall()
    finally:
        con.close()


def test_two_workers_write_lake_days_at_once_without_the_warehouse(pipeline_run, tmp_path):
    home, output, barrier = tmp_path / "dagster_home", tmp_path / "output", tmp_path / "barrier"
    for folder in (home, output, barrier):
        folder.mkdir()
    shutil.copy(REPO / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    env = env_with(**pipeline_env(pipeline_run.landing, output), DAGSTER_HOME=str(home), OPS_BARRIER=str(barrier),
                   SEG_LAKE_WEB_EVENTS="1")
    # Deployment step (docs/OPERATIONS.md): as many lake workers at once as the pool allows.
    subprocess.run([str(Path(PYTHON).with_name("dagster")), "instance", "concurrency", "set", "lake_writer", "2"],
                   env=env, check=True, capture_output=True, text=True)

    warehouse = duckdb.connect(str(output / "warehouse.duckdb"))  # this process holds the write lock
    try:
        workers = [subprocess.Popen([PYTHON, "-c", DRIVER, str(day)], env=env, cwd=REPO, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for day in DAYS.days]
        outputs = [worker.communicate(timeout=400) for worker in workers]
    finally:
        warehouse.close()
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    run_ids = [stdout.strip().splitlines()[-1] for stdout, _ in outputs]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        intervals = step_intervals(instance, run_ids)
    assert [step for *_, step, _ in intervals] == ["lake__web_events"] * 2
    assert len({pid for *_, pid in intervals}) == 2 and overlapping(intervals) != []
    assert len(list(barrier.iterdir())) == 2
    lake = output / "lake"
    assert all(day_file(lake, "web_events", day).stat().st_size > 0 for day in DAYS.days)
    assert not list(lake.rglob("*.partial"))

    # The warehouse step (one writer) loads the workers' days: the same rows as the session's run.
    materialize_from_lake(pipeline_run.landing, output)
    loaded = staged_days(output / "warehouse.duckdb", DAYS)
    assert len(loaded) == 2 and all(rows > 0 for _, rows, _ in loaded)
    assert loaded == staged_days(pipeline_run.database, DAYS)


def materialize_from_lake(landing: Path, output: Path, lake_step: bool = False) -> dg.ExecuteInProcessResult:
    """raw.web_events and staging.web_events as the lake configuration builds them (and lake.web_events)."""
    result = dg.materialize(
        [RAW_WEB, staged_asset(load_contract()["web_events"], from_lake=True), *([lake_web_events] if lake_step else [])],
        resources={"settings": PipelineSettings(landing_dir=str(landing), output_dir=str(output), as_of=AS_OF.isoformat()),
                   "warehouse": Warehouse(database=str(output / "warehouse.duckdb"))},
        tags=range_tags(DAYS), raise_on_error=False)
    assert result.success, [e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure]
    return result


def lake_ids(output: Path) -> set[str]:
    con = duckdb.connect()
    try:
        files = [day_file(output / "lake", "web_events", day) for day in DAYS.days]
        return {v for (v,) in con.execute(f"select distinct user_pseudo_id from {parquet_relation(files)}").fetchall()}
    finally:
        con.close()


def test_erasure_rewrites_lake_files_and_workers_apply_the_published_list(pipeline_run, tmp_path):
    output = tmp_path / "output"
    materialize_from_lake(pipeline_run.landing, output, lake_step=True)
    erased = sorted(lake_ids(output))[0]
    with Warehouse(database=str(output / "warehouse.duckdb")).connect() as con:
        con.execute("insert into quality.erasure_suppressions values (pii_hash($v, $salt), 'cookie', 'r', now())",
                    {"v": erased, "salt": pii_salt()})
        removed = purge_lake(con, output / "lake", pii_salt(), ("web_events",))
        assert removed >= 1 and erased not in lake_ids(output)
        assert purge_lake(con, output / "lake", pii_salt(), ("web_events",)) == 0  # published: nothing to redo
    # A worker restaging the days drops the person itself, from the published list.
    result = materialize_from_lake(pipeline_run.landing, output, lake_step=True)
    worker = [e.event_specific_data.materialization.metadata for e in result.all_events
              if e.is_step_materialization and e.asset_key == lake_web_events.key][-1]
    assert worker["suppressed_identifiers_known"].value == 1
    assert worker["erasure_suppressed_rows"].value == removed and erased not in lake_ids(output)
