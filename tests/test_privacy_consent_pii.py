"""Privacy on the shared pipeline run: no PII in any marts table or in the serving copy, consent per
customer and purpose (latest wins), audience exports limited to consented customers with the reasons
for the others, optional landing sources, and the salt configuration."""
import csv
import datetime as dt

import dagster as dg
import duckdb
import pytest

from pipelines.privacy import DEMO_SALT, MissingSaltError, pii_hash, pii_salt
from pipelines.serving import serving_path

EMAIL_RE = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PII_COLUMN_NAMES = {"email", "first_name", "last_name", "phone", "birth_date", "ip", "ip_address", "street",
                    "address", "record_key_email"}


def _input_identifiers(landing) -> dict[str, set[str]]:
    """Emails, phones and full names of the generated inputs (from the landed CSVs)."""
    emails, phones, names = set(), set(), set()
    files = [("crm_contacts.csv", ["Email"]), ("crm_orders.csv", ["Customer Email"]),
             ("survey_responses.csv", ["Email Address"]), ("ab_assignments.csv", ["Customer Email"])]
    files += [(path.relative_to(landing), ["Recipient Email"]) for path in sorted(landing.glob("email_events/*.csv"))]
    for file, email_cols in files:
        with open(landing / file, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for c in email_cols:
                    if row.get(c) and "@" in row[c]:
                        emails.add(row[c].strip().lower())
                if file == "crm_contacts.csv":
                    if row.get("Phone Number"):
                        phones.add(row["Phone Number"].strip())
                    if row.get("First Name") and row.get("Last Name"):
                        names.add(f"{row['First Name']} {row['Last Name']}".strip().lower())
    return {"email": emails, "phone": phones, "name": names}


def _scan_schemas(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], ids: dict[str, set[str]]) -> list[str]:
    """Every column of every table in `schemas`: values that look like an email, or equal an input phone
    or full name (compared trimmed, lower-cased; nested values as their text form)."""
    con.execute("create or replace temp table _phones as select unnest($v) as v", {"v": sorted(ids["phone"])})
    con.execute("create or replace temp table _names as select unnest($v) as v", {"v": sorted(ids["name"])})
    con.execute("create or replace temp table _emails as select unnest($v) as v", {"v": sorted(ids["email"])})
    hits = []
    for schema, table, column in con.execute(
        "select c.schema_name, c.table_name, c.column_name from duckdb_columns() c"
        " where c.schema_name in $s and not c.table_name like '\\_%' escape '\\' and c.database_name = current_database()"
        " order by all", {"s": list(schemas)}
    ).fetchall():
        if (schema, table) == ("ref", "blocked_identifiers"):
            continue  # configured placeholder values (test@test.com, 0000...), no person's data
        if column.lower() in PII_COLUMN_NAMES:
            hits.append(f"{schema}.{table}.{column}: PII column name")
        value = f'lower(trim("{column}"::varchar))'
        found = con.execute(
            f"""select count(*) filter (where regexp_matches({value}, $re)),
                       count(*) filter (where {value} in (select v from _phones)),
                       count(*) filter (where {value} in (select lower(v) from _names)),
                       count(*) filter (where {value} in (select v from _emails))
                from "{schema}"."{table}" """, {"re": EMAIL_RE}
        ).fetchall()[0]
        if any(found):
            hits.append(f"{schema}.{table}.{column}: email-like {found[0]}, phone {found[1]}, name {found[2]}, input email {found[3]}")
    return hits


@pytest.fixture(scope="module")
def input_ids(generated):
    ids = _input_identifiers(generated[0])
    assert len(ids["email"]) > 1000 and len(ids["phone"]) > 1000 and len(ids["name"]) > 500
    return ids


def test_no_marts_table_or_column_holds_an_email_phone_or_name(pipeline_run, input_ids):
    con = duckdb.connect()  # in memory; the warehouse attached read-only (temp tables need a writable db)
    con.execute(f"attach '{pipeline_run.database}' as wh (read_only)")
    con.execute("use wh")
    try:
        tables = con.execute("select count(*) from duckdb_tables() where schema_name = 'marts' and database_name = 'wh'").fetchall()[0][0]
        assert tables > 20
        con.execute("use memory")
        con.execute("create schema if not exists marts")
        for (table,) in con.execute("select table_name from duckdb_tables() where database_name = 'wh' and schema_name = 'marts'").fetchall():
            con.execute(f'create view marts."{table}" as select * from wh.marts."{table}"')
        assert _scan_schemas(con, ("marts",), input_ids) == []
        # the scanner itself finds PII where it is (pii schema): the test can fail
        con.execute("create schema if not exists pii")
        con.execute("create view pii.customer_contacts as select * from wh.pii.customer_contacts")
        assert _scan_schemas(con, ("pii",), input_ids)
    finally:
        con.close()


