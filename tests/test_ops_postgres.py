"""The production instance profile (deploy/dagster.yaml) against a real PostgreSQL server started for
the test: two overlapping runs that write the same DuckDB file both succeed, their warehouse steps
never overlap (the duckdb_writer pool, limit 1, shared through PostgreSQL), and both runs with their
events are recorded in PostgreSQL."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import pipeline_env
from tests.test_ops_support import PYTHON, REPO, env_with, free_port, overlapping, postgres_bin, step_intervals

psycopg2 = pytest.importorskip("psycopg2", reason="dagster-postgres (and psycopg2) not installed in the venv")

# Materializes reference tables and three sources' raw and staging assets (with their checks) through the segmentation job on the
# instance in DAGSTER_HOME; prints the run id.
DRIVER = """
import sys
import dagster as dg
from pipelines.definitions import defs
from tests.test_ops_support import ingest_subset
job = defs.resolve_job_def("segmentation_job")
keys = ingest_subset(defs)
with dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False,
                                    tags={"test": sys.argv[1]})
print(result.run_id)
sys.exit(0 if result.success else 1)
"""


def _install_postgres() -> Path | None:
    """Install Debian's postgresql package when the server binaries are missing and we may (root, apt)."""
    if postgres_bin() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, check=False, timeout=900)
    return postgres_bin()


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on a free localhost port (as user postgres when we are root,
    since the server refuses to run as root); yields the connection settings."""
    bin_dir = _install_postgres()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found and could not be installed")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="ops_pg_", dir="/tmp"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust",
                    "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        con = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", dbname="postgres")
        con.autocommit = True
        con.cursor().execute("create database dagster")
        con.close()
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": "dagster",
               "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "unused-with-trust-auth"}
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_overlapping_runs_on_the_postgres_instance(postgres, generated, tmp_path, monkeypatch):
    landing, _ = generated
    home, output = tmp_path / "dagster_home", tmp_path / "output"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = env_with(**pipeline_env(landing, output), DAGSTER_HOME=str(home), **postgres)
    # Deployment step (docs/OPERATIONS.md): declare the writer pool once. Left to the first runs,
    # Dagster 1.13 lets two runs starting together race to create its default limit row.
    dagster_cli = str(Path(PYTHON).with_name("dagster"))
    subprocess.run([dagster_cli, "instance", "concurrency", "set", "duckdb_writer", "1"], env=env, check=True,
                   capture_output=True, text=True)

    runs = [subprocess.Popen([PYTHON, "-c", DRIVER, name], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for name in ("first", "second")]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs):
        assert run.returncode == 0, stderr[-3000:]
    run_ids = [stdout.strip().splitlines()[-1] for stdout, _ in outputs]

    # Recorded in PostgreSQL: both runs, successful, with their step events.
    con = psycopg2.connect(host="127.0.0.1", port=int(postgres["DAGSTER_PG_PORT"]), user="dagster", dbname="dagster")
    try:
        cur = con.cursor()
        cur.execute("select run_id, status from runs where run_id = any(%s)", (run_ids,))
        assert dict(cur.fetchall()) == {run_id: "SUCCESS" for run_id in run_ids}
        cur.execute("select count(*) from event_logs where run_id = any(%s) and dagster_event_type = 'STEP_SUCCESS'",
                    (run_ids,))
        assert cur.fetchall()[0][0] >= 2 * 12
    finally:
        con.close()

    # The pool serialized the warehouse steps of the two runs: no two steps ran at the same time.
    for key, value in postgres.items():
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").slot_count == 1
        intervals = step_intervals(instance, run_ids)
    assert all(len([i for i in intervals if i[2] == run_id]) >= 12 for run_id in run_ids)
    assert overlapping(intervals) == []
    # ... and the runs did overlap in time (otherwise the test proves nothing).
    first, second = ([i for i in intervals if i[2] == r] for r in run_ids)
    assert min(i[0] for i in second) < max(i[1] for i in first) and min(i[0] for i in first) < max(i[1] for i in second)
