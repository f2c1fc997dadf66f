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


def rate_check_result(tmp_path, source: str, raw_sql: str, quarantined_sql: str, days=None):
    """The quarantine-rate check of `source` over `days` (None: all) on a warehouse holding only its raw
    rows and quarantine."""
    from pipelines.contract import load_contract
    from pipelines.resources import Warehouse, read_sql
    from quality.rate_checks import quarantine_rate, quarantine_rate_check

    tmp_path.mkdir(exist_ok=True)
    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    for schema in ("raw", "quality"):
        con.execute(f"create schema {schema}")
    con.execute(read_sql("quality/tables.sql"))
    con.execute(f"create table raw.{source} as {raw_sql}")
    con.execute(f"insert into quality.quarantine (table_name, record_key, rule, partition_key) {quarantined_sql}")
    con.close()
    assert next(iter(quarantine_rate_check(load_contract()[source]).check_specs)).blocking
    return quarantine_rate(Warehouse(database=str(database)), load_contract()[source], days)


def test_quarantine_rate_above_threshold_fails_the_blocking_check(tmp_path):
    result = rate_check_result(tmp_path, "campaigns", "select range as _row_id from range(18)",
                               "values ('campaigns', 'C1', 'duplicate_key', null), "
                               "('campaigns', 'f.csv:4', 'malformed_row', null)")
    # 2 quarantined of 19 landed lines (18 parsed + 1 unparseable) = 10.5% > 5%
    assert not result.passed and result.metadata["landed_rows"].value == 19


# ten days of 1,000 web events each (2026-01-01..10); quarantined rows are placed on days below
TEN_DAYS = "select range as _row_id, date '2026-01-01' + (range // 1000)::int as _partition_date from range(10000)"


def test_one_broken_day_fails_the_quarantine_rate_although_the_whole_source_is_under_it(tmp_path):
    # 200 of day 3's 1,000 rows quarantined: 20% that day, 2% of the source (under the 5% limit)
    result = rate_check_result(tmp_path, "web_events", TEN_DAYS,
                               "select 'web_events', 'k' || range, 'impossible_timestamp', '2026-01-03' from range(200)")
    assert result.metadata["quarantine_rate"].value == 0.02
    assert not result.passed
    assert result.metadata["days_over_threshold"].value == 1
    assert result.metadata["worst_days"].data == {"2026-01-03": 0.2}


def test_a_daily_run_checks_its_own_day(tmp_path):
    import datetime as dt
    from pipelines.partitions import DayRange

    broken = "select 'web_events', 'k' || range, 'impossible_timestamp', '2026-01-03' from range(200)"
    day = rate_check_result(tmp_path / "a", "web_events", TEN_DAYS, broken, DayRange(dt.date(2026, 1, 3), dt.date(2026, 1, 3)))
    assert not day.passed and day.metadata["quarantine_rate"].value == 0.2 and day.metadata["landed_rows"].value == 1000
    other = rate_check_result(tmp_path / "b", "web_events", TEN_DAYS, broken, DayRange(dt.date(2026, 1, 4), dt.date(2026, 1, 5)))
    assert other.passed and other.metadata["landed_rows"].value == 2000 and other.metadata["quarantined_rows"].value == 0


def test_a_day_a_little_over_the_rate_by_chance_passes(tmp_path):
    # 60 of day 3's 1,000 rows (6%, within three standard deviations of 5%, i.e. 50 + 20.7 rows), 56 elsewhere
    result = rate_check_result(tmp_path, "web_events", TEN_DAYS,
                               "select 'web_events', 'k' || range, 'impossible_timestamp', "
                               "case when range < 60 then '2026-01-03' else '2026-01-0' || (range % 6 + 4)::varchar end "
                               "from range(116)")
    assert result.passed and result.metadata["days_over_threshold"].value == 0
