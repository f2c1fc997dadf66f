"""The expectation suites (quality/suites/) as Dagster asset checks on the staged tables.

One multi-asset check validates every staged table in one Great Expectations context (one GX import per
process, one DuckDB connection, one Data Docs build; see quality.gx_runner.validate_tables) and reports
two checks per table:

* ``gx_critical`` (blocking): schema, keys and referential integrity. Referential checks pass while the
  orphan share stays within config/pipeline.yaml quality.max_orphan_rate.
* ``gx_warnings`` (severity WARN): accuracy, freshness and volume.

Metadata: failing expectations with unexpected counts and samples, and the path of the rendered Data Docs
(<output>/data_docs/index.html).
"""
from typing import Any

import dagster as dg

from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse
from quality.suites import TABLES, SuiteContext, suite_module, suite_name

CRITICAL, WARNINGS = "gx_critical", "gx_warnings"

# Dagster plans the blocking and the warning checks of this multi-check as separate steps; both read
# the same validation, so it runs once per run and table and is kept here for the other step.
_validations: dict[tuple[str, str, str], Any] = {}


# Staged tables a suite's referential expectations read: its checks must wait until they are rebuilt,
# or a rerun validates new orders against the previous run's contacts (seen: a blocking failure).
REFERENCED_TABLES: dict[str, list[list[str]]] = {
    "crm_orders": [["staging", "crm_contacts"]],
    "email_events": [["staging", "campaigns"]],
    "ad_spend": [["staging", "campaigns"]],
    "ab_assignments": [["staging", "experiments"]],
}


def suite_context(settings: PipelineSettings) -> SuiteContext:
    config = pipeline_config()["quality"]
    return SuiteContext(
        as_of=settings.as_of_date,
        freshness_max_age_days=int(config["freshness_max_age_days"]),
        max_orphan_rate={k: float(v) for k, v in config["max_orphan_rate"].items()},
    )


def failing(outcome, row_count: int | None) -> bool:
    """An expectation fails the check: GX's verdict, except that a referential query check with a
    max_unexpected_rate passes while unexpected rows / table rows stay within it."""
    rate = outcome.meta.get("max_unexpected_rate")
    if outcome.exception:
        return True
    if rate is not None and outcome.expectation_type == "unexpected_rows_expectation":
        unexpected = int(outcome.observed_value or 0)
        return row_count is None or (unexpected > rate * row_count if row_count else unexpected > 0)
    return not outcome.success


def query_sample(con, outcome, table: str, limit: int = 10) -> list[str]:
    """A few unexpected rows of a query expectation (GX returns only their count below COMPLETE):
    the expectation's own query, run once more in DuckDB with a limit, only when it failed."""
    query = outcome.kwargs.get("unexpected_rows_query")
    if con is None or not query:
        return []
    rows = con.execute(f"select * from ({query.replace('{batch}', table)}) limit {int(limit)}").fetchall()
    return [str(r[0]) if len(r) == 1 else str(r) for r in rows]


def _describe(outcome, row_count: int | None, con=None, table: str = "") -> dict[str, Any]:
    unexpected = outcome.unexpected_count
    sample = [str(v) for v in outcome.partial_unexpected_list[:10]]
    if outcome.expectation_type == "unexpected_rows_expectation":
        unexpected = outcome.observed_value
        if unexpected and not outcome.exception:
            sample = query_sample(con, outcome, table)
    return {
        "expectation": outcome.expectation_type,
        "columns": list(outcome.columns) or outcome.meta.get("columns") or [],
        "dimension": outcome.meta.get("dimension"),
        "failed": failing(outcome, row_count),
        "unexpected_count": unexpected,
        "unexpected_percent": outcome.unexpected_percent,
        "unexpected_sample": sample,
        "observed_value": None if outcome.observed_value is None else str(outcome.observed_value),
        **({"threshold": outcome.meta["max_unexpected_rate"]} if "max_unexpected_rate" in outcome.meta else {}),
        **({"error": outcome.exception} if outcome.exception else {}),
    }


