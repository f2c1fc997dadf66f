"""Raw assets: one per landing-contract source (raw.<source>)."""

import dagster as dg

from assets.ingest.landing import create_empty, load_csv, load_parquet, resolve_files
from assets.privacy.erasure import pseudonymize_requests, suppress_malformed, suppress_raw
from pipelines.privacy import pii_salt
from pipelines.contract import Source, load_contract
from pipelines.resources import PipelineSettings, Warehouse


def raw_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", source.name],
        group_name="raw",
        kinds={"duckdb", source.format},
        description=(
            f"{source.description} Loaded as exported from `{source.file}` in the landing folder "
            f"(grain: one row per {'event' if source.format == 'parquet' else 'data line'} of the file). "
            "Columns renamed to canonical names; CSV values kept as text; unparseable lines go to "
            "quality.quarantine (rule malformed_row). Rows carrying an identifier on the erasure suppression "
            "list (quality.erasure_suppressions) are dropped at load."
            + (" Erasure requests are kept only as '<id_type>:<salted hash>' of the identifier."
               if source.name == "deletion_requests" else "")
            + (" Optional source: when the file is absent the table is created empty with the contract's columns."
               if source.optional else "")
        ),
        metadata={"landing_file": source.file, "system": source.system},
    )
    def _raw(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        contract_source = settings.sources()[source.name]
        files = resolve_files(contract_source, settings.landing_path)
        salt = pii_salt()
        with warehouse.connect() as con:
            if not files:
                stats = create_empty(con, contract_source, context.run_id)
                context.log.info(f"{source.name}: optional file {contract_source.file} absent; empty table created")
            elif contract_source.format == "csv":
                stats = load_csv(con, contract_source, files[0], context.run_id)
            else:
                stats = load_parquet(con, contract_source, files, context.run_id)
            suppressed = suppress_raw(con, source.name, salt)
            suppressed_malformed = suppress_malformed(con, source.name, salt)
            if source.name == "deletion_requests":
                pseudonymize_requests(con, salt)
        if stats.missing_optional or stats.extra_columns:
            context.log.warning(
                f"{source.name}: schema drift in {files[0].parent if files else settings.landing_path}: missing optional columns "
                f"{list(stats.missing_optional)}, new columns kept in _extra {list(stats.extra_columns)}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": stats.raw_rows - suppressed,
                "file_present": bool(files),
                "erasure_suppressed_rows": suppressed,
                "erasure_suppressed_malformed_lines": suppressed_malformed,
                "files": stats.files,
                "malformed_rows_quarantined": stats.malformed_rows,
                "missing_optional_columns": ", ".join(stats.missing_optional) or "none",
                "new_columns": ", ".join(stats.extra_columns) or "none",
            }
        )

    return _raw


raw_assets = [raw_asset(source) for source in load_contract().values()]
