"""Make Great Expectations 1.x validate DuckDB files through a SQL datasource.

Tested against great_expectations 1.24.1, duckdb-engine 0.17.0, duckdb 2.0.0 and SQLAlchemy 2.1.
GX has no DuckDB support of its own: ``add_sql(connection_string="duckdb:///x.duckdb")`` goes
through duckdb-engine, whose SQLAlchemy dialect derives from PostgreSQL's. Two GX behaviours break
on it. ``apply()`` fixes both, in place and idempotently; it patches only what is still broken, so
an upstream fix turns the matching patch into a no-op (``status()`` says which patches are active,
and tests/test_gx_duckdb.py checks both that each patch is still needed and that the results are
right).

Patch 1: one persistent connection for duckdb (``GX_PERSISTED_CONNECTION``)
    ``SqlAlchemyExecutionEngine.execute_query`` runs
    ``with self.get_connection() as c: result = c.execute(q)`` and fetches rows from ``result``
    only after the ``with`` block has ended. For most dialects ``get_connection`` opens a pooled
    connection and closes it when the block ends. Returning a connection to the pool rolls back.
    With duckdb-engine, every SQLAlchemy cursor wraps the same single DuckDB connection, so that
    rollback throws away the pending result. Then every metric fails with
    ``MetricResolutionError: list index out of range``.
    GX already keeps one connection open (and builds the engine with a ``StaticPool``) for the
    dialects in ``sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS`` (sqlite, mssql,
    bigquery, databricks in 1.24). We append "duckdb" to that tuple. Both places that read it
    (``_dialect_requires_persisted_connection``, which compares with ``str.startswith(x.value)``,
    and ``get_connection``, which tests ``dialect_name in``) look it up at call time. Because the
    entry is a str-valued Enum member, both checks match without further changes.
    Caveat: ``SqlAlchemyExecutionEngine.close()`` does not close that kept connection for
    dialects other than sqlite/mssql/snowflake/mysql. ``release()`` below does it, so the DuckDB
    file lock is dropped.

Patch 2: DuckDB regex (``GX_REGEX``)
    ``great_expectations.expectations.metrics.util.get_dialect_regex_expression`` knows each
    supported dialect by class or module. The duckdb-engine dialect instance matches none of them,
    so ``expect_column_values_to_(not_)match_regex(_list)`` raise
    ``NotImplementedError: Regex is not supported for dialect duckdb``.
    We wrap the function so that, for the duckdb dialect, it returns DuckDB's
    ``regexp_matches(col, pattern)``. That function searches anywhere in the string, like GX's
    pandas (``str.contains``) and PostgreSQL (``~``) semantics; ``regexp_full_match`` would
    anchor the pattern. Every other dialect goes to the original function. The metric modules
    import the function by name, so we rebind it in every loaded ``great_expectations`` module
    that holds the original.

Patch 3: column types for DuckDB tables (``GX_COLUMN_TYPES``)
    ``expect_column_values_to_be_of_type`` / ``_be_in_type_list`` read the ``table.column_types``
    metric. GX gets it from SQLAlchemy reflection (``inspector.get_columns``). duckdb-engine
    0.17.0 reuses PostgreSQL's reflection, and since SQLAlchemy 2.0.45 that queries
    ``pg_catalog.pg_collation``, which DuckDB 2.0 does not emulate. Under SQLAlchemy 2.1 it also
    calls ``_get_columns_info`` with the old signature (duckdb_engine issues #1379/#1391,
    duckdb#22069). GX catches the ProgrammingError and calls ``util.column_reflection_fallback``,
    which for "other" dialects returns column *names only*. The type expectations then fail with
    ``KeyError: 'type'``. For duckdb we make that fallback read ``information_schema.columns`` and
    map DuckDB's type names to SQLAlchemy type instances. GX compares those with ``isinstance``
    against ``getattr(sqlalchemy, type_)``, e.g. type_="BIGINT", "VARCHAR", "DOUBLE", "DATE",
    "DECIMAL", "Numeric". Only named tables get types this way; a query asset still gets names
    only, as before.

Patch 4: share the DuckDB instance with the pipeline's own connection (``SHARED_INSTANCE``)
    Not a GX bug. duckdb-engine 0.17.0 opens every connection with
    ``config={"custom_user_agent": "duckdb_engine/..."}``. DuckDB lets one process open a file
    many times only with an *identical* configuration. So while the pipeline holds
    ``duckdb.connect(path)``, every duckdb-engine connection fails with ``ConnectionException:
    Can't open a connection to same database file with a different configuration``. We set
    ``duckdb_engine.supports_user_agent = False``, a module flag that ``Dialect.connect`` reads
    at call time. That drops only the user-agent string that DuckDB reports.
"""

