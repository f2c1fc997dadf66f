"""Daily partitions and the load ledger, on the real raw and staging assets over a copy of the
generated landing files:

* a daily run stages only its day; the other days' rows stay exactly as they were;
* rerunning a day whose file changed replaces exactly that day (staging, quarantine, defects, the
  session-day aggregate) and the ledger says the file was reloaded and why;
* the same CSV landing again is not loaded again; a changed CSV (or a changed column mapping) is;
* a range of days runs as one run and one step (a backfill), also from the `dagster` CLI;
* the landing sensor starts nothing for a file landed again with the same bytes, and asks for the
  day of a changed web-event file.
"""
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.ingest.raw import raw_assets
from assets.reference.ref_tables import ref_countries
from assets.staging import staged as staging_module
from assets.staging.staged import staged_assets
from assets.staging import web_session_days as session_days_module
from pipelines.contract import REPO_ROOT
from pipelines.partitions import DayRange, landed_range, range_tags
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.schedules import landing_sensor

RAW = {a.key.path[1]: a for a in raw_assets}
STAGED = {a.key.path[1]: a for a in staged_assets}
WEB = [RAW["web_events"], STAGED["web_events"], session_days_module.web_session_days, ref_countries]
LAST = dt.date(2026, 11, 19)  # the generated data's last day (as of 2026-11-20)


@pytest.fixture
def landing(generated, tmp_path) -> Path:
    """A private copy of the generated landing folder (tests change files in it)."""
    target = tmp_path / "landing"
    shutil.copytree(generated[0], target)
    return target


def resources(landing: Path, tmp_path: Path) -> dict:
    return {"settings": PipelineSettings(landing_dir=str(landing), output_dir=str(tmp_path / "out"), as_of="2026-11-20"),
            "warehouse": Warehouse(database=str(tmp_path / "out" / "warehouse.duckdb"))}


def run(assets: list, landing: Path, tmp_path: Path, days: DayRange | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources=resources(landing, tmp_path), raise_on_error=False,
                            tags=range_tags(days) if days else None, **kwargs)
    assert result.success, [e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure]
    return result


