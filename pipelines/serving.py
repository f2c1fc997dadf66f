"""The serving copy: a separate, read-only DuckDB file analysts query while the pipeline runs.

DuckDB allows one writing process per file and a reader cannot open a file another process is
writing. So after each successful run the final asset copies the `marts` and `ref` schemas into a new
file beside the warehouse and swaps it in with one atomic rename (`os.replace`). A reader that has the
old file open keeps reading the complete old version (the old inode lives until it closes); the next
connection sees the new one. Nothing ever writes to the serving file in place.

`table_fingerprints` is the content hash used to prove reruns give identical marts: per table the
row count and the sum of a 64-bit hash of every row, computed in DuckDB (order-independent).
"""
import os
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.resources import PipelineSettings, Warehouse

SERVING_SCHEMAS = ("marts", "ref")


def serving_path(output: Path) -> Path:
    """<output>/serving/serving.duckdb: the file analysts connect to (read-only)."""
    return output / "serving" / "serving.duckdb"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def base_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], database: str | None = None) -> list[tuple[str, str]]:
    """(schema, table) of every base table in the given schemas of the current (or named) database."""
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables()"
        " where database_name = coalesce($db, current_database()) and schema_name in $schemas and not temporary"
        " order by all",
        {"db": database, "schemas": list(schemas)},
    ).fetchall()
    return [(s, t) for s, t in rows]


def table_fingerprints(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("marts",),
                       database: str | None = None) -> dict[str, tuple[int, int]]:
    """{schema.table: (rows, content hash)} where the hash is the sum over rows of hash(whole row):
    independent of row order, sensitive to every value, to duplicates and to column order."""
    prefix = f"{quote_ident(database)}." if database else ""
    out = {}
    for schema, table in base_tables(con, schemas, database):
        rows, digest = con.execute(
            f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar"
            f" from {prefix}{quote_ident(schema)}.{quote_ident(table)} t"
        ).fetchall()[0]
        out[f"{schema}.{table}"] = (rows, int(digest))
    return out


def _copy_comments(con: duckdb.DuckDBPyConnection, target_db: str, schema: str, table: str) -> None:
    """COMMENT ON the copied table and its columns as on the source (analysts read them in the copy)."""
    target = f"{quote_ident(target_db)}.{quote_ident(schema)}.{quote_ident(table)}"
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = current_database()"
        " and schema_name = $s and table_name = $t", {"s": schema, "t": table},
    ).fetchall()
    if comment and comment[0][0]:
        con.execute(f"comment on table {target} is {sql_string(comment[0][0])}")
    for column, text in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = current_database()"
        " and schema_name = $s and table_name = $t and comment is not null", {"s": schema, "t": table},
    ).fetchall():
        con.execute(f"comment on column {target}.{quote_ident(column)} is {sql_string(text)}")


def publish(con: duckdb.DuckDBPyConnection, target: Path, schemas: tuple[str, ...] = SERVING_SCHEMAS) -> dict[str, tuple[int, int]]:
    """Copy every table of `schemas` from the connection's database into a new DuckDB file and swap it
    in at `target` atomically; returns the copied tables' fingerprints (checked equal to the source's).

    The new file is complete, checkpointed (no WAL beside it), fsynced and read-only before the
    rename; a failure leaves the previous serving file untouched and removes the partial copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_file = target.with_name(f".{target.name}.{os.getpid()}.next")
    for leftover in (staging_file, Path(f"{staging_file}.wal")):
        leftover.unlink(missing_ok=True)
    alias = "serving_next"
    con.execute(f"attach {sql_string(str(staging_file))} as {alias}")
    try:
        tables = base_tables(con, schemas)
        for schema in schemas:
            con.execute(f"create schema if not exists {alias}.{quote_ident(schema)}")
        con.execute("begin transaction")
        for schema, table in tables:
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            con.execute(f"create table {alias}.{name} as select * from {name}")
            _copy_comments(con, alias, schema, table)
        con.execute("commit")
        source = table_fingerprints(con, schemas)
        copied = table_fingerprints(con, schemas, database=alias)
        if copied != source:
            raise RuntimeError(f"serving copy differs from the warehouse: {sorted(set(copied.items()) ^ set(source.items()))}")
        con.execute(f"checkpoint {alias}")
        con.execute(f"detach {alias}")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass  # no transaction open
        if alias in {r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()}:
            con.execute(f"detach {alias}")
        staging_file.unlink(missing_ok=True)
        Path(f"{staging_file}.wal").unlink(missing_ok=True)
        raise
    if Path(f"{staging_file}.wal").exists():
        raise RuntimeError(f"{staging_file}.wal left after checkpoint: the serving copy would be incomplete")
    staging_file.chmod(0o444)
    with open(staging_file, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging_file, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return copied


def serving_snapshot_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The final asset: publish marts and ref to the serving file once every one of them is built."""

    @dg.asset(key=["serving", "marts_snapshot"], group_name="serving", kinds={"duckdb"}, deps=upstream,
              description="serving.marts_snapshot: a read-only copy of every marts and ref table in "
                          "<output>/serving/serving.duckdb, swapped in atomically after each successful run so "
                          "analysts query the last complete result while the pipeline runs. Grain: as in "
                          "each source table. Inputs: every marts and ref asset.")
    def marts_snapshot(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
        target = serving_path(settings.output_path)
        with warehouse.connect() as con:
            copied = publish(con, target)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": sum(rows for rows, _ in copied.values()),
            "path": dg.MetadataValue.path(str(target)),
            "tables": len(copied),
            "content_hash": str(sum(h for _, h in copied.values()) % (1 << 64)),
        })

    return marts_snapshot


def serving_upstream(definitions: list) -> list[dg.AssetKey]:
    """Every asset key in the published schemas among the given assets definitions."""
    return sorted(
        (key for d in definitions if isinstance(d, dg.AssetsDefinition) for key in d.keys
         if key.path[0] in SERVING_SCHEMAS),
        key=lambda k: k.to_user_string(),
    )
