"""Malformed landing files: each case gives a clear error naming the file, line and column, or keeps the
unparseable line in quality.quarantine with its raw text. Nothing is skipped silently."""
import datetime as dt
import json

import duckdb
import pytest

from assets.ingest.landing import load_csv, load_parquet
from assets.staging.staged import stage
from pipelines.contract import LandingFileError, load_contract
from pipelines.resources import read_sql

SOURCES = load_contract()
CAMPAIGNS_HEADER = "Campaign ID,Campaign Name,Channel,Start Date,End Date,Objective\n"


@pytest.fixture
def con():
    c = duckdb.connect()
    for schema in ("raw", "staging", "quality", "ref"):
        c.execute(f"create schema {schema}")
    c.execute(read_sql("quality/tables.sql"))
    c.execute(read_sql("macros.sql"))
    yield c
    c.close()


def _quarantined(con):
    return con.execute("select record_key, original_row, rule, reason from quality.quarantine order by record_key").fetchall()


def test_bad_encoding_in_the_header_names_file_and_line(con, tmp_path):
    path = tmp_path / "campaigns.csv"
    path.write_bytes(b"Campaign ID,Campaign Name,Ch\xe4nnel,Start Date,End Date,Objective\nC1,a,email,2026-01-01,,retention\n")
    with pytest.raises(LandingFileError) as e:
        load_csv(con, SOURCES["campaigns"], path, "load-1")
    assert str(path) in str(e.value) and "line 1 (header)" in str(e.value) and "UTF-8" in str(e.value)


def test_bad_encoding_in_a_row_is_quarantined_with_line_and_raw_text(con, tmp_path):
    path = tmp_path / "campaigns.csv"
    path.write_bytes(CAMPAIGNS_HEADER.encode() + b"C1,ok,email,2026-01-01,,retention\n"
                     b"C2,Caf\xe9 latin-1,email,2026-01-02,,retention\nC3,ok,email,2026-01-03,,retention\n")
    stats = load_csv(con, SOURCES["campaigns"], path, "load-1")
    assert stats.raw_rows == 2 and stats.malformed_rows == 1
    [(key, row, rule, reason)] = _quarantined(con)
    assert key == f"{path}:3" and rule == "malformed_row" and "INVALID ENCODING" in reason and "line 3" in reason
    assert json.loads(row)["text"].startswith("C2,Caf")


def test_ragged_rows_are_quarantined_with_their_line_numbers(con, tmp_path):
    path = tmp_path / "campaigns.csv"
    path.write_text(CAMPAIGNS_HEADER + "C1,ok,email,2026-01-01,,retention\n"
                    "C2,too,few\n"
                    "C3,ok,email,2026-01-03,,retention\n"
                    "C4,too,many,2026-01-04,,retention,extra\n", encoding="utf-8")
    stats = load_csv(con, SOURCES["campaigns"], path, "load-1")
    assert stats.raw_rows == 2 and stats.malformed_rows == 2
    rows = _quarantined(con)
    assert [(k, json.loads(r)["text"]) for k, r, _, _ in rows] == [
        (f"{path}:3", "C2,too,few"), (f"{path}:5", "C4,too,many,2026-01-04,,retention,extra")]
    assert "MISSING COLUMNS" in rows[0][3] and "TOO MANY COLUMNS" in rows[1][3]


def test_missing_required_column_names_file_and_column(con, tmp_path):
    path = tmp_path / "campaigns.csv"
    path.write_text("Campaign ID,Campaign Name,Start Date\nC1,a,2026-01-01\n", encoding="utf-8")
    with pytest.raises(LandingFileError) as e:
        load_csv(con, SOURCES["campaigns"], path, "load-1")
    assert str(path) in str(e.value) and "'Channel'" in str(e.value) and "missing required column" in str(e.value)


def test_wrong_type_in_a_csv_value_is_quarantined_naming_column_and_value(con, tmp_path):
    path = tmp_path / "crm_orders.csv"
    path.write_text(
        "Order ID,Contact Record ID,Customer Email,Order Date,Amount,Currency,Order Status,Sales Channel\n"
        "SO-1,1,a@b.com,2026-01-01T10:00:00Z,12.50,USD,completed,web\n"
        "SO-2,1,a@b.com,2026-01-02T10:00:00Z,twelve,USD,completed,web\n", encoding="utf-8")
    load_csv(con, SOURCES["crm_orders"], path, "load-1")
    con.execute("create table ref.currencies as select 'USD' as code")
    con.execute("create table staging.fx_rates as select date '2025-01-01' as rate_date, 'USD' as currency, 1.0::double as usd_per_unit")
    con.execute("create table ref.blocked_identifiers as select 'test@test.com' as value")
    counts = stage(con, SOURCES["crm_orders"], {"as_of": dt.date(2026, 11, 20)})
    assert counts["staged_rows"] == 1 and counts["quarantined_rows"] == 1
    [(key, row, rule, reason)] = _quarantined(con)
    assert key == "SO-2" and rule == "invalid_amount" and "Amount" in reason and "twelve" in reason
    original = json.loads(row)
    assert original["amount"] == "twelve" and original["_source_file"] == str(path)


def test_wrong_type_in_a_parquet_file_names_the_file_and_column(con, tmp_path):
    folder = tmp_path / "web_events"
    folder.mkdir()
    good = folder / "events_20261101.parquet"
    bad = folder / "events_20261102.parquet"
    base = ("select '20261101' as event_date, 1::bigint as event_timestamp, 'page_view' as event_name, "
            "[{'key': 'ga_session_id', 'value': {'string_value': null::varchar, 'int_value': 1::bigint, "
            "'float_value': null::double, 'double_value': null::double}}] as event_params, "
            "null::varchar as user_id, 'c1' as user_pseudo_id")
    con.execute(f"copy ({base}) to '{good}' (format parquet)")
    con.execute(f"copy ({base.replace('1::bigint as event_timestamp', chr(39) + 'yesterday' + chr(39) + ' as event_timestamp')}) "
                f"to '{bad}' (format parquet)")
    with pytest.raises(LandingFileError) as e:
        load_parquet(con, SOURCES["web_events"], [good, bad], "load-1")
    message = str(e.value)
    assert str(bad) in message and "'event_timestamp'" in message and "BIGINT" in message
    assert str(good) not in message
