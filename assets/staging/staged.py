"""Staged assets: one per landing-contract source (staging.<source>)."""

import dagster as dg

from assets.ingest.landing import quote_ident
from assets.sql_model import model_description, model_params
from assets.lake.web_events import SOURCE as LAKE_SOURCE, lake_files, lake_rows
from pipelines.lake import lake_enabled
from assets.privacy.erasure import batch_suppression, remove_suppressed
from pipelines.contract import Source, load_contract
from pipelines.partitions import DayRange, backfill_policy, daily_partitions, max_days_per_transaction
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


def stage(con, source: Source, params: dict[str, object], days: DayRange | None = None,
          rows_sql: str | None = None) -> dict[str, int]:
    """Split the staging model's rows into staging.<source>, quality.quarantine and quality.defects,
    in one transaction so a failure leaves the previous version of all three. Rows carrying an
    identifier on the erasure suppression list are dropped first (they reach none of the three).
    A daily-partitioned source stages `days` only and replaces exactly those days in the three tables.
    params: as_of, pii_salt and load_id. rows_sql: the model's rows computed elsewhere (the lake files
    of a source a worker stages), instead of running sql/staging/<source>.sql here.

    The model's rows are never materialized whole: the clean rows go straight to the staging table and
    a second pass keeps only the exceptions (rejected, with defects, erased), which are few. Writing
    every row to a temp table first cost 9 s of 22 s at 10M web events; a pass of the model costs 2 s."""
    params = {"pii_salt": pii_salt(), **params}
    if days is not None:
        params |= {"partition_start": days.first, "partition_end": days.last}
    sql = rows_sql or read_sql(f"staging/{source.name}.sql")
    args = model_params(sql, params)
    model = f"(\n{sql}\n) as model"
    table = quote_ident(source.name)
    con.execute("begin transaction")
    erased = batch_suppression(con, source.name, model, args, params["pii_salt"])
    erased = f"coalesce({erased}, false)" if erased else "false"
    clean = f"select * exclude ({', '.join(BOOKKEEPING)}) from {model} where _reject_rule is null and not {erased}"
    if days is None or replaces_whole_table(con, table, days):
        staged = con.execute(f"create or replace table staging.{table} as {clean}", args).fetchall()[0][0]
    else:
        check_same_columns(con, table, model, args)
        con.execute(f"delete from staging.{table} where {days.sql('_partition_date')}")
        staged = con.execute(f"insert into staging.{table} by name {clean}", args).fetchall()[0][0]
    # only what quarantine and defects need, so the pass skips computing the other columns
    kept = ", ".join(("_record_key", "_load_id", *BOOKKEEPING, *(["_partition_date"] if days else [])))
    con.execute(
        f"create or replace temp table _exceptions as select {kept}, {erased} as _erased from {model} "
        f"where _reject_rule is not null or len(_defects) > 0 or {erased}", args)
    in_run = days.sql("partition_key::date") if days else "true"
    con.execute(
        f"delete from quality.quarantine where table_name = $t and rule != 'malformed_row' and {in_run}",
        {"t": source.name},
    )
    partition = "t._partition_date::varchar" if days else "null"
    con.execute(
        f"""
        insert into quality.quarantine
        select $system, $t, t._record_key, to_json(r), t._reject_rule, t._reject_reason, t._load_id, now(), {partition}
        from _exceptions t
        join raw.{table} r on r._row_id = t._row_id and r._source_file = t._source_file
        where t._reject_rule is not null and not t._erased {f"and {days.sql('r._partition_date')}" if days else ""}
        order by t._source_file, t._row_id
        """,
        {"system": source.system, "t": source.name},
    )
    con.execute(f"delete from quality.defects where table_name = $t and {in_run}", {"t": source.name})
    con.execute(
        f"""
        insert into quality.defects
        select $t, _record_key, d.column_name, d.rule, d.original_value, _load_id, now(), _partition_date::varchar
        from (select _record_key, _load_id, _row_id, _source_file, {"_partition_date" if days else "null"} as _partition_date,
                     unnest(_defects) as d
              from _exceptions where _reject_rule is null and not _erased)
        order by _source_file, _row_id, d.column_name
        """,
        {"t": source.name},
    )
    quarantined, defects, erased_rows = con.execute(
        """
        select count(*) filter (where _reject_rule is not null and not _erased),
               coalesce(sum(len(_defects)) filter (where _reject_rule is null and not _erased), 0),
               count(*) filter (where _erased)
        from _exceptions
        """
    ).fetchall()[0]
    con.execute("drop table _exceptions")
    con.execute("commit")
    return {"staged_rows": staged, "quarantined_rows": quarantined, "defects": int(defects),
            "erasure_suppressed_rows": int(erased_rows)}


