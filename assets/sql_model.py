"""Run the SQL models in sql/: each file is one SELECT; Python only orchestrates."""

import re

import dagster as dg
import duckdb
import yaml

from pipelines.config import pipeline_config
from pipelines.privacy import pii_salt
from pipelines.resources import SQL_DIR, PipelineSettings, Warehouse, read_sql

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def model_description(relative_path: str) -> str:
    """The leading comment block of a SQL model, which states what it holds, its grain and inputs."""
    lines = []
    for line in (SQL_DIR / relative_path).read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


def model_params(sql: str, available: dict[str, object]) -> dict[str, object]:
    """The subset of available parameters a SQL text uses (DuckDB rejects unused named parameters)."""
    used = set(_PARAM.findall(sql))
    missing = used - set(available)
    if missing:
        raise KeyError(f"SQL model needs parameters {sorted(missing)}")
    return {name: available[name] for name in used}


def create_table(
    con: duckdb.DuckDBPyConnection, table: str, relative_path: str, params: dict[str, object] | None = None
) -> int:
    """create or replace <table> as <the model's select>, documented from the .yml beside the model
    when there is one; returns the row count."""
    sql = read_sql(relative_path)
    con.execute(f"create or replace table {table} as\n{sql}", model_params(sql, params or {}))
    doc = (SQL_DIR / relative_path).with_suffix(".yml")
    if doc.exists():
        comment_table(con, table, doc.relative_to(SQL_DIR).as_posix())
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def _sql_string(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def column_comment(spec: str | dict) -> str:
    """A column's comment: its description, then [unit] and (source: ...) when documented."""
    if isinstance(spec, str):
        return spec
    text = spec["description"]
    if spec.get("unit"):
        text += f" [{spec['unit']}]"
    if spec.get("source"):
        text += f" (source: {spec['source']})"
    return text


def comment_table(con: duckdb.DuckDBPyConnection, table: str, relative_doc: str) -> None:
    """COMMENT ON the table and each documented column, from a YAML doc under sql/:
    ``{description: ..., columns: {name: "text" | {description, unit, source}}}``.
    A documented column the table lacks is an error (docs must not drift from the table)."""
    doc = yaml.safe_load((SQL_DIR / relative_doc).read_text())
    schema, name = table.split(".")
    actual = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where schema_name = $s and table_name = $t", {"s": schema, "t": name}
    ).fetchall()}
    unknown = set(doc.get("columns", {})) - actual
    if unknown:
        raise ValueError(f"sql/{relative_doc} documents columns {sorted(unknown)} that {table} does not have")
    con.execute(f"comment on table {table} is {_sql_string(doc['description'])}")
    for column, spec in doc.get("columns", {}).items():
        con.execute(f'comment on column {table}."{column}" is {_sql_string(column_comment(spec))}')


def gross_margin(config: dict) -> float:
    """roi.gross_margin_rate, validated: ROMI is computed on contribution, not revenue."""
    margin = float(config["roi"]["gross_margin_rate"])
    if not 0.0 < margin <= 1.0:
        raise ValueError(f"roi.gross_margin_rate must be in (0, 1], got {margin}")
    return margin


def standard_params(settings: PipelineSettings) -> dict[str, object]:
    """Every parameter a SQL model may use; each model receives the ones it references."""
    config = pipeline_config()
    return {
        "as_of": settings.as_of_date,
        "age_bands": config["segments"]["age_bands"],
        "income_bands": config["segments"]["income_bands"],
        "default_region": config["segments"]["default_region"],
        "window_days": int(config["roi"]["window_days"]),
        "attribution_days": int(config["roi"]["attribution_window_days"]),
        "allocation": config["roi"]["spend_allocation"],
        "gross_margin": gross_margin(config),
        "pii_salt": pii_salt(),
        "audience_purpose": config.get("privacy", {}).get("audience_purpose", "email_marketing"),
    }


def sql_table_asset(table: str, sql_file: str, deps: list[list[str]], group: str):
    """An asset that materializes <schema>.<table> from one SQL model file (its SELECT)."""
    schema, name = table.split(".")

    @dg.asset(key=[schema, name], group_name=group, kinds={"duckdb", "sql"}, deps=deps,
              description=model_description(sql_file), metadata={"sql": f"sql/{sql_file}"})
    def _table(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            rows = create_table(con, table, sql_file, standard_params(settings))
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    return _table