def test_serving_copy_has_no_pii_schema_and_no_pii(pipeline_run, input_ids):
    path = serving_path(pipeline_run.output)
    con = duckdb.connect()
    con.execute(f"attach '{path}' as srv (read_only)")
    try:
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_tables() where database_name = 'srv'").fetchall()}
        assert "pii" not in schemas and {"marts", "ref"} <= schemas
        for schema in schemas:
            con.execute(f"create schema if not exists memory.{schema}")
            for (table,) in con.execute("select table_name from duckdb_tables() where database_name = 'srv' and schema_name = $s",
                                        {"s": schema}).fetchall():
                con.execute(f'create view memory.{schema}."{table}" as select * from srv.{schema}."{table}"')
        con.execute("use memory")
        assert _scan_schemas(con, tuple(schemas), input_ids) == []
    finally:
        con.close()


def test_customer_identity_record_keys_are_salted_hashes_not_emails(pipeline_run):
    rows = dict(pipeline_run.query(
        "select source, count(*) filter (where record_key like '%@%') from marts.customer_identity group by source"))
    assert set(rows) >= {"email_events", "ab_assignments"} and sum(rows.values()) == 0
    # email events resolve through staging.email_events.recipient_key = salted hash of the email
    unmatched, total = pipeline_run.query(
        """select count(*) filter (where i.record_key is null), count(*) from staging.email_events e
           left join marts.customer_identity i on i.source = 'email_events' and i.record_key = e.recipient_key""")[0]
    assert total > 1000 and unmatched == 0
    email, key = pipeline_run.query("select email, recipient_key from staging.email_events limit 1")[0]
    assert key == pii_hash(email, DEMO_SALT)


def test_consent_is_the_latest_event_per_customer_and_purpose(pipeline_run):
    """Independent of the mart: per customer and purpose, the latest of the CRM opt-in/out, the email
    unsubscribes and the consent-file events (a withdrawal wins a tie) decides the status."""
    mismatches, checked = pipeline_run.query(
        """
        with ids as (select source, record_key, customer_key from marts.customer_identity where not is_anonymous),
        ev as (
            select ids.customer_key, 'email_marketing' as purpose,
                   case when c.marketing_opt_in then 1 else 0 end as granted,
                   coalesce(c.opt_in_changed_at, c.created_at) as event_at
            from staging.crm_contacts c join ids on ids.source = 'crm_contacts' and ids.record_key = c.contact_id::varchar
            where c.marketing_opt_in or c.opt_in_changed_at is not null
            union all
            select ids.customer_key, 'email_marketing', 0, e.occurred_at
            from staging.email_events e join ids on ids.source = 'email_events' and ids.record_key = e.recipient_key
            where e.event_type = 'unsubscribe'
            union all
            select distinct ids.customer_key, f.purpose, case f.status when 'granted' then 1 else 0 end, f.consented_at
            from staging.consents f
            join staging.identity_links l on l.id_type = f.id_type and l.id_value = f.identifier
            join ids using (source, record_key)
        ),
        expected as (
            select customer_key, purpose, arg_max(granted, [epoch(event_at), -granted]) as granted
            from ev where event_at < date '2026-11-21' group by all
        )
        select count(*) filter (where (c.status = 'granted')::int is distinct from e.granted), count(*)
        from expected e full join marts.customer_consent c using (customer_key, purpose)
        """)[0]
    assert checked > 1000 and mismatches == 0
    purposes = {r[0] for r in pipeline_run.query("select distinct purpose from marts.customer_consent")}
    assert purposes == {"email_marketing", "ad_targeting", "analytics"}
    # the consent file changes outcomes: some CRM opt-ins are overridden by a later withdrawal
    overridden = pipeline_run.query(
        "select count(*) from marts.customer_consent where decided_by = 'consent_file' and status = 'withdrawn'"
        " and purpose = 'email_marketing'")[0][0]
    assert overridden > 0


