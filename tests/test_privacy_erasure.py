"""Erasure on dedicated small runs: a planted customer present in every source is processed normally
(run A: they reach marts, history, exports and the serving copy; an older history slice is added),
then asks to be erased (run B): afterwards no table (any schema) and no file in the output folder (CSV,
Parquet, HTML, JSON, the serving DuckDB copy, Data Docs) holds any of their identifiers, and the audit
records the request without PII. Run C: the request file is gone but their records land again; they
stay suppressed."""
import os
import shutil

import duckdb
import polars as pl
import pytest

from tests.conftest import AS_OF, pipeline_env

CUSTOMERS = 300
SEED = 11


def _needles(truth) -> tuple[list[str], list[str], tuple[str, str]]:
    """(substring needles, whole-token ids, (first, last)) of the erased person, lower-cased."""
    p = pl.read_parquet(truth / "erasure.parquet").row(0, named=True)
    subs = [*p["emails"], p["phone"], p["web_user_id"], *p["pseudo_ids"]]
    return [s.lower() for s in subs if s], [str(c) for c in p["contact_ids"]], (p["first_name"].lower(), p["last_name"].lower())


def _table_hits(db_path, needles, ids, name) -> list[str]:
    con = duckdb.connect()
    con.execute(f"attach '{db_path}' as db (read_only)")
    hits = []
    try:
        objects = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'db'"
            " union all select schema_name, view_name from duckdb_views() where database_name = 'db' and not internal"
        ).fetchall()
        assert objects
        for schema, table in objects:
            text = f"lower(t::varchar)"
            conds = [f"contains({text}, {duckdb_literal(n)})" for n in needles]
            conds += [f"regexp_matches({text}, '(^|[^0-9]){i}([^0-9]|$)')" for i in ids]
            conds.append(f"(contains({text}, {duckdb_literal(name[0])}) and contains({text}, {duckdb_literal(name[1])}))")
            n = con.execute(f'select count(*) from db."{schema}"."{table}" t where {" or ".join(conds)}').fetchall()[0][0]
            if n:
                hits.append(f"{db_path.name}:{schema}.{table}: {n} rows")
    finally:
        con.close()
    return hits


def duckdb_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_hits(output, needles, ids, name) -> list[str]:
    hits = []
    for path in sorted(output.rglob("*")):
        if not path.is_file() or path.name.endswith(".wal"):
            continue
        if path.suffix == ".duckdb":
            if path.name != "warehouse.duckdb":
                hits += _table_hits(path, needles, ids, name)
            continue
        if path.suffix == ".parquet":
            text = duckdb.connect().execute(f"select string_agg(t::varchar, '\n') from read_parquet('{path}') t").fetchall()[0][0] or ""
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        text = text.lower()
        found = [n for n in needles if n in text]
        found += [i for i in ids if f",{i}," in text or f'"{i}"' in text or f": {i}" in text or f" {i}\n" in text]
        if found:
            hits.append(f"{path.relative_to(output)}: {found}")
    return hits


@pytest.fixture(scope="module")
def erasure_run(tmp_path_factory):
    from datagen import generate
    from pipelines.demo import run_pipeline

    root = tmp_path_factory.mktemp("erasure")
    landing, truth, output = root / "landing", root / "truth", root / "output"
    generate(landing, truth, CUSTOMERS, 8, SEED, AS_OF, 365)
    original_requests = (landing / "deletion_requests.csv").read_text()
    request_line = (truth / "erasure_request.csv").read_text().splitlines()[1]
    contact_id = _needles(truth)[1][0]
    keys = ("SEG_LANDING_DIR", "SEG_OUTPUT_DIR", "SEG_AS_OF", "SEG_DATABASE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(pipeline_env(landing, output))
    try:
        before = run_pipeline()
        assert before.success
        con = duckdb.connect(str(output / "warehouse.duckdb"))
        key = con.execute("select customer_key from marts.customer_identity where source = 'crm_contacts'"
                          " and record_key = $c", {"c": contact_id}).fetchall()[0][0]
        # history from an earlier run date (the run keeps one slice per date)
        con.execute("insert into marts.segment_history select * replace (run_date - 7 as run_date)"
                    " from marts.segment_history where customer_key = $k", {"k": key})
        present = {t: con.execute(f"select count(*) from {t} where customer_key = $k", {"k": key}).fetchall()[0][0]
                   for t in ("marts.segment_history", "marts.customer_features", "pii.customer_contacts")}
        con.close()
        assert all(present.values()), present
        (landing / "deletion_requests.csv").write_text(original_requests.rstrip("\n") + "\n" + request_line + "\n")
        first = run_pipeline()
        assert first.success
        snapshot = root / "after_first.duckdb"
        shutil.copy(output / "warehouse.duckdb", snapshot)
        first_file_hits = _file_hits(output, *_needles(truth))
        # the request file is rotated away, but the person's records land again in new exports (same
        # rows, another order: new content, so the load ledger reloads them): still suppressed
        (landing / "deletion_requests.csv").write_text(original_requests)
        for path in [landing / "crm_contacts.csv", *sorted(landing.glob("email_events/*.csv"))]:
            header, *lines = path.read_bytes().splitlines()  # bytes: planted bad UTF-8 stays
            path.write_bytes(b"\n".join([header, *reversed(lines)]) + b"\n")
        second = run_pipeline()
        assert second.success
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"landing": landing, "truth": truth, "output": output, "first": first, "second": second,
            "after_first": snapshot, "customer_key": key, "first_file_hits": first_file_hits}


