"""Raw assets: one per landing-contract source (raw.<source>)."""

import dagster as dg

from assets.ingest.landing import load_csv, load_parquet, resolve_files
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
            "quality.quarantine (rule malformed_row)."
        ),
        metadata={"landing_file": source.file, "system": source.system},
    )
    def _raw(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        contract_source = settings.sources()[source.name]
        files = resolve_files(contract_source, settings.landing_path)
        with warehouse.connect() as con:
            if contract_source.format == "csv":
                stats = load_csv(con, contract_source, files[0], context.run_id)
            else:
                stats = load_parquet(con, contract_source, files, context.run_id)
        if stats.missing_optional or stats.extra_columns:
            context.log.warning(
                f"{source.name}: schema drift in {files[0].parent}: missing optional columns "
                f"{list(stats.missing_optional)}, new columns kept in _extra {list(stats.extra_columns)}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": stats.raw_rows,
                "files": stats.files,
                "malformed_rows_quarantined": stats.malformed_rows,
                "missing_optional_columns": ", ".join(stats.missing_optional) or "none",
                "new_columns": ", ".join(stats.extra_columns) or "none",
            }
        )

    return _raw


raw_assets = [raw_asset(source) for source in load_contract().values()]