from __future__ import annotations

import enum
import logging
import sys
import threading
from typing import Any

__all__ = ["apply", "status", "release", "upstream_status", "PATCHES"]

PATCHES = ("persisted_connection", "regex", "column_types", "shared_instance")

_lock = threading.Lock()
_applied: dict[str, bool] | None = None


class _DuckDBDialect(str, enum.Enum):
    """A `_PERSISTED_CONNECTION_DIALECTS` entry: a str for `in`, with `.value` for startswith."""

    DUCKDB = "duckdb"


def _is_duckdb_dialect(dialect: Any) -> bool:
    # GX passes the engine's Dialect *instance* here when it has no dialect module for duckdb,
    # or a module/class otherwise; accept all three forms.
    for obj in (dialect, getattr(dialect, "dialect", None)):
        if getattr(obj, "name", None) == "duckdb":
            return True
    return False


def _upstream_persists_duckdb() -> bool:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    return any(
        d == "duckdb" and not isinstance(d, _DuckDBDialect)
        for d in see._PERSISTED_CONNECTION_DIALECTS
    )


def _upstream_regex_expression(positive: bool = True):
    """What unpatched GX builds for a DuckDB regex condition (None = unsupported)."""
    import sqlalchemy as sa
    from duckdb_engine import Dialect as DuckDBEngineDialect
    from great_expectations.expectations.metrics import util

    fn = getattr(util.get_dialect_regex_expression, "__wrapped__", util.get_dialect_regex_expression)
    return fn(sa.column("c"), "x", DuckDBEngineDialect(), positive)


def _upstream_reflects_duckdb_columns() -> bool:
    """Does plain SQLAlchemy reflection of a DuckDB table work (in-memory probe, ~20 ms)?"""
    import sqlalchemy as sa

    engine = sa.create_engine("duckdb:///:memory:")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE gx_duckdb_probe (a BIGINT)")
            cols = sa.inspect(conn).get_columns("gx_duckdb_probe")
        return [c["name"] for c in cols] == ["a"]
    except Exception:
        return False
    finally:
        engine.dispose()


def upstream_status() -> dict[str, bool]:
    """Which problems the installed GX / duckdb-engine / SQLAlchemy still have (True = broken)."""
    import duckdb_engine

    return {
        "persisted_connection": not _upstream_persists_duckdb(),
        "regex": _upstream_regex_expression() is None,
        "column_types": not _upstream_reflects_duckdb_columns(),
        "shared_instance": bool(
            getattr(duckdb_engine, "_gx_duckdb_original_supports_user_agent", None)
            if hasattr(duckdb_engine, "_gx_duckdb_original_supports_user_agent")
            else getattr(duckdb_engine, "supports_user_agent", False)
        ),
    }


def _patch_persisted_connection() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    if _DuckDBDialect.DUCKDB not in [
        d for d in see._PERSISTED_CONNECTION_DIALECTS if isinstance(d, _DuckDBDialect)
    ]:
        see._PERSISTED_CONNECTION_DIALECTS = (
            *see._PERSISTED_CONNECTION_DIALECTS,
            _DuckDBDialect.DUCKDB,
        )


def _patch_regex() -> None:
    import functools

    import sqlalchemy as sa
    from great_expectations.expectations.metrics import util

    original = util.get_dialect_regex_expression
    if getattr(original, "_gx_duckdb_patch", False):
        return

    @functools.wraps(original)
    def get_dialect_regex_expression(column, regex, dialect, positive=True):
        if _is_duckdb_dialect(dialect):
            expr = sa.func.regexp_matches(column, sa.literal(regex))
            return expr if positive else sa.not_(expr)
        return original(column, regex, dialect, positive)

    get_dialect_regex_expression._gx_duckdb_patch = True  # type: ignore[attr-defined]
    # Rebind in util and in every metric module that did `from ...util import get_dialect_regex_expression`.
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("great_expectations")
            and module is not None
            and getattr(module, "get_dialect_regex_expression", None) is original
        ):
            module.get_dialect_regex_expression = get_dialect_regex_expression


_DUCKDB_COLUMNS_SQL = """
SELECT column_name, data_type FROM information_schema.columns
WHERE table_catalog = current_database()
  AND table_schema = coalesce(:schema, current_schema())
  AND table_name = :table
ORDER BY ordinal_position
"""


