"""Writes are serialized: every step of the jobs (assets and checks) that opens the warehouse runs in
the duckdb_writer pool, runs of the job carry the warehouse run tag the run queue limits, and both
instance profiles configure the queue and a pool limit of 1. The lake steps (Parquet files several
workers write) take the lake_writer pool instead, and their job carries no warehouse tag."""
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.lake.web_events import LAKE_POOL
from pipelines.concurrency import WRITER_POOL
from pipelines.definitions import defs
from pipelines.jobs import WAREHOUSE_RUN_TAG

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("job_name", ["segmentation_job", "segmentation_job_multiprocess"])
def test_every_step_is_in_the_writer_pool(job_name):
    job = defs.resolve_job_def(job_name)
    pools = {name: node.definition.pool for name, node in job.graph.node_dict.items()}
    assert len(pools) > 30
    assert {name for name, pool in pools.items() if pool != WRITER_POOL} == {"lake__web_events"}
    assert pools["lake__web_events"] == LAKE_POOL
    assert job.run_tags == WAREHOUSE_RUN_TAG


def test_lake_job_runs_only_lake_steps_outside_the_warehouse_queue():
    job = defs.resolve_job_def("lake_job")
    assert {name: node.definition.pool for name, node in job.graph.node_dict.items()} == {"lake__web_events": LAKE_POOL}
    assert "warehouse" not in job.run_tags


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