def query(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def day_file(landing: Path, day: dt.date) -> Path:
    return landing / "web_events" / f"events_{day:%Y%m%d}.parquet"


def per_day(tmp_path: Path) -> dict:
    """Per staged day: rows, the run that staged them, and a content hash of the rows."""
    rows = query(tmp_path, """
        select _partition_date, count(*), min(_load_id), max(_load_id),
               sum(hash(_record_key, event_name, event_at, geo_country_code))
        from staging.web_events group by all""")
    return {r[0]: r[1:] for r in rows}


def session_days_per_day(tmp_path: Path) -> dict:
    """Per partition day of staging.web_session_days: rows, events counted, and a content hash."""
    rows = query(tmp_path, """
        select _partition_date, count(*), sum(events)::bigint,
               sum(hash(user_pseudo_id, ga_session_id, event_day, user_id, geo_country_code, events, page_views))
        from staging.web_session_days group by all""")
    return {r[0]: r[1:] for r in rows}


def test_daily_run_stages_only_its_day_and_rerun_replaces_exactly_that_day(landing, tmp_path, monkeypatch):
    first_days = DayRange(LAST - dt.timedelta(days=29), LAST - dt.timedelta(days=1))
    monkeypatch.setattr(staging_module, "max_days_per_transaction", lambda: 7)  # the backfill commits 5 chunks
    monkeypatch.setattr(session_days_module, "max_days_per_transaction", lambda: 7)
    backfill = run(WEB, landing, tmp_path, first_days)
    # a range of days is one run and one step per asset (single-run backfill policy)
    materialized = [e for e in backfill.all_events if e.is_step_materialization and e.asset_key.path[1] == "web_events"]
    assert {e.event_specific_data.materialization.partition for e in materialized} == {str(d) for d in first_days.days}
    assert len({e.step_key for e in materialized}) == 2
    before, sessions_before = per_day(tmp_path), session_days_per_day(tmp_path)
    assert set(before) == set(first_days.days)
    assert {d: v[1] for d, v in sessions_before.items()} == {d: v[0] for d, v in before.items()}  # every event counted once

    daily = run(WEB, landing, tmp_path, DayRange(LAST, LAST))
    after = per_day(tmp_path)
    assert set(after) == set(first_days.days) | {LAST}
    assert {d: v for d, v in after.items() if d != LAST} == before  # other days untouched, same run ids
    assert after[LAST][1] == daily.run_id
    expected = query(tmp_path, f"select count(*) from read_parquet('{day_file(landing, LAST)}')")[0][0]
    raw_rows = [e.event_specific_data.materialization.metadata["dagster/row_count"].value for e in daily.all_events
                if e.is_step_materialization and e.asset_key.path == ["raw", "web_events"]]
    assert raw_rows == [expected]  # the day's rows: the raw view read only the day's file
    assert after[LAST][0] == expected - query(
        tmp_path, f"select count(*) from quality.quarantine where table_name = 'web_events' and partition_key = '{LAST}'")[0][0]

    # the day's export is replaced: fewer events, and one planted bad country (a defect) and one
    # future-dated event (quarantined)
    con = duckdb.connect()
    path = day_file(landing, LAST)
    con.execute(f"""copy (
        select * exclude (rn) replace (
            case when rn = 1 then {{'country': 'Atlantis', 'region': geo.region, 'city': geo.city}} else geo end as geo,
            case when rn = 2 then event_timestamp + 400 * 86400 * 1000000::bigint else event_timestamp end as event_timestamp)
        from (select *, row_number() over () as rn from read_parquet('{path}')) where rn <= 50
    ) to '{path}.new' (format parquet)""")
    con.close()
    os.replace(f"{path}.new", path)
    rerun = run(WEB, landing, tmp_path, DayRange(LAST, LAST))
    replaced, sessions_replaced = per_day(tmp_path), session_days_per_day(tmp_path)
    assert {d: v for d, v in replaced.items() if d != LAST} == before
    assert {d: v for d, v in sessions_replaced.items() if d != LAST} == sessions_before  # other days untouched
    assert sessions_replaced[LAST][1] == replaced[LAST][0]  # the day's session days are rebuilt from its new events
    quarantined = query(tmp_path, f"""select rule, load_id from quality.quarantine
                                      where table_name = 'web_events' and partition_key = '{LAST}'""")
    assert ("future_timestamp", rerun.run_id) in quarantined and {q[1] for q in quarantined} == {rerun.run_id}
    assert replaced[LAST][0] == 50 - len(quarantined) and replaced[LAST][1] == rerun.run_id
    defects = query(tmp_path, f"""select rule, original_value, load_id from quality.defects
                                  where table_name = 'web_events' and partition_key = '{LAST}'""")
    assert ("unknown_country", "Atlantis", rerun.run_id) in defects and {d[2] for d in defects} == {rerun.run_id}
    assert query(tmp_path, f"""select count(*) from quality.defects where table_name = 'web_events'
                               and partition_key != '{LAST}' and load_id = '{rerun.run_id}'""") == [(0,)]
    ledger = query(tmp_path, f"""select action, detail, rows, partition_key from quality.load_ledger
                                 where file_path = '{path}' order by recorded_at""")
    assert [r[0] for r in ledger] == ["loaded", "reloaded"]
    assert ledger[1][1].startswith("content changed since load") and ledger[1][2] == 50 and ledger[1][3] == str(LAST)
    # raw and staging still agree over the whole table (what the rows_conserved check compares)
    raw, staged, quarantined = query(tmp_path, """select (select count(*) from raw.web_events),
        (select count(*) from staging.web_events),
        (select count(*) from quality.quarantine where table_name = 'web_events')""")[0]
    assert raw == staged + quarantined


def test_checks_of_a_daily_run_count_its_day_and_a_broken_export_fails_them(landing, tmp_path):
    from pipelines.contract import load_contract
    from quality.invariants import conservation_check
    from quality.rate_checks import quarantine_rate_check

    source = load_contract()["web_events"]
    checks = [conservation_check(source), quarantine_rate_check(source)]

    def checked(**kwargs) -> dict:
        result = dg.materialize(WEB + checks, resources=resources(landing, tmp_path), raise_on_error=False, **kwargs)
        return {e.check_name: e for e in result.get_asset_check_evaluations()}

    run(WEB, landing, tmp_path, DayRange(LAST - dt.timedelta(days=3), LAST - dt.timedelta(days=1)))
    day_rows = query(tmp_path, f"select count(*) from read_parquet('{day_file(landing, LAST)}')")[0][0]
    first = checked(tags=range_tags(DayRange(LAST, LAST)))
    assert first["rows_conserved"].passed and first["quarantine_rate"].passed
    assert first["rows_conserved"].metadata["days"].value == str(LAST)
    assert first["rows_conserved"].metadata["raw_rows"].value == day_rows  # the run's day, not every staged day

    # the day's export is broken: every event stamped 400 days in the future (quarantined, not staged)
    path = day_file(landing, LAST)
    con = duckdb.connect()
    con.execute(f"""copy (select * replace (event_timestamp + 400 * 86400 * 1000000::bigint as event_timestamp)
                          from read_parquet('{path}')) to '{path}.new' (format parquet)""")
    con.close()
    os.replace(f"{path}.new", path)
    broken = checked(partition_key=str(LAST))  # as the daily schedule launches it
    assert broken["rows_conserved"].passed  # nothing lost: every row is quarantined
    assert not broken["quarantine_rate"].passed
    assert broken["quarantine_rate"].metadata["worst_days"].data == {str(LAST): 1.0}
    # over every staged day the broken day is a quarter of the rows: still found, day by day
    everything = checked(tags=range_tags(DayRange(LAST - dt.timedelta(days=3), LAST)))
    assert not everything["quarantine_rate"].passed and everything["quarantine_rate"].metadata["days_over_threshold"].value == 1


def test_a_range_is_cut_into_consecutive_chunks():
    days = DayRange(dt.date(2026, 1, 1), dt.date(2026, 1, 17))
    chunks = days.chunks(7)
    assert [(c.first.day, c.last.day) for c in chunks] == [(1, 7), (8, 14), (15, 17)]
    assert [d for c in chunks for d in c.days] == days.days


def test_a_day_without_its_file_is_an_error_naming_the_day(landing, tmp_path):
    missing = LAST - dt.timedelta(days=3)
    day_file(landing, missing).unlink()
    result = dg.materialize(WEB, resources=resources(landing, tmp_path), raise_on_error=False,
                            tags=range_tags(DayRange(missing - dt.timedelta(days=1), missing)))
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()
    assert f"no 'web_events' file for {missing}" in message and "has not landed" in message


def test_same_csv_is_not_loaded_twice_and_a_changed_one_is_reloaded(landing, tmp_path):
    crm = [RAW["crm_orders"]]
    first = run(crm, landing, tmp_path)
    copy = landing / "crm_orders.csv"
    shutil.copyfile(copy, tmp_path / "orders.csv")
    shutil.copyfile(tmp_path / "orders.csv", copy)  # lands again: same bytes, new modification time
    second = run(crm, landing, tmp_path)
    meta = second.get_asset_materialization_events()[0].materialization.metadata
    assert meta["files_unchanged"].value == 1 and meta["rows_loaded"].value == 0
    assert query(tmp_path, "select distinct _load_id from raw.crm_orders") == [(first.run_id,)]

    with open(copy, "a") as f:  # the export changes: one more order
        f.write(open(copy).readlines()[1])
    third = run(crm, landing, tmp_path)
    assert query(tmp_path, "select distinct _load_id from raw.crm_orders") == [(third.run_id,)]
    actions = query(tmp_path, "select action, detail, rows, load_id from quality.load_ledger "
                              "where source = 'crm_orders' order by recorded_at")
    assert [a[0] for a in actions] == ["loaded", "unchanged", "reloaded"]
    assert actions[2][1] == f"content changed since load {first.run_id} ({actions[0][2]} rows then)"
    assert actions[2][2] == actions[0][2] + 1


def test_a_changed_column_mapping_reloads_an_unchanged_file(landing, tmp_path):
    run([RAW["crm_orders"]], landing, tmp_path)
    mapping = tmp_path / "mapping.yaml"  # the optional sales channel now comes from another header
    mapping.write_text("crm_orders:\n  sales_channel: 'Channel Of Sale'\n")
    settings = PipelineSettings(landing_dir=str(landing), output_dir=str(tmp_path / "out"), as_of="2026-11-20",
                                column_mapping=str(mapping))
    result = dg.materialize([RAW["crm_orders"]], raise_on_error=False, resources={
        "settings": settings, "warehouse": Warehouse(database=str(tmp_path / "out" / "warehouse.duckdb"))})
    assert result.success
    action, detail = query(tmp_path, "select action, detail from quality.load_ledger where source = 'crm_orders' "
                                     "order by recorded_at")[-1]
    assert action == "reloaded" and detail.endswith("but the contract's columns changed")
    assert query(tmp_path, "select count(*) from raw.crm_orders where sales_channel is not null") == [(0,)]


def test_landing_sensor_ignores_same_bytes_and_asks_for_changed_days(landing, tmp_path):
    settings = PipelineSettings(landing_dir=str(landing))
    context = dg.build_sensor_context(resources={"settings": settings})
    first = landing_sensor(context)
    landed = sorted(p.name for p in (landing / "web_events").iterdir())
    first_day = dt.datetime.strptime(landed[0][7:15], "%Y%m%d").date()
    assert first.tags == range_tags(DayRange(first_day, LAST))  # first tick: every landed day is new
    cursor = json.loads(context.cursor)
    context = dg.build_sensor_context(cursor=context.cursor, resources={"settings": settings})
    path = day_file(landing, LAST - dt.timedelta(days=5))
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)  # landed again, same bytes
    assert isinstance(landing_sensor(context), dg.SkipReason)
    assert json.loads(context.cursor)[str(path.relative_to(landing))][2] == cursor[str(path.relative_to(landing))][2]

    context = dg.build_sensor_context(cursor=context.cursor, resources={"settings": settings})
    path.write_bytes(day_file(landing, LAST - dt.timedelta(days=6)).read_bytes())  # content changed
    request = landing_sensor(context)
    assert request.tags == range_tags(DayRange(LAST - dt.timedelta(days=5), LAST - dt.timedelta(days=5)))