def _sqlalchemy_type(duckdb_type: str):
    """DuckDB type name (information_schema.columns.data_type) -> SQLAlchemy type instance."""
    import re

    import sqlalchemy as sa
    from duckdb_engine import Dialect as DuckDBEngineDialect

    m = re.fullmatch(r"([A-Za-z_ ]+?)\s*(?:\((.*)\))?", duckdb_type.strip())
    if m is None:  # nested: VARCHAR[], STRUCT(...), MAP(...), ...
        return sa.types.NullType()
    base, args = m.group(1).upper(), m.group(2)
    if base in ("DECIMAL", "NUMERIC") and args:
        precision, _, scale = args.partition(",")
        return sa.DECIMAL(int(precision), int(scale or 0))
    if base == "TIMESTAMP WITH TIME ZONE":
        return sa.TIMESTAMP(timezone=True)
    cls = getattr(sa.types, base.replace(" ", "_"), None)  # INTEGER, BIGINT, VARCHAR, DOUBLE, DATE...
    if not (isinstance(cls, type) and issubclass(cls, sa.types.TypeEngine)):
        cls = DuckDBEngineDialect.ischema_names.get(base.lower(), sa.types.NullType)  # HUGEINT...
    return cls()


def _patch_column_types() -> None:
    import sqlalchemy as sa
    from great_expectations.expectations.metrics import util

    original = util.column_reflection_fallback
    if getattr(original, "_gx_duckdb_patch", False):
        return

    def column_reflection_fallback(selectable, dialect, sqlalchemy_engine, schema_name=None):
        if getattr(dialect, "name", None) == "duckdb" and not isinstance(selectable, sa.TextClause):
            table = str(getattr(selectable, "name", selectable))
            schema = schema_name or getattr(selectable, "schema", None)
            with sqlalchemy_engine.connect() as conn:
                rows = conn.execute(
                    sa.text(_DUCKDB_COLUMNS_SQL), {"schema": schema, "table": table}
                ).fetchall()
            if rows:
                return [{"name": name, "type": _sqlalchemy_type(t)} for name, t in rows]
        return original(selectable, dialect, sqlalchemy_engine, schema_name)

    column_reflection_fallback._gx_duckdb_patch = True  # type: ignore[attr-defined]
    column_reflection_fallback.__wrapped__ = original  # type: ignore[attr-defined]
    util.column_reflection_fallback = column_reflection_fallback  # looked up at call time in util


def _patch_shared_instance() -> None:
    import duckdb_engine

    if not hasattr(duckdb_engine, "_gx_duckdb_original_supports_user_agent"):
        duckdb_engine._gx_duckdb_original_supports_user_agent = duckdb_engine.supports_user_agent
    duckdb_engine.supports_user_agent = False


def apply() -> dict[str, bool]:
    """Apply the patches that the installed GX still needs. Idempotent and thread-safe.

    Returns ``status()``: for each patch, whether it is active (False means upstream handles it).
    """
    global _applied
    with _lock:
        if _applied is None:
            import great_expectations  # noqa: F401  (registers and imports all metric modules)

            broken = upstream_status()
            if broken["persisted_connection"]:
                _patch_persisted_connection()
            if broken["regex"]:
                _patch_regex()
            if broken["column_types"]:
                _patch_column_types()
                # GX then warns once per type expectation that no duckdb type module exists; the
                # patched fallback is what handles it, so that message is noise (other warnings stay)
                logging.getLogger("great_expectations.expectations.type_comparison").addFilter(
                    lambda record: "No sqlalchemy dialect found" not in record.getMessage())
            if broken["shared_instance"]:
                _patch_shared_instance()
            _applied = dict(broken)
        return dict(_applied)


def status() -> dict[str, bool] | None:
    """Patches applied by ``apply()`` (None before the first call)."""
    return None if _applied is None else dict(_applied)


def release(execution_engine: Any) -> None:
    """Close GX's kept connection and dispose its engine so the DuckDB file is unlocked.

    ``SqlAlchemyExecutionEngine.close()`` (1.24) closes the persisted connection only for
    sqlite/mssql/snowflake/mysql; for duckdb it would stay open (and hold the file) until the
    engine is garbage collected.
    """
    conn = getattr(execution_engine, "_connection", None)
    if conn is not None:
        try:
            conn.close()
        finally:
            execution_engine._connection = None
    execution_engine.close()
