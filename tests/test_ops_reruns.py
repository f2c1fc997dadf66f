"""Safe reruns: materializing the graph again gives identical marts, and a run killed with SIGKILL in
the middle of an asset's transaction leaves a consistent warehouse that the next run completes to the
same result as an uninterrupted run. Content is compared by per-table hashes computed in DuckDB."""
import os
import shutil
import signal
import subprocess

import dagster as dg
import duckdb

from pipelines.serving import serving_path, table_fingerprints
from tests.conftest import pipeline_env
from tests.test_ops_support import PYTHON, differences, env_with, fingerprints, wait_for

SCHEMAS = ("marts", "ref")

# Runs the whole job with the DAGSTER_HOME instance; with OPS_PAUSE_AT set, the step that writes that
# table stops inside its open transaction (after writing a marker file) until it is killed.
DRIVER = """
import os, pathlib, sys, time
pause_at = os.environ.get("OPS_PAUSE_AT")
if pause_at:
    import assets.sql_model as sql_model
    import assets.identity.customer_identity as identity
    original = sql_model.create_table
    def create_table(con, table, *args, **kwargs):
        if table == pause_at:
            pathlib.Path(os.environ["OPS_MARKER"]).write_text(table)
            time.sleep(600)
        return original(con, table, *args, **kwargs)
    sql_model.create_table = identity.create_table = create_table
import dagster as dg
from pipelines.demo import run_pipeline
with dg.DagsterInstance.get() as instance:
    result = run_pipeline(instance)
sys.exit(0 if result.success else 1)
"""


def test_second_materialization_gives_identical_marts(pipeline_run, tmp_path, pipeline_environment):
    """Run the whole graph again over a copy of the session's finished warehouse: every marts and ref
    table has the same rows (hash of every row, order-independent) as after the first run."""
    output = tmp_path / "output"
    output.mkdir()
    shutil.copy(pipeline_run.database, output / "warehouse.duckdb")
    first = fingerprints(pipeline_run.database, pipeline_run.output, SCHEMAS)
    pipeline_environment(pipeline_env(pipeline_run.landing, output))
    from pipelines.demo import run_pipeline

    result = run_pipeline()
    assert result.success, [e.step_key for e in result.all_events if e.is_step_failure]
    second = fingerprints(output / "warehouse.duckdb", output, SCHEMAS)
    assert len(first) >= 15 and set(first) == set(second)
    assert differences(first, second) == []


def test_sigkill_inside_a_transaction_then_rerun_matches_uninterrupted_run(pipeline_run, tmp_path, pipeline_environment):
    output, home = tmp_path / "output", tmp_path / "dagster_home"
    home.mkdir()
    marker = tmp_path / "paused"
    env = env_with(**pipeline_env(pipeline_run.landing, output), DAGSTER_HOME=str(home),
                   OPS_PAUSE_AT="marts.customer_identity", OPS_MARKER=str(marker))
    process = subprocess.Popen([PYTHON, "-c", DRIVER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        # The identity step has replaced staging.identity_links/nodes/edges/components inside its
        # transaction and is about to write marts.customer_identity.
        wait_for(marker.exists, 240, "the identity step to reach marts.customer_identity", process)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = instance.get_runs()[0]
            started = {e.step_key for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)}
            finished = {e.step_key for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
        assert started - finished == {"identity_graph"}, started - finished
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)

    # Consistent after the kill: the file opens; what the killed transaction wrote is not there;
    # every marts/ref table that is there is complete (equal to the uninterrupted run's).
    reference = fingerprints(pipeline_run.database, pipeline_run.output, SCHEMAS)
    database = output / "warehouse.duckdb"
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where not temporary").fetchall()}
        staged = con.execute("select count(*) from staging.crm_contacts").fetchall()[0][0]
    finally:
        con.close()
    assert staged > 0 and "ref.countries" in tables
    assert not tables & {"staging.identity_links", "staging.identity_nodes", "staging.identity_edges",
                         "staging.identity_components", "marts.customer_identity"}
    after_kill = fingerprints(database, output, SCHEMAS)
    assert after_kill and differences(after_kill, {k: reference[k] for k in after_kill}) == []
    assert not serving_path(output).exists()

    # The next run completes and gives the same marts as the uninterrupted session run.
    pipeline_environment(pipeline_env(pipeline_run.landing, output))
    from pipelines.demo import run_pipeline

    result = run_pipeline()
    assert result.success, [e.step_key for e in result.all_events if e.is_step_failure]
    assert differences(fingerprints(database, output, SCHEMAS), reference) == []
    # ... and published them to the serving copy.
    con = duckdb.connect(str(serving_path(output)), read_only=True)
    try:
        served = table_fingerprints(con, SCHEMAS)
    finally:
        con.close()
    con = duckdb.connect(str(database), read_only=True)
    try:
        assert served == table_fingerprints(con, SCHEMAS)
    finally:
        con.close()
