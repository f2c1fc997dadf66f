"""quality.silo_coverage reconciles with the identity mart, and its thresholds (config) drive warnings;
the quarantine-rate threshold drives a blocking check."""
import os
import shutil

import duckdb
import yaml

from pipelines.contract import REPO_ROOT


def test_source_combinations_add_up_to_the_resolved_customers(pipeline_run):
    total, combos = pipeline_run.query(
        "select (select count(*) from marts.customers), sum(numerator) from quality.silo_coverage"
        " where measure = 'source_combination'")[0]
    assert total > 0 and combos == total
    # silos are visible: customers seen only outside the CRM
    assert pipeline_run.query("select count(*) from quality.silo_coverage where measure = 'source_combination'"
                              " and item not like 'crm%' and numerator > 0")[0][0] > 0


def test_match_rates_recomputed_from_the_identity_mart(pipeline_run):
    recomputed = dict(pipeline_run.query(
        """
        with crm as (select distinct customer_key from marts.customer_identity where source = 'crm_contacts')
        select source, avg((customer_key in (select customer_key from crm))::int)
        from marts.customer_identity where not is_anonymous group by source
        """))
    table = dict(pipeline_run.query("select item, rate from quality.silo_coverage where measure = 'match_rate'"))
    assert set(table) == set(recomputed)
    for source, rate in recomputed.items():
        assert abs(table[source] - rate) < 1e-6, source
    assert table["crm_contacts"] == 1.0


def test_silo_checks_warn_and_follow_the_configured_thresholds(pipeline_run, tmp_path):
    from assets.quality.silo_coverage import silo_coverage_checks
    from pipelines.resources import Warehouse

    evaluations = {e.check_name: e for e in pipeline_run.result.get_asset_check_evaluations()
                   if e.asset_key.path == ["quality", "silo_coverage"]}
    assert set(evaluations) == {"match_rates", "orphan_customers", "attribute_conflicts"}
    assert all(e.passed for e in evaluations.values())

    config = yaml.safe_load((REPO_ROOT / "config" / "pipeline.yaml").read_text())
    config["quality"]["silo_coverage"].update(min_match_rate=0.999, max_orphan_customer_share=0.0001,
                                              max_attribute_conflict_rate=0.0)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, database)
    saved = os.environ.get("SEG_PIPELINE_CONFIG")
    os.environ["SEG_PIPELINE_CONFIG"] = str(path)
    try:
        results = [check(warehouse=Warehouse(database=str(database))) for check in silo_coverage_checks]
    finally:
        os.environ.pop("SEG_PIPELINE_CONFIG") if saved is None else os.environ.update(SEG_PIPELINE_CONFIG=saved)
    assert [r.passed for r in results] == [False, False, False]
    assert all(r.severity.value == "WARN" and r.metadata["breaches"].data for r in results)


def test_quarantine_rate_above_threshold_fails_the_blocking_check(tmp_path):
    from pipelines.contract import load_contract
    from pipelines.resources import Warehouse, read_sql
    from quality.rate_checks import quarantine_rate_check

    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    for schema in ("raw", "quality"):
        con.execute(f"create schema {schema}")
    con.execute(read_sql("quality/tables.sql"))
    con.execute("create table raw.campaigns as select range as _row_id from range(18)")
    con.execute("insert into quality.quarantine (table_name, record_key, rule) values "
                "('campaigns', 'C1', 'duplicate_key'), ('campaigns', 'f.csv:4', 'malformed_row')")
    con.close()
    check = quarantine_rate_check(load_contract()["campaigns"])
    assert check.check_specs and next(iter(check.check_specs)).blocking
    result = check(warehouse=Warehouse(database=str(database)))
    # 2 quarantined of 19 landed lines (18 parsed + 1 unparseable) = 10.5% > 5%
    assert not result.passed and result.metadata["landed_rows"].value == 19
