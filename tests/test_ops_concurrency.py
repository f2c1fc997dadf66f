"""Writes are serialized: every step of the jobs (assets and checks) runs in the duckdb_writer pool,
runs of the job carry the warehouse run tag the run queue limits, and both instance profiles configure
the queue and a pool limit of 1."""
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.lake.web_events import LAKE_POOL, lake_web_events
from pipelines.concurrency import WRITER_POOL, in_pool
from pipelines.definitions import defs
from pipelines.jobs import WAREHOUSE_RUN_TAG, lake_job

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("job_name", ["segmentation_job", "segmentation_job_multiprocess"])
def test_every_step_is_in_the_writer_pool(job_name):
    job = defs.resolve_job_def(job_name)
    pools = {name: node.definition.pool for name, node in job.graph.node_dict.items()}
    assert len(pools) > 30
    assert {name for name, pool in pools.items() if pool != WRITER_POOL} == set()
    assert job.run_tags == WAREHOUSE_RUN_TAG


def test_lake_steps_take_their_own_pool_and_no_warehouse_run_tag():
    """With config lake.web_events the lake step joins the graph in pool lake_writer (kept by
    all_in_pool), and lake_job runs outside the warehouse run queue; tests/test_ops_lake_workers.py
    runs it for real."""
    assert in_pool(lake_web_events).op.pool == LAKE_POOL != WRITER_POOL
    assert "warehouse" not in (lake_job.run_tags or {})
    assert lake_job.selection == dg.AssetSelection.key_prefixes(["lake"])


def test_serving_snapshot_is_the_last_asset_and_depends_on_every_mart():
    graph = defs.resolve_asset_graph()
    snapshot = dg.AssetKey(["serving", "marts_snapshot"])
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] in ("marts", "ref")}
    assert len(marts) > 15
    assert graph.get(snapshot).parent_keys == marts
    assert not graph.get(snapshot).child_keys


@pytest.mark.parametrize("profile", ["deploy/dagster.yaml", "deploy/local/dagster.yaml"])
def test_instance_profiles_queue_runs_and_limit_the_pool(profile, tmp_path, monkeypatch):
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(key, "5432" if key.endswith("PORT") else "unused")
    shutil.copy(REPO / profile, tmp_path / "dagster.yaml")
    from dagster._core.instance.config import dagster_instance_config  # validates without connecting

    settings, _ = dagster_instance_config(str(tmp_path))
    assert settings["run_coordinator"]["class"] == "QueuedRunCoordinator"
    runs = settings["concurrency"]["runs"]
    assert {"key": "warehouse", "value": "duckdb", "limit": 1} in runs["tag_concurrency_limits"]
    assert list(WAREHOUSE_RUN_TAG.items()) == [("warehouse", "duckdb")]
    assert settings["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    if profile == "deploy/dagster.yaml":
        for storage in ("run_storage", "event_log_storage", "schedule_storage"):
            assert settings[storage]["module"].startswith("dagster_postgres")
