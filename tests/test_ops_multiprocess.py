"""segmentation_job_multiprocess with real worker processes: every step runs in its own process
(Dagster's multiprocess executor, forkserver), the duckdb_writer pool of the one-machine instance
profile (deploy/local/dagster.yaml) lets one warehouse step run at a time although the executor
allows two, and the tables come out identical to the in-process job's."""
import shutil
import subprocess

import dagster as dg
import pytest

from pipelines.definitions import defs
from tests.conftest import pipeline_env
from tests.test_ops_support import PYTHON, REPO, env_with, fingerprints, ingest_subset, overlapping, step_intervals


def multiprocess_job():
    """The job, rebuilt by name in each worker process (the multiprocess executor needs a job it can reconstruct)."""
    return defs.resolve_job_def("segmentation_job_multiprocess")


def in_process_job():
    return defs.resolve_job_def("segmentation_job")


# Runs the small ingest selection through one of the jobs above on the instance in DAGSTER_HOME; prints the run id.
DRIVER = """
import sys
import dagster as dg
import pytest
from pipelines.definitions import defs
from tests.test_ops_support import ingest_subset
job = dg.build_reconstructable_job("tests.test_ops_multiprocess", sys.argv[1])
with dg.DagsterInstance.get() as instance:
    result = dg.execute_job(job, instance=instance, asset_selection=ingest_subset(defs), raise_on_error=False)
    print(result.run_id)
    sys.exit(0 if result.success else 1)
"""


def run(job_name: str, landing, work) -> tuple[str, dg.DagsterInstance]:
    home, output = work / "dagster_home", work / "output"
    home.mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    env = env_with(**pipeline_env(landing, output), DAGSTER_HOME=str(home))
    done = subprocess.run([PYTHON, "-c", DRIVER, job_name], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1], dg.DagsterInstance.from_config(str(home))


@pytest.mark.parametrize("subset", [False, True])
def test_every_step_is_named_after_its_op(subset):
    """A worker process rebuilds the job and finds its step by name: a node Dagster names `<op>_2`
    (one op split into several nodes) may be a different part of the op in another process."""
    job = multiprocess_job()
    if subset:
        job = job.get_subset(asset_selection=set(ingest_subset(defs)))
    assert {name: node.definition.name for name, node in job.graph.node_dict.items()
            if name != node.definition.name} == {}


def test_multiprocess_job_runs_steps_in_worker_processes_one_writer_at_a_time(generated, tmp_path):
    landing, _ = generated
    run_id, instance = run("multiprocess_job", landing, tmp_path / "multiprocess")
    with instance:
        intervals = step_intervals(instance, [run_id])
        run_process = {e.dagster_event.pid for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)}
    assert len(intervals) >= 12
    workers = {pid for *_, pid in intervals}
    assert len(workers) == len(intervals), "each step runs in a process of its own"
    assert len(run_process) == 1 and not workers & run_process, "steps ran in worker processes, not in the run's"
    # Independent branches (reference tables, three sources) could run two at a time; the pool serializes them.
    assert overlapping(intervals) == []

    _, reference = run("in_process_job", landing, tmp_path / "in_process")
    reference.dispose()
    tables = [fingerprints(tmp_path / name / "output" / "warehouse.duckdb", tmp_path / name / "output",
                           ("raw", "staging", "ref"), ignore=("_load_id",)) for name in ("multiprocess", "in_process")]
    assert len(tables[0]) >= 7 and tables[0] == tables[1]
