"""Raw assets: one per landing-contract source (raw.<source>).

Every landed file is looked up in the load ledger (quality.load_ledger) first: a file whose content
the warehouse already holds is not loaded again, a changed file is reloaded and reported. Sources
the contract marks daily-partitioned (web_events, email_events) are daily-partitioned assets: a run
loads (Parquet: registers) the days it is asked for.
"""

import dataclasses

import dagster as dg

from assets.ingest import ledger
from assets.ingest.landing import (LoadStats, create_empty, load_csv, load_csv_days, load_parquet, quote_ident,
                                   resolve_files)
from assets.privacy.erasure import pseudonymize_requests, suppress_malformed, suppress_raw
from pipelines.contract import Source, load_contract
from pipelines.partitions import DayRange, backfill_policy, daily_partitions, file_day, files_for
from pipelines.privacy import pii_salt
from pipelines.resources import PipelineSettings, Warehouse


def _description(source: Source) -> str:
    return (
        f"{source.description} Loaded as exported from `{source.file}` in the landing folder "
        f"(grain: one row per {'event' if source.format == 'parquet' else 'data line'} of the file). "
        "Columns renamed to canonical names; new columns kept as JSON in `_extra`; "
        + ("a view over the Parquet files (nothing copied). " if source.format == "parquet"
           else "CSV values kept as text; unparseable lines go to quality.quarantine (rule malformed_row). ")
        + "Every file is recorded in quality.load_ledger (size, SHA-256, rows, run): a file already loaded "
          "with the same content is not loaded again; a changed file is reloaded and reported. "
        + ("Daily-partitioned by the day in the file name (`_partition_date`): a run "
           + ("registers" if source.format == "parquet" else "replaces the rows of") + " the days it is asked for. "
           if source.partitioned else "")
        + "Rows carrying an identifier on the erasure suppression list (quality.erasure_suppressions) are "
          "dropped at load."
        + (" Erasure requests are kept only as '<id_type>:<salted hash>' of the identifier."
           if source.name == "deletion_requests" else "")
        + (" Optional source: when the file is absent the table is created empty with the contract's columns."
           if source.optional else "")
    )


def _table_exists(con, source: Source) -> bool:
    return bool(con.execute(
        "select 1 from information_schema.tables where table_schema = 'raw' and table_name = $t", {"t": source.name}
    ).fetchall())


def _load(context: dg.AssetExecutionContext, con, source: Source, settings: PipelineSettings):
    """Load what the ledger says needs loading; returns the stats and the ledger plan."""
    files = resolve_files(source, settings.landing_path)
    if source.partitioned:
        days = DayRange.of(context)
        files = files_for(source, files, days)
        context.log.info(f"{source.name}: {len(files)} file(s) for {days}")
    if not files:
        context.log.info(f"{source.name}: optional file {source.file} absent; empty table created")
        return create_empty(con, source, context.run_id), []
    plan = ledger.plan(con, source, files, {f: str(file_day(source, f)) for f in files} if source.partitioned else None)
    if source.format == "parquet":
        return load_parquet(con, source, plan, context.run_id), plan
    if not _table_exists(con, source):  # files the ledger knows, but their table is gone: load them again
        plan = [f if f.needs_load else dataclasses.replace(f, action=ledger.RELOADED, detail="raw table missing; loaded again")
                for f in plan]
    if source.partitioned:
        return load_csv_days(con, source, plan, context.run_id), plan
    load = plan[0]
    if load.needs_load:
        return load_csv(con, source, load, context.run_id), [load]
    ledger.record(con, source, [load], {}, context.run_id)
    return LoadStats(1, 0, 0, (), ()), [load]


def raw_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", source.name],
        group_name="raw",
        kinds={"duckdb", source.format},
        description=_description(source),
        metadata={"landing_file": source.file, "system": source.system},
        partitions_def=daily_partitions if source.partitioned else None,
        backfill_policy=backfill_policy if source.partitioned else None,
    )
    def _raw(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        contract_source = settings.sources()[source.name]
        salt = pii_salt()
        with warehouse.connect() as con:
            stats, plan = _load(context, con, contract_source, settings)
            scope = DayRange.of(context).sql("_partition_date") if source.partitioned else None
            suppressed = suppress_raw(con, source.name, salt, scope)
            suppressed_malformed = suppress_malformed(con, source.name, salt)
            if source.name == "deletion_requests" and stats.raw_rows:  # freshly loaded rows only
                pseudonymize_requests(con, salt)
            # a partitioned source counts the run's days: the raw view then reads only their files
            rows = con.execute(
                f"select count(*) from raw.{quote_ident(source.name)} where {scope or 'true'}").fetchall()[0][0]
        for load in plan:
            if load.action == ledger.RELOADED:
                context.log.warning(f"{source.name}: {load.path} reloaded: {load.detail}")
        if stats.missing_optional or stats.extra_columns:
            context.log.warning(
                f"{source.name}: schema drift in {settings.landing_path / source.file}: missing optional columns "
                f"{list(stats.missing_optional)}, new columns kept in _extra {list(stats.extra_columns)}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "rows_loaded": stats.raw_rows,
                "file_present": bool(plan),
                "files": len(plan),
                **{f"files_{action}": n for action, n in ledger.summary(plan).items()},
                # per-file detail is in quality.load_ledger; a range run repeats this metadata per day
                **({} if source.partitioned else {"ledger": dg.MetadataValue.json(
                    [{"file": str(f.path), "action": f.action, "detail": f.detail, "sha256": f.content_hash}
                     for f in plan])}),
                "erasure_suppressed_rows": suppressed,
                "erasure_suppressed_malformed_lines": suppressed_malformed,
                "malformed_rows_quarantined": stats.malformed_rows,
                "missing_optional_columns": ", ".join(stats.missing_optional) or "none",
                "new_columns": ", ".join(stats.extra_columns) or "none",
            }
        )

    return _raw


raw_assets = [raw_asset(source) for source in load_contract().values()]
