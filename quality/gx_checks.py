"""The expectation suites (quality/suites/) as Dagster asset checks on the staged tables.

Two multi-asset checks validate the staged tables with Great Expectations (quality.gx_runner; one
Data Docs site per table in <output>/data_docs/<table>/):
`staged_table_expectations` the tables whose suites read no other staged table, and
`referencing_table_expectations` those whose referential expectations read a parent table (orders ->
contacts, ...), which must wait for it. Split this way, each is one op of its own name in every job and
subset. Left to Dagster, one check over all tables is split into two nodes of one op name whose
numbering follows set order, which differs between processes: a worker process of the multiprocess
(or any out-of-process) executor then ran the other half (measured: the orders suite before the orders
table existed). Each reports two checks per table:

* ``gx_critical`` (blocking): schema, keys and referential integrity. Referential checks pass while the
  orphan share stays within config/pipeline.yaml quality.max_orphan_rate.
* ``gx_warnings`` (severity WARN): accuracy, freshness and volume.

Metadata: failing expectations with unexpected counts and samples, and the path of the rendered Data Docs
(<output>/data_docs/<table>/index.html).
"""
from typing import Any

import dagster as dg

from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse
from quality.suites import TABLES, SuiteContext, suite_module, suite_name

CRITICAL, WARNINGS = "gx_critical", "gx_warnings"

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


def _expectations_check(name: str, tables: list[str]) -> dg.AssetChecksDefinition:
    """The blocking and warning checks of `tables`, as one subsettable multi-asset check named `name`."""

    @dg.multi_asset_check(
        specs=[
            spec
            for table in tables
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
        name=name,
    )
    def _check(context: dg.AssetCheckExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
        yield from _table_expectations(context, settings, warehouse)

    return _check


def _table_expectations(context: dg.AssetCheckExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
    """Validate each selected table once (by its own check, after its own rebuild) and yield its
    selected checks. Each table has its own Data Docs site, <output>/data_docs/<table>/, so the runs that
    validate different tables (a partitioned run, then the rest) do not overwrite each other's index."""
    selected = context.selected_asset_check_keys
    tables = [t for t in TABLES if any(k.asset_key.path == ["staging", t] for k in selected)]
    docs = {t: settings.output_path / "data_docs" / t for t in tables}
    validations = [run_suites(warehouse.path, suite_context(settings), docs[t], [t])[0] for t in tables]
    with warehouse.connect() as con:  # samples of failing query expectations
        for table, validation in zip(tables, validations):
            for result in check_results(validation, validation.data_docs_index or docs[table] / "index.html", con):
                key = dg.AssetCheckKey(dg.AssetKey(["staging", validation.table.split(".")[-1]]), result.check_name)
                if key in selected:
                    yield result


staged_table_expectations = _expectations_check(
    "staged_table_expectations", [t for t in TABLES if t not in REFERENCED_TABLES])
referencing_table_expectations = _expectations_check(
    "referencing_table_expectations", [t for t in TABLES if t in REFERENCED_TABLES])
gx_checks = [staged_table_expectations, referencing_table_expectations]