def check_results(validation, docs_path, con=None) -> tuple[dg.AssetCheckResult, dg.AssetCheckResult]:
    """The blocking (critical) and warning results of one table's validation."""
    table = validation.table.split(".")[-1]
    rows = next((r.observed_value for r in validation.results if r.expectation_type == "expect_table_row_count_to_be_between"), None)
    results = []
    for check, critical in ((CRITICAL, True), (WARNINGS, False)):
        mine = [r for r in validation.results if bool(r.meta.get("critical")) == critical]
        described = [_describe(r, rows, con, validation.table) for r in mine]
        failed = [d for d in described if d["failed"]]
        results.append(dg.AssetCheckResult(
            asset_key=["staging", table],
            check_name=check,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
            metadata={
                "expectations": len(described),
                "failed_expectations": len(failed),
                "rows": rows,
                "failures": dg.MetadataValue.json(failed),
                "unexpected_counts": dg.MetadataValue.json(
                    {f"{d['expectation']}({','.join(d['columns'])})": d["unexpected_count"] for d in described
                     if d["unexpected_count"]}),
                "data_docs": dg.MetadataValue.path(str(docs_path)),
                "validation_seconds": round(validation.seconds, 3),
            },
        ))
    return results[0], results[1]


def run_suites(database_path, ctx: SuiteContext, docs_dir, tables=TABLES, result_format="SUMMARY"):
    from quality.gx_runner import validate_tables

    suites = [(f"staging.{t}", suite_module(t).expectations(ctx), suite_name(t)) for t in tables]
    return validate_tables(database_path, suites, docs_dir, result_format)


@dg.multi_asset_check(
    specs=[
        spec
        for table in TABLES
        for spec in (
            dg.AssetCheckSpec(CRITICAL, asset=["staging", table], blocking=True,
                              additional_deps=REFERENCED_TABLES.get(table, []),
                              description=f"Great Expectations suite {suite_name(table)} (quality/suites/{table}.py), "
                                          "critical part: schema, keys, referential integrity within "
                                          "quality.max_orphan_rate. Blocks downstream assets."),
            dg.AssetCheckSpec(WARNINGS, asset=["staging", table],
                              additional_deps=REFERENCED_TABLES.get(table, []),
                              description=f"Great Expectations suite {suite_name(table)}: accuracy (syntax, codes, "
                                          "ranges, dates), freshness (quality.freshness_max_age_days) and volume; "
                                          "warns."),
        )
    ],
    can_subset=True,
    name="staged_table_expectations",
)
def staged_table_expectations(context: dg.AssetCheckExecutionContext, settings: PipelineSettings,
                              warehouse: Warehouse):
    selected = context.selected_asset_check_keys
    tables = [t for t in TABLES if any(k.asset_key.path == ["staging", t] for k in selected)]
    docs_dir = settings.output_path / "data_docs"
    run = (context.run.run_id, str(warehouse.path))
    for key in [k for k in _validations if k[:2] != run]:
        del _validations[key]  # keep only the current run's validations
    if any((*run, t) not in _validations for t in tables):
        # validate every staged table present (one GX pass, one Data Docs index listing all suites);
        # the other step of this run reuses the results
        with warehouse.connect() as con:
            present = {r[0] for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'staging'").fetchall()}
        for validation in run_suites(warehouse.path, suite_context(settings), docs_dir,
                                     [t for t in TABLES if t in present or t in tables]):
            _validations[(*run, validation.table.split(".")[-1])] = validation
    validations = [_validations[(*run, t)] for t in tables]
    with warehouse.connect() as con:
        for validation in validations:
            docs = validation.data_docs_index or docs_dir / "index.html"
            for result in check_results(validation, docs, con):
                key = dg.AssetCheckKey(dg.AssetKey(["staging", validation.table.split(".")[-1]]), result.check_name)
                if key in selected:
                    yield result


gx_checks = [staged_table_expectations]
