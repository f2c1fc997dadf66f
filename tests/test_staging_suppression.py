"""The staging split drops rows carrying a suppressed identifier before they reach any of its three
tables (staging, quarantine, defects), on a small in-memory warehouse: the safety net behind raw's
own suppression, for rows that reach staging some other way (the lake files, a raw table loaded
before the suppression)."""
import datetime as dt

import duckdb
import pytest

from assets.ingest.landing import load_csv
from assets.staging.staged import stage
from pipelines.contract import load_contract
from pipelines.privacy import pii_hash
from pipelines.resources import read_sql

SALT = "test-salt"
HEADER = "Order ID,Contact Record ID,Customer Email,Order Date,Amount,Currency,Order Status,Sales Channel\n"


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect()
    for schema in ("raw", "staging", "quality", "ref"):
        c.execute(f"create schema {schema}")
    c.execute(read_sql("quality/tables.sql"))
    c.execute(read_sql("macros.sql"))
    c.execute("create table ref.currencies as select 'USD' as code")
    c.execute("create table staging.fx_rates as select date '2025-01-01' as rate_date, 'USD' as currency, 1.0::double as usd_per_unit")
    c.execute("create table ref.blocked_identifiers as select 'test@test.com' as value")
    path = tmp_path / "crm_orders.csv"
    path.write_text(
        HEADER
        + "SO-1,1,kept@b.com,2026-01-01T10:00:00Z,12.50,USD,completed,web\n"
        + "SO-2,2,Erased@B.com ,2026-01-02T10:00:00Z,20.00,USD,completed,web\n"       # clean row, erased
        + "SO-3,2,erased@b.com,2026-01-03T10:00:00Z,twelve,USD,completed,web\n"      # rejected row, erased
        + "SO-4,1,kept@b.com,2026-01-04T10:00:00Z,nine,USD,completed,web\n",         # rejected row, kept
        encoding="utf-8")
    load_csv(c, load_contract()["crm_orders"], path, "load-1")
    yield c
    c.close()


def staged_orders(con) -> list[str]:
    return [r[0] for r in con.execute("select order_id from staging.crm_orders order by 1").fetchall()]


def test_rows_with_a_suppressed_identifier_reach_no_staging_table(con):
    params = {"as_of": dt.date(2026, 11, 20), "pii_salt": SALT}
    before = stage(con, load_contract()["crm_orders"], params)
    assert before == {"staged_rows": 2, "quarantined_rows": 2, "defects": 0, "erasure_suppressed_rows": 0}
    assert staged_orders(con) == ["SO-1", "SO-2"]

    con.execute("insert into quality.erasure_suppressions values ($h, 'email', $h, now())",
                {"h": pii_hash("erased@b.com", SALT)})
    after = stage(con, load_contract()["crm_orders"], params)
    assert after == {"staged_rows": 1, "quarantined_rows": 1, "defects": 0, "erasure_suppressed_rows": 2}
    assert staged_orders(con) == ["SO-1"]
    assert [r[0] for r in con.execute("select record_key from quality.quarantine").fetchall()] == ["SO-4"]
