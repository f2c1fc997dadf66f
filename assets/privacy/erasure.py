"""Erasure ("right to be forgotten"): suppression at ingest/staging plus a purge of what is persisted.

Design (docs/PRIVACY.md): a deletion request is resolved through the identity graph to the person's
customer key(s); the salted hashes of all their identifiers go to quality.erasure_suppressions. From
then on every raw and staging load drops rows carrying a suppressed identifier (`suppress_raw`,
`staging_filter`, `batch_suppression`), so downstream never sees them again, even when the source exports them again.
The run that first processes the request also purges what was already persisted: raw, staging,
quality.quarantine / defects, the identity tables and every table with a customer_key column (marts,
history, pii, features), then the lake's Parquet files (`purge_lake`, which also publishes the list
to the lake for the workers that write it). Other files (exports, report, Data Docs, serving copy)
are rewritten later in the same run from the purged tables.
"""
import json
from pathlib import Path

import duckdb

from assets.ingest.landing import quote_ident
from pipelines.lake import SUPPRESSION_FILE, day_files, parquet_relation, write_atomically

# Per source: the columns holding identifiers (canonical names, same in raw and staging). Derived
# staging tables that keep identifiers in their grain are listed too (they have no raw table): a row of
# staging.web_session_days carries a suppressed identifier exactly when its events did.
IDENTIFIER_COLUMNS: dict[str, tuple[str, ...]] = {
    "crm_contacts": ("contact_id", "email", "web_user_id"),
    "crm_orders": ("contact_id", "email"),
    "survey_responses": ("email",),
    "email_events": ("email",),
    "ab_assignments": ("email",),
    "web_events": ("user_id", "user_pseudo_id"),
    "web_session_days": ("user_id", "user_pseudo_id"),
    "consents": ("identifier",),
}
SUPPRESSED = "(select identifier_hash from quality.erasure_suppressions)"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def predicate(source: str, alias: str = "", inline_salt: str | None = None, relation: str | None = None) -> str | None:
    """SQL that is true for a row carrying a suppressed identifier (None: the source has none).
    With inline_salt the hash is spelled out (for persistent views, which cannot use temp macros);
    otherwise it uses the macro and the $pii_salt parameter. With relation (the table or view the
    rows come from) only the relation's distinct values of each identifier column are hashed, once,
    and rows are matched on the value: the same rows, without a SHA-256 per row (at 100M web
    events, two hashes per row took minutes; a column has about one distinct value per cookie)."""
    columns = IDENTIFIER_COLUMNS.get(source)
    if not columns:
        return None
    prefix = f"{alias}." if alias else ""
    if inline_salt is not None:
        salt = _sql_string(inline_salt)
        hashed = [f"sha256({salt} || ':' || lower(trim({prefix}{quote_ident(c)}::varchar)))" for c in columns]
    elif relation is not None:
        return "(" + " or ".join(
            f"{prefix}{quote_ident(c)}::varchar in (select v from (select distinct {quote_ident(c)}::varchar as v "
            f"from {relation}) where pii_hash(v, $pii_salt) in {SUPPRESSED})" for c in columns) + ")"
    else:
        hashed = [f"pii_hash({prefix}{quote_ident(c)}, $pii_salt)" for c in columns]
    return "(" + " or ".join(f"{h} in {SUPPRESSED}" for h in hashed) + ")"


