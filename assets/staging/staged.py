"""Staged assets: one per landing-contract source (staging.<source>)."""

import dagster as dg

from assets.ingest.landing import quote_ident
from assets.sql_model import model_description, model_params
from assets.privacy.erasure import has_suppressions, staging_filter
from pipelines.contract import Source, load_contract
from pipelines.privacy import pii_salt
from pipelines.resources import PipelineSettings, Warehouse, read_sql

# Staging models that read other staged tables (besides their own raw table).
EXTRA_DEPS: dict[str, list[list[str]]] = {
    "crm_orders": [["staging", "fx_rates"], ["ref", "currencies"], ["ref", "blocked_identifiers"]],
    "ad_spend": [["staging", "fx_rates"], ["ref", "currencies"]],
    "fx_rates": [["ref", "currencies"]],
    "crm_contacts": [["ref", "countries"], ["ref", "blocked_identifiers"]],
    "web_events": [["ref", "countries"]],
    "survey_responses": [["ref", "blocked_identifiers"]],
    "email_events": [["staging", "campaigns"]],
    "ab_assignments": [["staging", "experiments"]],
    "consents": [["ref", "blocked_identifiers"]],
}
BOOKKEEPING = ("_reject_rule", "_reject_reason", "_defects", "_row_id", "_source_file")


def stage(con, source: Source, params: dict[str, object]) -> dict[str, int]:
    """Split the staging model's rows into staging.<source>, quality.quarantine and quality.defects,
    in one transaction so a failure leaves the previous version of all three. Rows carrying an
    identifier on the erasure suppression list are dropped first (they reach none of the three).
    params: as_of and pii_salt."""
    params = {"pii_salt": pii_salt(), **params}
    sql = read_sql(f"staging/{source.name}.sql")
    table = quote_ident(source.name)
    con.execute("begin transaction")
    con.execute(f"create or replace temp table _typed as\n{sql}", model_params(sql, params))
    suppress = staging_filter(source.name) if has_suppressions(con) else None  # no hashing cost when empty
    erased = con.execute(suppress, {"pii_salt": params["pii_salt"]}).fetchall()[0][0] if suppress else 0
    con.execute(
        f"create or replace table staging.{table} as select * exclude ({', '.join(BOOKKEEPING)}) "
        "from _typed where _reject_rule is null order by _row_id"
    )
    con.execute(
        "delete from quality.quarantine where table_name = $t and rule != 'malformed_row'", {"t": source.name}
    )
    con.execute(
        f"""
        insert into quality.quarantine
        select $system, $t, t._record_key, to_json(r), t._reject_rule, t._reject_reason, t._load_id, now()
        from _typed t
        join raw.{table} r on r._row_id = t._row_id and r._source_file = t._source_file
        where t._reject_rule is not null
        order by t._source_file, t._row_id
        """,
        {"system": source.system, "t": source.name},
    )
    con.execute("delete from quality.defects where table_name = $t", {"t": source.name})
    con.execute(
        """
        insert into quality.defects
        select $t, _record_key, d.column_name, d.rule, d.original_value, _load_id, now()
        from (select _record_key, _load_id, _row_id, _source_file, unnest(_defects) as d
              from _typed where _reject_rule is null)
        order by _source_file, _row_id, d.column_name
        """,
        {"t": source.name},
    )
    counts = con.execute(
        """
        select count(*) filter (where _reject_rule is null),
               count(*) filter (where _reject_rule is not null),
               coalesce(sum(len(_defects)) filter (where _reject_rule is null), 0)
        from _typed
        """
    ).fetchall()[0]
    con.execute("drop table _typed")
    con.execute("commit")
    return {"staged_rows": counts[0], "quarantined_rows": counts[1], "defects": int(counts[2]),
            "erasure_suppressed_rows": int(erased)}


def staged_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        key=["staging", source.name],
        group_name="staging",
        kinds={"duckdb", "sql"},
        deps=[["raw", source.name], *EXTRA_DEPS.get(source.name, [])],
        description=model_description(f"staging/{source.name}.sql"),
        metadata={"sql": f"sql/staging/{source.name}.sql"},
    )
    def _staged(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            counts = stage(con, source, {"as_of": settings.as_of_date, "pii_salt": pii_salt()})
            by_rule = con.execute(
                "select rule, count(*) from quality.quarantine where table_name = $t group by rule order by rule",
                {"t": source.name},
            ).fetchall()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": counts["staged_rows"],
                **counts,
                "quarantine_by_rule": dg.MetadataValue.json(dict(by_rule)),
            }
        )

    return _staged


staged_assets = [staged_asset(source) for source in load_contract().values()]