def replaces_whole_table(con, table: str, days: DayRange) -> bool:
    """True when the table does not exist yet or holds no day outside `days` (a full backfill):
    rebuilding it is then cheaper than deleting every row."""
    exists = con.execute(
        "select 1 from duckdb_tables() where schema_name = 'staging' and table_name = $t", {"t": table.strip('"')}
    ).fetchall()
    return not exists or not con.execute(
        f"select count(*) from staging.{table} where not ({days.sql('_partition_date')})"
    ).fetchall()[0][0]


def check_same_columns(con, table: str, model: str, args: dict[str, object]) -> None:
    """A partition insert needs the columns of `model` (a parenthesized query, run with `args`) to
    match the table's: after a change to the model, the table must be rebuilt over every day (a
    backfill of the whole range)."""
    con.execute(f"create or replace temp table _model_columns as select * from {model} limit 0", args)

    def columns(relation: str) -> list[tuple[str, str]]:
        return con.execute(f"select column_name, column_type from (describe {relation})").fetchall()

    model_columns = [c for c in columns("_model_columns") if c[0] not in BOOKKEEPING]
    stored = columns(f"staging.{table}")
    con.execute("drop table _model_columns")
    if sorted(model_columns) != sorted(stored):
        raise ValueError(
            f"staging.{table}: the staging model's columns changed ({sorted(set(model_columns) ^ set(stored))}); "
            "rerun it over every landed day (backfill the whole partition range) so the table is rebuilt"
        )


def staged_asset(source: Source, from_lake: bool = False) -> dg.AssetsDefinition:
    """staging.<source>; from_lake: load the days lake.<source> wrote (the model ran there, in workers)."""
    @dg.asset(
        key=["staging", source.name],
        group_name="staging",
        kinds={"duckdb", "sql"},
        deps=[["raw", source.name], *([["lake", source.name]] if from_lake else EXTRA_DEPS.get(source.name, []))],
        description=model_description(f"staging/{source.name}.sql"),
        metadata={"sql": f"sql/staging/{source.name}.sql"},
        partitions_def=daily_partitions if source.partitioned else None,
        backfill_policy=backfill_policy if source.partitioned else None,
    )
    def _staged(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            days = DayRange.of(context) if source.partitioned else None
            params = {"as_of": settings.as_of_date, "pii_salt": pii_salt(), "load_id": context.run_id}
            counts: dict[str, int] = {}
            # a long range (a backfill) is staged in chunks of days, one transaction each, so the
            # working set stays bounded; every chunk replaces exactly its days
            for chunk in (days.chunks(max_days_per_transaction()) if days else [None]):
                staged = stage(con, source, params, chunk, lake_rows(settings, chunk) if from_lake else None)
                for name, value in staged.items():
                    counts[name] = counts.get(name, 0) + value
                if from_lake and staged["erasure_suppressed_rows"]:
                    # a worker staged these days before the suppression list it read was extended
                    remove_suppressed(con, source.name, lake_files(settings, chunk), params["pii_salt"])
            by_rule = con.execute(
                "select rule, count(*) from quality.quarantine where table_name = $t group by rule order by rule",
                {"t": source.name},
            ).fetchall()
            rows = con.execute(f"select count(*) from staging.{quote_ident(source.name)}").fetchall()[0][0]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                **({"days": str(days)} if days else {}),
                **counts,
                "quarantine_by_rule": dg.MetadataValue.json(dict(by_rule)),
            }
        )

    return _staged


staged_assets = [staged_asset(source, from_lake=source.name == LAKE_SOURCE and lake_enabled())
                 for source in load_contract().values()]