def test_backfill_of_a_range_from_the_cli(landing, tmp_path):
    days = DayRange(LAST - dt.timedelta(days=2), LAST)
    env = {**os.environ, "SEG_LANDING_DIR": str(landing), "SEG_OUTPUT_DIR": str(tmp_path / "out"),
           "SEG_AS_OF": "2026-11-20", "SEG_DATABASE": str(tmp_path / "out" / "warehouse.duckdb")}
    env.pop("DAGSTER_HOME", None)
    run([ref_countries], landing, tmp_path)  # staging reads it; it is not partitioned
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
         "--select", "raw/web_events,staging/web_events", "--partition-range", f"{days.first}...{days.last}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(d for (d,) in query(tmp_path, "select distinct _partition_date from staging.web_events")) == days.days


# ------------------------------------------------------------------ email events: a daily-partitioned CSV
EMAIL = [RAW["campaigns"], STAGED["campaigns"], RAW["email_events"], STAGED["email_events"]]


def email_file(landing: Path, day: dt.date) -> Path:
    return landing / "email_events" / f"email_events_{day:%Y%m%d}.csv"


def email_per_day(tmp_path: Path, layer: str) -> dict:
    """Per day of raw or staging email events: rows, the run that loaded them, a content hash."""
    rows = query(tmp_path, f"""
        select _partition_date, count(*), min(_load_id), max(_load_id), sum(hash(event_id, email, occurred_at))
        from {layer}.email_events group by all""")
    return {r[0]: r[1:] for r in rows}


