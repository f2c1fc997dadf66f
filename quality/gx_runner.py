"""Run Great Expectations 1.x suites against a table in a DuckDB file, as SQL inside DuckDB.

Dagster asset checks call ``validate_table``. Design points:

* ``great_expectations`` is imported inside the function (it takes about 4 s), so importing this
  module costs nothing when the Dagster code location loads.
* GX uses a SQL datasource (duckdb-engine), so every metric is an aggregate query that DuckDB runs.
  No table is loaded into pandas. ``quality.gx_duckdb.apply()`` makes that path work.
* Each call builds an ephemeral (in-memory) GX context and drops it afterwards. If
  ``data_docs_dir`` is given, a local Data Docs site is configured there and rendered as static
  HTML.
* The DuckDB file is opened with DuckDB's default (read-write) configuration. A connection that the
  same process already holds to that file (``duckdb.connect(path)``) is therefore shared, not
  refused. GX's connection and engines are closed before the function returns, so this call
  leaves no lock on the file for the next asset that writes it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import great_expectations as gx

__all__ = ["ExpectationOutcome", "TableValidation", "validate_table", "validate_tables"]

_DOCS_SITE = "local_site"


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation (counts are None where GX does not report them)."""

    expectation_type: str
    columns: tuple[str, ...]
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    partial_unexpected_list: list[Any] = field(default_factory=list)
    observed_value: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    exception: str | None = None  # GX's exception message if the expectation could not run
    meta: dict[str, Any] = field(default_factory=dict)  # the expectation's meta (e.g. dimension, severity)


@dataclass(frozen=True)
class TableValidation:
    suite_name: str
    table: str
    success: bool
    statistics: dict[str, Any]
    results: list[ExpectationOutcome]
    data_docs_index: Path | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        lines = [
            f"{self.suite_name} on {self.table}: "
            f"{'PASSED' if self.success else 'FAILED'} "
            f"({self.statistics.get('successful_expectations')}/"
            f"{self.statistics.get('evaluated_expectations')} expectations)"
        ]
        for r in self.failed:
            what = r.exception or (
                f"{r.unexpected_count} unexpected of {r.element_count}"
                if r.unexpected_count is not None
                else f"observed {r.observed_value!r}"
            )
            lines.append(f"  FAIL {r.expectation_type}({', '.join(r.columns)}): {what}")
        return "\n".join(lines)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text)


def _columns_of(kwargs: dict[str, Any]) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_A" in kwargs:
        return (kwargs["column_A"], kwargs["column_B"])
    if "column_list" in kwargs:
        return tuple(kwargs["column_list"])
    return ()


def _outcome(res: Any) -> ExpectationOutcome:
    cfg = res.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
    r = res.result or {}
    exc = res.exception_info or {}
    # A suite run keys exception_info by metric when a metric failed; flatten both shapes.
    if exc and "raised_exception" not in exc:
        exc = next(iter(exc.values()), {})
    return ExpectationOutcome(
        expectation_type=cfg.type,
        columns=_columns_of(kwargs),
        success=bool(res.success),
        element_count=r.get("element_count"),
        unexpected_count=r.get("unexpected_count"),
        unexpected_percent=r.get("unexpected_percent"),
        partial_unexpected_list=list(r.get("partial_unexpected_list") or []),
        observed_value=r.get("observed_value"),
        kwargs=kwargs,
        exception=exc.get("exception_message") if exc.get("raised_exception") else None,
        meta=dict(cfg.meta or {}),
    )


def _context(data_docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if data_docs_dir is not None:
        sites[_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(data_docs_dir).resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # validation result pages only: the suite pages repeat the same expectations and
            # double the rendering time
            "site_section_builders": {"expectations": "0", "profiling": "0"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,  # no network from the pipeline
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate_table(
    database_path: str | Path,
    table: str,
    expectations: list[gx.expectations.Expectation],
    suite_name: str,
    data_docs_dir: Path | None = None,
    result_format: str | dict = "SUMMARY",
) -> TableValidation:
    """Validate ``table`` (``name`` or ``schema.name``) in the DuckDB file with GX 1.x.

    ``result_format`` is passed to GX: "BOOLEAN_ONLY" (fastest: one aggregate per column),
    "BASIC" / "SUMMARY" (also fetch up to 20 unexpected values per expectation, which is one more
    query each) or "COMPLETE" (every unexpected value: avoid on large tables).
    The caller's Expectation objects are copied, not modified.
    """
    return validate_tables(database_path, [(table, expectations, suite_name)], data_docs_dir, result_format)[0]


def validate_tables(
    database_path: str | Path,
    suites: list[tuple[str, list[gx.expectations.Expectation], str]],
    data_docs_dir: Path | None = None,
    result_format: str | dict = "SUMMARY",
) -> list[TableValidation]:
    """Validate several tables of one DuckDB file, one suite each: ``[(table, expectations,
    suite_name), ...]``. One GX context, one datasource (one connection) and one Data Docs build
    serve all suites, so the fixed cost is paid once. Returns one TableValidation per suite, in order.
    """
    import great_expectations as gx

    from quality import gx_duckdb

    gx_duckdb.apply()
    db = Path(database_path).resolve()
    if not db.exists():
        raise FileNotFoundError(db)

    context = _context(data_docs_dir)
    datasource = context.data_sources.add_sql(
        name=f"duckdb_{_safe_name(db.stem)}", connection_string=f"duckdb:///{db}"
    )
    runs = []
    try:
        for table, expectations, suite_name in suites:
            started = time.perf_counter()
            schema, _, name = table.rpartition(".")
            asset = datasource.add_table_asset(
                name=_safe_name(table), table_name=name, **({"schema_name": schema} if schema else {})
            )
            batch_definition = asset.add_batch_definition_whole_table("whole_table")
            suite = context.suites.add(
                gx.ExpectationSuite(
                    name=suite_name,
                    expectations=[e.copy(update={"id": None}, deep=True) for e in expectations],
                )
            )
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite_name}__{_safe_name(table)}", data=batch_definition, suite=suite)
            )
            result = definition.run(result_format=result_format)
            runs.append((table, suite_name, result, time.perf_counter() - started))
    finally:
        # Close GX's kept connection and both engines (the datasource tests its connection with
        # a pooled engine of its own): no DuckDB handle may outlive this call.
        gx_duckdb.release(datasource.get_execution_engine())
        datasource.get_engine().dispose()

    index = None
    if data_docs_dir is not None:
        urls = context.build_data_docs(site_names=[_DOCS_SITE])
        index = Path(urls[_DOCS_SITE].removeprefix("file://"))

    return [
        TableValidation(
            suite_name=suite_name,
            table=table,
            success=bool(result.success),
            statistics=dict(result.statistics),
            results=[_outcome(r) for r in result.results],
            data_docs_index=index,
            seconds=seconds,
        )
        for table, suite_name, result, seconds in runs
    ]