def has_suppressions(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("select count(*) > 0 from quality.erasure_suppressions").fetchall()[0][0]


def suppress_raw(con: duckdb.DuckDBPyConnection, source: str, salt: str, scope: str | None = None,
                 count_hidden: bool = True) -> int:
    """Drop suppressed rows from raw.<source>: delete from a table; wrap a view (parquet) in a filter.
    Returns the rows removed (for a view: the rows it no longer shows, counted within `scope`, a SQL
    predicate on the view such as the run's partitions, so a daily run does not hash the history;
    not counted, 0, without count_hidden: at 100M events counting the whole history took 3 minutes)."""
    if source not in IDENTIFIER_COLUMNS or not has_suppressions(con):
        return 0
    name = f"raw.{quote_ident(source)}"
    kind = con.execute(
        "select table_type from information_schema.tables where table_schema = 'raw' and table_name = $t",
        {"t": source},
    ).fetchall()
    if not kind:
        return 0
    if kind[0][0] == "VIEW":
        scoped = f"(select * from {name} where {scope or 'true'})"
        hidden = con.execute(f"select count(*) from {scoped} where {predicate(source, relation=scoped)}",
                             {"pii_salt": salt}).fetchall()[0][0] if count_hidden else 0
        body = con.execute(
            "select sql from duckdb_views() where schema_name = 'raw' and view_name = $t", {"t": source}
        ).fetchall()[0][0]
        select = body[body.lower().index(" as ") + 4:].rstrip().rstrip(";")
        con.execute(
            f"create or replace view {name} as select * from ({select}) v "
            f"where not coalesce({predicate(source, 'v', inline_salt=salt)}, false)"  # a NULL id is no match
        )
        return hidden
    return con.execute(f"delete from {name} where {predicate(source, relation=name)}", {"pii_salt": salt}).fetchall()[0][0]


def suppress_malformed(con: duckdb.DuckDBPyConnection, source: str, salt: str) -> int:
    """Drop unparseable lines of raw.<source> kept in quality.quarantine when any comma-separated token
    of the line is a suppressed identifier."""
    if not has_suppressions(con):
        return 0
    return _delete(con, "quality.quarantine", f"table_name = $t and rule = 'malformed_row' and {MALFORMED_MATCH}",
                   {"t": source, "pii_salt": salt})


MALFORMED_MATCH = (
    "len(list_intersect(list_transform(string_split(original_row->>'text', ','), "
    "lambda t: pii_hash(trim(t, ' \"'), $pii_salt)), (select list(identifier_hash) from quality.erasure_suppressions))) > 0"
)


def pseudonymize_requests(con: duckdb.DuckDBPyConnection, salt: str) -> int:
    """raw.deletion_requests keeps the request, never the identifier: at load each identifier becomes
    '<id_type>:<salted hash>' (id_type email, crm_contact or invalid). Returns the rows rewritten."""
    return con.execute(
        """
        update raw.deletion_requests set identifier =
            case when is_valid_email(lower(trim(identifier))) then 'email'
                 when regexp_full_match(trim(identifier), '[0-9]+') then 'crm_contact'
                 else 'invalid' end
            || ':' || coalesce(pii_hash(identifier, $pii_salt), '')
        where identifier is not null
        """,
        {"pii_salt": salt},
    ).fetchall()[0][0]


def load_lake_suppressions(con: duckdb.DuckDBPyConnection, lake: Path) -> int:
    """Fill quality.erasure_suppressions of a scratch connection (a lake worker, which cannot open the
    warehouse) from the list the warehouse published to the lake; returns the identifiers loaded."""
    published = lake / SUPPRESSION_FILE
    if not published.exists():
        return 0
    return con.execute(f"insert into quality.erasure_suppressions select * from {parquet_relation([published])}"
                       ).fetchall()[0][0]


def remove_suppressed(con: duckdb.DuckDBPyConnection, source: str, files: list[Path], salt: str) -> int:
    """Rewrite each of the source's lake files that holds a row with a suppressed identifier without
    those rows (one scan finds the files); returns the rows removed."""
    if not files or source not in IDENTIFIER_COLUMNS or not has_suppressions(con):
        return 0
    relation = parquet_relation(files, filename=True)
    hits = con.execute(f"select filename, count(*) from {relation} where {predicate(source, relation=relation)} "
                       "group by filename", {"pii_salt": salt}).fetchall()
    for name, _ in hits:
        kept = parquet_relation([Path(name)])
        write_atomically(con, f"select * from {kept} where not coalesce({predicate(source, relation=kept)}, false)",
                         Path(name), {"pii_salt": salt})
    return sum(n for _, n in hits)


def purge_lake(con: duckdb.DuckDBPyConnection, lake: Path, salt: str, sources: tuple[str, ...]) -> int:
    """When the warehouse's suppression list differs from the one published to the lake: remove the
    suppressed rows from every lake file of `sources`, then publish the list (in that order, so a purge
    cut short is redone by the next run). Returns the rows removed."""
    published = lake / SUPPRESSION_FILE
    current = con.execute("select count(*) from quality.erasure_suppressions").fetchall()[0][0]
    known = con.execute(f"select count(*) from {parquet_relation([published])}").fetchall()[0][0] \
        if published.exists() else 0
    if current == known:
        return 0
    removed = sum(remove_suppressed(con, source, day_files(lake, source), salt) for source in sources)
    write_atomically(con, "select * from quality.erasure_suppressions order by identifier_hash", published)
    return removed


def staging_filter(source: str) -> str | None:
    """A `delete from _typed where ...` statement for the staging split, or None (hashes each distinct
    identifier of the batch once: on a month of 3.5M web events, 0.3 s instead of 2.1 s)."""
    p = predicate(source, relation="_typed")
    return f"delete from _typed where {p}" if p else None


def batch_suppression(con: duckdb.DuckDBPyConnection, source: str, relation: str, params: dict[str, object],
                      salt: str) -> str | None:
    """SQL true for a row of `relation` (a staging model run with `params`) carrying a suppressed
    identifier, or None when nothing is suppressed. The batch's distinct identifiers are hashed once,
    into the temp table _suppressed_values, so the predicate is a plain lookup in every later pass."""
    columns = IDENTIFIER_COLUMNS.get(source)
    if not columns or not has_suppressions(con):
        return None
    values = ", ".join(f"{quote_ident(c)}::varchar" for c in columns)
    con.execute(
        f"create or replace temp table _suppressed_values as select v from "
        f"(select distinct unnest([{values}]) as v from {relation}) where pii_hash(v, $pii_salt) in {SUPPRESSED}",
        {**params, "pii_salt": salt})
    return "(" + " or ".join(f"{quote_ident(c)}::varchar in (select v from _suppressed_values)" for c in columns) + ")"


# ----------------------------------------------------------------------------- processing requests

RESOLVE_SQL = """

create or replace temp table _requests as
select identifier_hash as request_hash, min(requested_at) as requested_at
from staging.deletion_requests group by identifier_hash;

create or replace temp table _usable_links as
select l.source, l.record_key, l.id_type, l.id_value
from staging.identity_links l
left join quality.identity_refusals r on r.id_type = l.id_type and r.id_value = l.id_value
where r.id_value is null and l.id_type in ('crm_contact', 'email', 'web_user', 'cookie');

-- the requested identifiers: each distinct contact id and email hashed once, not once per link
create or replace temp table _requested_values as
select v.id_type, v.id_value, r.request_hash
from (select distinct id_type, id_value from _usable_links where id_type in ('crm_contact', 'email')) v
join _requests r on r.request_hash = pii_hash(v.id_value, $pii_salt);

create or replace temp table _erased_customers as
select distinct v.request_hash, i.customer_key
from _requested_values v
join _usable_links l using (id_type, id_value)
join marts.customer_identity i on i.source = l.source and i.record_key = l.record_key;

create or replace temp table _erased_records as
select distinct i.source, i.record_key
from marts.customer_identity i where i.customer_key in (select customer_key from _erased_customers);

create or replace temp table _new_suppressions as
select distinct pii_hash(l.id_value, $pii_salt) as identifier_hash, l.id_type, e.request_hash
from _usable_links l
join marts.customer_identity i on i.source = l.source and i.record_key = l.record_key
join _erased_customers e on e.customer_key = i.customer_key
union
select request_hash, 'request', request_hash from _requests;
"""


def _delete(con, table: str, where: str, params: dict | None = None) -> int:
    return con.execute(f"delete from {table} where {where}", params or {}).fetchall()[0][0]


def _purge(con: duckdb.DuckDBPyConnection, salt: str) -> dict[str, int]:
    """Delete every persisted row of the erased people (temp tables of RESOLVE_SQL must exist): raw,
    staging, quarantine and defects, the identity graph, and every table keyed by customer_key.
    Returns the rows removed per table."""
    removed: dict[str, int] = {}

    def count(table: str, rows: int) -> None:
        if rows:
            removed[table] = removed.get(table, 0) + int(rows)

    # raw and staging: rows carrying a suppressed identifier (record keys kept first for quality.defects).
    # Rows hidden in a raw Parquet view are not counted (a scan of the whole history): the staged rows
    # removed say how many there were.
    con.execute("create or replace temp table _erased_row_keys (table_name varchar, record_key varchar)")
    for source in IDENTIFIER_COLUMNS:
        count(f"raw.{source}", suppress_raw(con, source, salt, count_hidden=False))
        if con.execute("select count(*) from duckdb_tables() where schema_name = 'staging' and table_name = $t",
                       {"t": source}).fetchall()[0][0]:
            staged = f"staging.{quote_ident(source)}"
            has_key = con.execute(
                "select count(*) from duckdb_columns() where schema_name = 'staging' and table_name = $t"
                " and column_name = '_record_key'", {"t": source}).fetchall()[0][0]
            # one pass over the table finds the rows; keys and delete then go by row id
            con.execute(f"create or replace temp table _erased_rowids as select rowid as row_id from {staged} "
                        f"where {predicate(source, relation=staged)}", {"pii_salt": salt})
            if con.execute("select count(*) from _erased_rowids").fetchall()[0][0]:
                if has_key:
                    con.execute(f"insert into _erased_row_keys select $t, _record_key from {staged} "
                                f"where rowid in (select row_id from _erased_rowids)", {"t": source})
                count(f"staging.{source}", _delete(con, staged, "rowid in (select row_id from _erased_rowids)"))

    # quarantine keeps original rows: any field (or, for unparseable lines, any comma-separated token)
    field_hashes = " or ".join(
        f"(table_name = {_sql_string(s)} and pii_hash(original_row->>{_sql_string(c)}, $pii_salt) in {SUPPRESSED})"
        for s, cols in IDENTIFIER_COLUMNS.items() for c in cols
    )
    count("quality.quarantine", _delete(con, "quality.quarantine", f"""
        ({field_hashes})
        or (rule = 'malformed_row' and {MALFORMED_MATCH})
        or (table_name, record_key) in (select table_name, record_key from _erased_row_keys)
    """, {"pii_salt": salt}))
    count("quality.defects", _delete(con, "quality.defects", f"""
        pii_hash(original_value, $pii_salt) in {SUPPRESSED}
        or (table_name, record_key) in (select table_name, record_key from _erased_row_keys)
        or (table_name, record_key) in (select source, record_key from _erased_records)
    """, {"pii_salt": salt}))

    # identity graph
    count("staging.identity_links", _delete(con, "staging.identity_links",
          "(source, record_key) in (select source, record_key from _erased_records)"))
    con.execute("""
        create or replace temp table _orphan_nodes as
        select node_id from staging.identity_nodes n
        anti join staging.identity_links l on l.id_type = n.id_type and l.id_value = n.id_value
    """)
    count("staging.identity_edges", _delete(con, "staging.identity_edges",
          "a in (select node_id from _orphan_nodes) or b in (select node_id from _orphan_nodes)"))
    count("staging.identity_components", _delete(con, "staging.identity_components",
          "node_id in (select node_id from _orphan_nodes)"))
    count("staging.identity_nodes", _delete(con, "staging.identity_nodes", "node_id in (select node_id from _orphan_nodes)"))
    count("quality.identity_refusals", _delete(con, "quality.identity_refusals",
          f"pii_hash(id_value, $pii_salt) in {SUPPRESSED}", {"pii_salt": salt}))

    # every persisted table keyed by customer_key (marts incl. history, pii, features, scores)
    for schema, table in con.execute(
        "select distinct c.schema_name, c.table_name from duckdb_columns() c join duckdb_tables() t"
        " on t.schema_name = c.schema_name and t.table_name = c.table_name and t.database_name = c.database_name"
        " where c.database_name = current_database() and c.column_name = 'customer_key' and not t.temporary"
        " order by all"
    ).fetchall():
        count(f"{schema}.{table}", _delete(con, f"{quote_ident(schema)}.{quote_ident(table)}",
                                           "customer_key in (select customer_key from _erased_customers)"))
    return removed


def process_erasure(con: duckdb.DuckDBPyConnection, salt: str, run_id: str) -> dict[str, object]:
    """Resolve the deletion requests through the identity graph (marts.customer_identity must be built),
    extend the suppression list and purge every persisted row of the erased people. Runs inside the
    caller's transaction. Returns a summary for the asset metadata."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'staging' and table_name = 'deletion_requests'"
    ).fetchall()[0][0]
    if not exists or not con.execute("select count(*) from staging.deletion_requests").fetchall()[0][0]:
        return {"requests": 0, "customers_erased": 0, "rows_removed": 0}
    for statement in filter(str.strip, RESOLVE_SQL.split(";")):
        con.execute(statement, {"pii_salt": salt} if "$pii_salt" in statement else {})
    added = con.execute(
        """
        insert into quality.erasure_suppressions
        select n.identifier_hash, n.id_type, n.request_hash, now()
        from _new_suppressions n
        anti join quality.erasure_suppressions s on s.identifier_hash = n.identifier_hash
        """
    ).fetchall()[0][0]
    # Nothing newly suppressed: every load of this run already dropped the suppressed rows and every
    # table since was rebuilt from them, so there is nothing left to purge (a scan of every table
    # saved: minutes at 100M events).
    removed = _purge(con, salt) if added else {}

    requests, customers = con.execute(
        "select (select count(*) from _requests), (select count(distinct customer_key) from _erased_customers)"
    ).fetchall()[0]
    con.execute(
        """
        insert into quality.erasure_audit
        select r.request_hash, r.requested_at, now(), $run_id,
               (select count(distinct customer_key) from _erased_customers e where e.request_hash = r.request_hash),
               (select count(*) from _new_suppressions n where n.request_hash = r.request_hash),
               $rows, $by_table::json
        from _requests r
        """,
        {"run_id": run_id, "rows": sum(removed.values()), "by_table": json.dumps(removed, sort_keys=True)},
    )
    for t in ("_requests", "_usable_links", "_requested_values", "_erased_customers", "_erased_records", "_new_suppressions",
              "_erased_row_keys", "_erased_rowids", "_orphan_nodes"):
        con.execute(f"drop table if exists {t}")
    return {"requests": requests, "customers_erased": customers, "rows_removed": sum(removed.values()),
            "rows_removed_by_table": removed}