def test_email_events_daily_run_replaces_exactly_its_day(landing, tmp_path):
    files = sorted((landing / "email_events").glob("*.csv"))
    full = run(EMAIL, landing, tmp_path, landed_range(landing))
    raw_before, staged_before = email_per_day(tmp_path, "raw"), email_per_day(tmp_path, "staging")
    assert query(tmp_path, "select count(*) from quality.load_ledger where source = 'email_events'") == [(len(files),)]
    busy = [day for day, (rows, *_) in sorted(raw_before.items()) if rows > 1]
    earlier, day = busy[0], busy[-1]

    # the day's export changes: one event dropped, an event of an earlier day exported again, a ragged line
    path = email_file(landing, day)
    header, first_line, *others = path.read_text().splitlines()
    repeated = email_file(landing, earlier).read_text().splitlines()[1]
    path.write_text("\n".join([header, *others, repeated, "EV-RAGGED,only-two-fields"]) + "\n")
    daily = run(EMAIL, landing, tmp_path, DayRange(day, day))

    raw_after, staged_after = email_per_day(tmp_path, "raw"), email_per_day(tmp_path, "staging")
    assert {d: v for d, v in raw_after.items() if d != day} == {d: v for d, v in raw_before.items() if d != day}
    assert {d: v for d, v in staged_after.items() if d != day} == {d: v for d, v in staged_before.items() if d != day}
    assert raw_after[day][0] == raw_before[day][0] and raw_after[day][1:3] == (daily.run_id, daily.run_id)
    assert staged_after[day][0] == raw_after[day][0] - 1  # the repeated event is quarantined
    ledger = query(tmp_path, f"select file_path, action from quality.load_ledger where load_id = '{daily.run_id}'"
                             " and source = 'email_events'")
    assert ledger == [(str(path), "reloaded")]  # only the day's file was looked at
    quarantined = query(tmp_path, """select rule, record_key, partition_key from quality.quarantine
                                     where table_name = 'email_events' order by rule""")
    event_id = repeated.split(",")[0]
    assert quarantined == [("duplicate_key", event_id, str(day)),
                           ("malformed_row", f"{path}:{len(others) + 3}", str(day))]
    assert query(tmp_path, f"select _partition_date from staging.email_events where event_id = '{event_id}'") == [(earlier,)]
    assert full.run_id in {v[1] for v in staged_after.values()}

    run(EMAIL, landing, tmp_path, DayRange(day, day))  # the same day again, same bytes: nothing doubles
    assert query(tmp_path, "select count(*) from quality.quarantine where table_name = 'email_events'") == [(2,)]
    assert email_per_day(tmp_path, "raw") == raw_after
