"""A failing blocking check stops downstream assets in a real materialize run."""
import csv
import shutil

import dagster as dg

from pipelines.partitions import full_run_tags
from pipelines.resources import PipelineSettings, Warehouse


def _landing_with_orphans(generated, tmp_path, share: float = 0.10):
    """The generated campaigns and email events (one file per day), with `share` of the events pointing
    at unknown campaigns. Returns the landing folder and the share."""
    landing, _ = generated
    target = tmp_path / "landing"
    (target / "email_events").mkdir(parents=True)
    shutil.copy(landing / "campaigns.csv", target / "campaigns.csv")
    changed = total = 0
    for path in sorted((landing / "email_events").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            header, *body = list(csv.reader(f))
        column = header.index("Campaign ID")
        for i in range(total % int(1 / share), len(body), int(1 / share)):
            body[i][column] = "CMP-GHOST"
            changed += 1
        total += len(body)
        with open(target / "email_events" / path.name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *body])
    return target, changed / total


def test_orphan_rate_above_threshold_blocks_downstream(generated, tmp_path):
    from assets.ingest.raw import raw_assets
    from assets.staging.staged import staged_assets
    from quality.gx_checks import gx_checks

    landing, share = _landing_with_orphans(generated, tmp_path)
    assert share > 0.02  # config quality.max_orphan_rate.email_events_campaign

    @dg.asset(key=["marts", "probe_after_email_events"], deps=[["staging", "email_events"]])
    def probe(warehouse: Warehouse) -> None:
        """Downstream of staging.email_events: must not run when its blocking check fails."""
        with warehouse.connect() as con:
            con.execute("create or replace table marts.probe as select 1 as ran")

    wanted = {("raw", "campaigns"), ("raw", "email_events"), ("staging", "campaigns"), ("staging", "email_events")}
    assets = [a for a in [*raw_assets, *staged_assets] if tuple(a.key.path) in wanted]
    defs = dg.Definitions(
        assets=[*assets, probe],
        asset_checks=gx_checks,
        resources={
            "settings": PipelineSettings(landing_dir=str(landing), output_dir=str(tmp_path / "out"), as_of="2026-11-20"),
            "warehouse": Warehouse(database=str(tmp_path / "out" / "warehouse.duckdb")),
        },
    )
    job = dg.define_asset_job("blocking_probe", selection=dg.AssetSelection.all(),
                              executor_def=dg.in_process_executor)
    result = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("blocking_probe").execute_in_process(
        raise_on_error=False, tags=full_run_tags(landing))  # email events are daily: every landed day

    evaluations = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    blocked = evaluations[("email_events", "gx_critical")]
    assert not blocked.passed
    orphan = next(f for f in blocked.metadata["failures"].data if f.get("dimension") == "referential")
    assert orphan["unexpected_count"] > 0.02 * blocked.metadata["rows"].value
    materialized = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()
                    for e in [e.event_specific_data.materialization]}
    assert ("staging", "email_events") in materialized
    assert ("marts", "probe_after_email_events") not in materialized
    assert not result.success
