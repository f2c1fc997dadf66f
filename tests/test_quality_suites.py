"""The Great Expectations suites as Dagster asset checks: present for every staged table, blocking
where critical, with counts, samples and a Data Docs link; and they catch broken tables."""
import shutil

import duckdb
import pytest

from quality.suites import TABLES

CRITICAL, WARNINGS = "gx_critical", "gx_warnings"


def _evaluations(pipeline_run):
    return {(e.asset_key.path[-1], e.check_name): e for e in pipeline_run.result.get_asset_check_evaluations()
            if e.check_name in (CRITICAL, WARNINGS)}


def test_every_staged_table_has_a_suite_and_both_checks(pipeline_run):
    evaluations = _evaluations(pipeline_run)
    for table in TABLES:
        assert (table, CRITICAL) in evaluations and (table, WARNINGS) in evaluations, table
        assert evaluations[(table, CRITICAL)].passed, (table, evaluations[(table, CRITICAL)].metadata["failures"])


def test_critical_checks_block_and_the_rest_warn():
    from quality.gx_checks import gx_checks

    specs = {(s.asset_key.path[-1], s.name): s for check in gx_checks for s in check.check_specs}
    assert len(specs) == 2 * len(TABLES)
    assert {t for t, _ in specs} == set(TABLES)
    assert all(s.blocking for (t, n), s in specs.items() if n == CRITICAL)
    assert not any(s.blocking for (t, n), s in specs.items() if n == WARNINGS)


def test_check_metadata_has_counts_samples_and_data_docs(pipeline_run):
    evaluations = _evaluations(pipeline_run)
    warn = evaluations[("crm_contacts", WARNINGS)]
    # the planted duplicate contacts (same normalized email) surface as a warning, not a block
    assert not warn.passed and warn.severity.value == "WARN"
    failures = warn.metadata["failures"].data
    duplicate = next(f for f in failures if f["expectation"] == "expect_column_values_to_be_unique")
    assert duplicate["unexpected_count"] == 2 * pipeline_run.query(
        "select count(*) from quality.defects where rule = 'duplicate_contact'")[0][0]
    assert duplicate["unexpected_sample"]
    docs = warn.metadata["data_docs"].path
    assert docs == str(pipeline_run.output / "data_docs" / "crm_contacts" / "index.html")
    for table in TABLES:  # every table's site lists its own validation, whichever run validated it
        with open(pipeline_run.output / "data_docs" / table / "index.html") as f:
            assert f"staging_{table}" in f.read(), table


@pytest.fixture(scope="module")
def broken_copy(pipeline_run, tmp_path_factory):
    """A copy of the run's warehouse with planted breakage in staged tables."""
    path = tmp_path_factory.mktemp("broken") / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, path)
    con = duckdb.connect(str(path))
    # email_events: 10% orphans (threshold 2%) and 3 duplicated event ids
    con.execute("update staging.email_events set campaign_id = 'CMP-GHOST' where hash(event_id) % 10 = 0")
    con.execute("insert into staging.email_events select * from staging.email_events order by event_id limit 3")
    # crm_orders: a column with the wrong type
    con.execute("alter table staging.crm_orders alter amount_usd type varchar")
    # survey_responses: out-of-range answers (accuracy, warns)
    con.execute("update staging.survey_responses set nps_score = 42 where response_id in "
                "(select response_id from staging.survey_responses order by response_id limit 4)")
    orphans = con.execute("select count(*) from staging.email_events where campaign_id not in "
                          "(select campaign_id from staging.campaigns)").fetchall()[0][0]
    con.close()
    return path, orphans


@pytest.fixture(scope="module")
def broken_results(broken_copy):
    import datetime as dt

    from quality.gx_checks import check_results, run_suites
    from quality.suites import SuiteContext

    path, orphans = broken_copy
    ctx = SuiteContext(as_of=dt.date(2026, 11, 20), max_orphan_rate={"email_events_campaign": 0.02,
                                                                       "crm_orders_contact": 0.2})
    validations = run_suites(path, ctx, None, ["email_events", "crm_orders", "survey_responses"])
    con = duckdb.connect(str(path), read_only=True)
    try:
        results = {(v.table.split(".")[-1], r.check_name): r
                   for v in validations for r in check_results(v, "none", con)}
    finally:
        con.close()
    return results, orphans


def _failure(result, expectation, column):
    return next(f for f in result.metadata["failures"].data if f["expectation"] == expectation and column in f["columns"])


def test_orphans_above_threshold_and_duplicate_keys_fail_the_critical_check(broken_results):
    results, orphans = broken_results
    critical = results[("email_events", CRITICAL)]
    assert not critical.passed
    orphan = _failure(critical, "unexpected_rows_expectation", "campaign_id")
    assert orphan["unexpected_count"] == orphans and "CMP-GHOST" in orphan["unexpected_sample"]
    unique = _failure(critical, "expect_column_proportion_of_unique_values_to_be_between", "event_id")
    assert unique["failed"]


def test_wrong_column_type_fails_the_critical_check(broken_results):
    results, _ = broken_results
    critical = results[("crm_orders", CRITICAL)]
    assert not critical.passed
    assert _failure(critical, "expect_column_values_to_be_of_type", "amount_usd")["observed_value"] == "VARCHAR"


def test_out_of_range_answers_warn_with_count_and_sample(broken_results):
    results, _ = broken_results
    assert results[("survey_responses", CRITICAL)].passed
    warn = results[("survey_responses", WARNINGS)]
    assert not warn.passed
    nps = _failure(warn, "expect_column_values_to_be_between", "nps_score")
    assert nps["unexpected_count"] == 4 and nps["unexpected_sample"] == ["42"] * 4
