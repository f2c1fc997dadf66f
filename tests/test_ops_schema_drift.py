"""Schema drift in landed files: a missing required column stops the load naming the file and the
column; a missing optional column becomes NULL and is reported; a new column is kept (in
raw.<source>._extra) and reported; a retyped required Parquet column stops the load naming the
column and both types. Runs the real raw assets over altered copies of the generated files."""
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.ingest.raw import raw_assets
from pipelines.contract import LandingFileError
from pipelines.partitions import full_run_tags
from pipelines.resources import PipelineSettings, Warehouse

RAW = {a.key.path[1]: a for a in raw_assets}


def rewrite_csv(source: Path, target: Path, select: str) -> None:
    """target = the CSV `source` with its columns replaced by `select` (DuckDB select list over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"copy (select {select} from read_csv($src, all_varchar = true, header = true, delim = ',', quote = '\"', ignore_errors = true)) to '{target}' (header)",
        {"src": str(source)},
    )
    con.close()


def materialize(name: str, landing: Path, output: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [RAW[name]],
        resources={"settings": PipelineSettings(landing_dir=str(landing), output_dir=str(output), as_of="2026-11-20"),
                   "warehouse": Warehouse(database=str(output / "warehouse.duckdb"))},
        raise_on_error=False,
        tags=full_run_tags(landing) if name == "web_events" else None,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the load was expected to fail"
    return failures[0].step_failure_data.error.to_string()


def test_missing_required_csv_column_stops_the_load_naming_file_and_column(generated, tmp_path):
    landing, _ = generated
    drifted = tmp_path / "landing" / "crm_contacts.csv"
    rewrite_csv(landing / "crm_contacts.csv", drifted, '* exclude ("Email")')
    result = materialize("crm_contacts", drifted.parent, tmp_path / "out")
    assert not result.success
    message = failure_message(result)
    assert "LandingFileError" in message
    assert str(drifted) in message and "'Email'" in message and "missing required column" in message


def test_missing_optional_and_new_csv_columns(generated, tmp_path):
    landing, _ = generated
    drifted = tmp_path / "landing" / "crm_contacts.csv"
    rewrite_csv(landing / "crm_contacts.csv", drifted,
                '* exclude ("Phone Number"), \'gold\' as "Loyalty Tier", "Record ID" as "Legacy ID"')
    result = materialize("crm_contacts", drifted.parent, tmp_path / "out")
    assert result.success
    metadata = result.asset_materializations_for_node("raw__crm_contacts")[0].metadata
    assert metadata["missing_optional_columns"].value == "phone"
    assert metadata["new_columns"].value == "Loyalty Tier, Legacy ID"
    con = duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True)
    try:
        rows, phones, extra = con.execute(
            "select count(*), count(phone), any_value(_extra::varchar) from raw.crm_contacts"
        ).fetchall()[0]
        tiers = con.execute("select count(*) from raw.crm_contacts where _extra->>'Loyalty Tier' = 'gold'"
                            ).fetchall()[0][0]
        kept_ids = con.execute("select count(*) from raw.crm_contacts where _extra->>'Legacy ID' = contact_id"
                               ).fetchall()[0][0]
    finally:
        con.close()
    assert rows > 1000 and phones == 0
    assert set(json.loads(extra)) == {"Loyalty Tier", "Legacy ID"}
    assert tiers == rows and kept_ids == rows


def _parquet_copy(landing: Path, target: Path, select: str) -> None:
    target.mkdir(parents=True)
    con = duckdb.connect()
    for path in sorted((landing / "web_events").glob("events_*.parquet"))[-3:]:
        con.execute(f"copy (select {select} from read_parquet($p)) to '{target / path.name}' (format parquet)",
                    {"p": str(path)})
    con.close()


def test_retyped_required_parquet_column_stops_the_load(generated, tmp_path):
    landing, _ = generated
    target = tmp_path / "landing" / "web_events"
    _parquet_copy(landing, target, "* replace (event_timestamp::varchar as event_timestamp)")
    result = materialize("web_events", target.parent, tmp_path / "out")
    assert not result.success
    message = failure_message(result)
    assert "LandingFileError" in message and "'event_timestamp'" in message
    assert "VARCHAR" in message and "BIGINT" in message and str(target) in message


def test_missing_required_parquet_column_names_the_file(generated, tmp_path):
    landing, _ = generated
    target = tmp_path / "landing" / "web_events"
    _parquet_copy(landing, target, "* exclude (user_pseudo_id)")
    result = materialize("web_events", target.parent, tmp_path / "out")
    assert not result.success
    message = failure_message(result)
    assert "'user_pseudo_id'" in message and "events_" in message and ".parquet" in message


def test_missing_optional_and_new_parquet_columns_are_reported(generated, tmp_path):
    landing, _ = generated
    target = tmp_path / "landing" / "web_events"
    _parquet_copy(landing, target, "* exclude (device), 'beta' as app_channel")
    result = materialize("web_events", target.parent, tmp_path / "out")
    assert result.success
    metadata = result.asset_materializations_for_node("raw__web_events")[0].metadata
    assert metadata["missing_optional_columns"].value == "device"
    assert metadata["new_columns"].value == "app_channel"
    con = duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True)
    try:
        rows, devices, kept = con.execute(
            "select count(*), count(device), count(*) filter (where _extra->>'app_channel' = 'beta') from raw.web_events"
        ).fetchall()[0]
    finally:
        con.close()
    assert rows > 0 and devices == 0 and kept == rows  # the new column is kept, as JSON in _extra