def test_planted_person_is_in_every_landed_source(erasure_run):
    needles, ids, _ = _needles(erasure_run["truth"])
    email = needles[0]
    landing = erasure_run["landing"]
    for file in ("crm_contacts.csv", "crm_orders.csv", "survey_responses.csv", "ab_assignments.csv"):
        assert email in (landing / file).read_text().lower(), file
    assert any(email in path.read_text().lower() for path in landing.glob("email_events/*.csv"))
    assert ids[0] in (erasure_run["landing"] / "crm_contacts.csv").read_text()


def test_no_table_or_file_holds_the_erased_persons_identifiers(erasure_run):
    needles, ids, name = _needles(erasure_run["truth"])
    # after the run that processed the request, and after the rerun with the records landed again
    assert _table_hits(erasure_run["after_first"], needles, ids, name) == []
    assert _table_hits(erasure_run["output"] / "warehouse.duckdb", needles, ids, name) == []
    assert erasure_run["first_file_hits"] == []
    assert _file_hits(erasure_run["output"], needles, ids, name) == []


def test_erased_customer_key_is_gone_from_history_and_every_keyed_table(erasure_run):
    con = duckdb.connect(str(erasure_run["after_first"]), read_only=True)
    tables = con.execute("select distinct schema_name, table_name from duckdb_columns() where column_name = 'customer_key'"
                         " and database_name = current_database()").fetchall()
    assert len(tables) > 15
    left = {f"{s}.{t}": n for s, t in tables
            if (n := con.execute(f'select count(*) from "{s}"."{t}" where customer_key = $k',
                                 {"k": erasure_run["customer_key"]}).fetchall()[0][0])}
    assert left == {}


def test_the_scanners_find_the_person_when_not_erased(erasure_run, tmp_path):
    """Guards against scanners that cannot fail: the same scans find the person in a CSV, a Parquet and a
    DuckDB file that still hold them (from the landing folder)."""
    needles, ids, name = _needles(erasure_run["truth"])
    shutil.copy(erasure_run["landing"] / "crm_contacts.csv", tmp_path / "contacts.csv")
    con = duckdb.connect(str(tmp_path / "copy.duckdb"))
    con.execute(f"create table contacts as select * from read_csv('{tmp_path / 'contacts.csv'}', all_varchar = true,"
                " ignore_errors = true)")
    con.execute(f"copy contacts to '{tmp_path / 'contacts.parquet'}' (format parquet)")
    con.close()
    hits = _file_hits(tmp_path, needles, ids, name)
    assert len(hits) == 3, hits


def test_audit_records_the_request_without_pii(erasure_run):
    from pipelines.privacy import DEMO_SALT, pii_hash

    needles, _, _ = _needles(erasure_run["truth"])
    con = duckdb.connect(str(erasure_run["after_first"]), read_only=True)
    audit = con.execute(
        "select request_hash, customers_erased, rows_removed, rows_removed_by_table from quality.erasure_audit"
        " where request_hash = $h", {"h": pii_hash(needles[0], DEMO_SALT)}).fetchall()
    assert len(audit) == 1
    _, customers, rows, by_table = audit[0]
    assert customers == 1 and rows > 10
    import json
    tables = json.loads(by_table)
    for t in ("raw.crm_contacts", "staging.crm_contacts", "raw.crm_orders", "staging.email_events",
              "staging.identity_links", "marts.customer_identity"):
        assert tables.get(t, 0) > 0, t
    assert not any(n in str(audit) for n in needles)
    suppressed = con.execute("select count(*), count(distinct id_type) from quality.erasure_suppressions"
                             " where request_hash = $h", {"h": pii_hash(needles[0], DEMO_SALT)}).fetchall()[0]
    assert suppressed[0] >= 4 and suppressed[1] >= 3  # contact id, email, web login, cookies


def test_relanded_records_are_suppressed_at_ingest(erasure_run):
    from dagster import AssetKey

    suppressed = {}
    for e in erasure_run["second"].all_events:
        if e.is_step_materialization:
            m = e.event_specific_data.materialization
            if m.asset_key.path[0] == "raw" and "erasure_suppressed_rows" in m.metadata:
                suppressed[m.asset_key.path[1]] = m.metadata["erasure_suppressed_rows"].value
    assert suppressed["crm_contacts"] >= 1 and suppressed["email_events"] >= 1 and suppressed["web_events"] >= 1
    assert AssetKey(["raw", "crm_contacts"])


def test_the_purge_runs_only_when_the_suppression_list_grows(erasure_run, tmp_path, monkeypatch):
    """Every load drops suppressed rows, so a run whose requests add no new suppression has nothing to
    purge and skips the scan of every table (minutes at 100M events); a run that adds one purges."""
    from assets.privacy import erasure
    from pipelines.privacy import DEMO_SALT
    from pipelines.resources import Warehouse

    database = tmp_path / "warehouse.duckdb"
    shutil.copy(erasure_run["after_first"], database)
    purges = []
    real_purge = erasure._purge
    monkeypatch.setattr(erasure, "_purge", lambda con, salt: purges.append(1) or real_purge(con, salt))
    with Warehouse(database=str(database)).connect() as con:
        unchanged = erasure.process_erasure(con, DEMO_SALT, "same-requests")
        assert purges == [] and unchanged["rows_removed"] == 0 and unchanged["requests"] >= 1
        # forget the suppression of one request's own identifier: processing adds it again, and purges
        forgotten = con.execute("delete from quality.erasure_suppressions where rowid = (select min(rowid) from "
                                "quality.erasure_suppressions where id_type = 'request')").fetchall()[0][0]
        assert forgotten == 1
        erasure.process_erasure(con, DEMO_SALT, "one-new-suppression")
        assert purges == [1]
