"""The code location loads, every definition is valid, and every asset explains itself in the UI."""
import dagster as dg

from pipelines.definitions import defs


def test_definitions_are_loadable():
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("segmentation_job")
    assert job.executor_def.name == "in_process"


def test_every_asset_has_a_description_and_a_stage_group():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 40, f"{key.to_user_string()} lacks a description"
        assert node.group_name != "default", f"{key.to_user_string()} is not grouped by stage"


def test_asset_keys_name_the_table_they_hold():
    """Asset key = [schema, table]: a reader finds any table's code from its name."""
    # serving: the published read-only copy; pii: restricted; lake: Parquet per day (pipelines/lake.py)
    schemas = {"raw", "staging", "quality", "ref", "marts", "pii", "serving", "lake"}
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        assert len(key.path) == 2 and key.path[0] in schemas, key.to_user_string()


def test_required_marts_are_in_the_graph():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"marts/customer_features", "marts/customer_segments", "marts/segment_roi"} <= keys


def test_schedule_and_landing_sensor_exist():
    schedules = list(defs.schedules)
    sensors = list(defs.sensors)
    assert any(s.cron_schedule == "0 6 * * *" for s in schedules)
    assert any(s.name == "landing_sensor" for s in sensors)