def test_audience_holds_only_consented_customers_and_exclusions_explain_the_rest(pipeline_run):
    not_granted = pipeline_run.query(
        """select count(*) from marts.audience a left join marts.customer_consent c
           on c.customer_key = a.customer_key and c.purpose = 'email_marketing'
           where c.status is distinct from 'granted'""")[0][0]
    assert not_granted == 0
    # every segmented customer is either in the audience or counted under exactly one reason
    rows = pipeline_run.query(
        """select s.segmentation, s.n, coalesce(a.n, 0), coalesce(x.n, 0)
           from (select segmentation, count(*) n from marts.customer_segments group by 1) s
           left join (select segmentation, count(*) n from marts.audience group by 1) a using (segmentation)
           left join (select segmentation, sum(customers) n from marts.audience_exclusions group by 1) x using (segmentation)""")
    assert rows and all(n == a + x for _, n, a, x in rows)
    reasons = {r[0] for r in pipeline_run.query("select distinct reason from marts.audience_exclusions")}
    assert {"no_consent_record", "withdrawn_consent_file", "no_usable_email"} <= reasons
    # the exported files hold exactly the audience, with the email from the restricted pii schema
    exported = duckdb.connect().execute(
        f"select count(*), count(distinct customer_key) from read_csv('{pipeline_run.output}/exports/rfm/*.csv')").fetchall()[0]
    assert exported[0] == pipeline_run.query("select count(*) from marts.audience where segmentation = 'rfm'")[0][0]


def test_export_metadata_reports_customers_left_out_by_reason(pipeline_run):
    mats = [m for m in pipeline_run.result.asset_materializations_for_node("marts__audience_exports")] or [
        e.event_specific_data.materialization for e in pipeline_run.result.all_events
        if e.is_step_materialization and e.event_specific_data.materialization.asset_key == dg.AssetKey(["marts", "audience_exports"])]
    meta = mats[0].metadata
    by_reason = meta["left_out_by_reason"].value
    expected = dict(pipeline_run.query("select reason, sum(customers)::int from marts.audience_exclusions group by 1"))
    assert by_reason == expected and meta["left_out_total"].value == sum(expected.values()) > 0
    assert meta["consent_purpose"].value == "email_marketing"


def test_optional_source_absent_gives_an_empty_table_with_contract_columns(tmp_path):
    from assets.ingest.raw import raw_assets
    from pipelines.resources import PipelineSettings, Warehouse

    (tmp_path / "landing").mkdir()
    asset = next(a for a in raw_assets if a.key == dg.AssetKey(["raw", "consents"]))
    result = dg.materialize([asset], resources={
        "settings": PipelineSettings(landing_dir=str(tmp_path / "landing"), output_dir=str(tmp_path / "out")),
        "warehouse": Warehouse(database=str(tmp_path / "w.duckdb"))})
    assert result.success
    meta = result.asset_materializations_for_node(asset.op.name)[0].metadata
    assert meta["file_present"].value is False and meta["dagster/row_count"].value == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    cols = [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'consents'").fetchall()]
    assert cols[:4] == ["identifier", "purpose", "status", "consented_at"]
    # a required source still fails without its file
    crm = next(a for a in raw_assets if a.key == dg.AssetKey(["raw", "crm_contacts"]))
    assert not dg.materialize([crm], raise_on_error=False, resources={
        "settings": PipelineSettings(landing_dir=str(tmp_path / "landing"), output_dir=str(tmp_path / "out")),
        "warehouse": Warehouse(database=str(tmp_path / "w2.duckdb"))}).success


def test_salt_comes_from_env_and_production_requires_it(monkeypatch):
    monkeypatch.delenv("SEG_PII_SALT", raising=False)
    monkeypatch.delenv("SEG_ENV", raising=False)
    assert pii_salt() == DEMO_SALT
    monkeypatch.setenv("SEG_ENV", "production")
    with pytest.raises(MissingSaltError, match="SEG_PII_SALT"):
        pii_salt()
    monkeypatch.setenv("SEG_PII_SALT", "short")
    with pytest.raises(MissingSaltError):
        pii_salt()
    monkeypatch.setenv("SEG_PII_SALT", "x" * 40)
    assert pii_salt() == "x" * 40
    # the SQL macro and the Python twin agree
    from pipelines.resources import read_sql
    con = duckdb.connect()
    con.execute(read_sql("macros.sql"))
    sql = con.execute("select pii_hash(' Ann@X.com ', $s)", {"s": "x" * 40}).fetchall()[0][0]
    assert sql == pii_hash("ann@x.com", "x" * 40) != pii_hash("ann@x.com", DEMO_SALT)
