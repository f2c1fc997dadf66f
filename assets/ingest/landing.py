"""Load one landed source into raw.<source>, exactly as exported (CSV values stay text).

CSV rows that cannot be parsed (ragged rows, invalid UTF-8) are not skipped: they go to
quality.quarantine with their line number and raw text, rule 'malformed_row'.
"""
from __future__ import annotations

import csv
import glob
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.contract import LandingFileError, Source, check_header


def quote_ident(name: str) -> str:
    """A SQL identifier quoted for DuckDB, safe for any header text."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LoadStats:
    files: int
    raw_rows: int
    malformed_rows: int
    missing_optional: tuple[str, ...]
    extra_columns: tuple[str, ...]


def resolve_files(source: Source, landing: Path) -> list[Path]:
    files = sorted(Path(p) for p in glob.glob(str(landing / source.file)))
    if not files and source.optional:
        return []
    if not files:
        raise LandingFileError(
            f"{landing / source.file}: no file for source '{source.name}' in the landing folder {landing}. "
            f"Land the {source.system} export there or set SEG_LANDING_DIR."
        )
    return files


def read_csv_header(path: Path) -> list[str]:
    """The header row of a CSV file, decoded strictly as UTF-8 (a BOM is tolerated).

    Only the first line's bytes are decoded, so an invalid byte further down is reported by the row
    loader with its own line number instead of being blamed on the header."""
    with open(path, "rb") as f:
        first = f.readline()
    if not first.strip():
        raise LandingFileError(f"{path}: the file is empty; expected a header line")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LandingFileError(
            f"{path}: line 1 (header), byte {e.start + 1}: not valid UTF-8 ({e.reason}); re-export the file as UTF-8"
        ) from e
    return next(csv.reader([text.rstrip("\r\n")]))


def load_csv(con: duckdb.DuckDBPyConnection, source: Source, path: Path, load_id: str) -> LoadStats:
    header = read_csv_header(path)
    check = check_header(source, path, header)
    present = {c.export_name for c in check.present}
    selected = [
        f"{quote_ident(c.export_name) if c.export_name in present else 'null::varchar'} as {quote_ident(c.name)}"
        for c in source.columns
    ]
    extra = (
        "to_json({" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': {quote_ident(h)}" for h in check.extra) + "})"
        if check.extra
        else "null::json"
    )
    columns = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header) + "}"
    table = quote_ident(source.name)
    con.execute("begin transaction")
    con.execute(
        f"""
        create or replace table raw.{table} as
        select {", ".join(selected)},
               {extra} as _extra,
               row_number() over () as _row_id,
               $file as _source_file,
               $load_id as _load_id
        from read_csv($file, header = true, all_varchar = true, auto_detect = false, columns = {columns},
                      delim = ',', quote = '"', escape = '"', encoding = 'utf-8',
                      store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans')
        """,
        {"file": str(path), "load_id": load_id},
    )
    con.execute("delete from quality.quarantine where table_name = $t and rule = 'malformed_row'", {"t": source.name})
    con.execute(
        """
        insert into quality.quarantine
        select $source_system, $table_name, $file || ':' || line,
               to_json({'line': line, 'text': any_value(csv_line)}),
               'malformed_row',
               'unparseable CSV line ' || line || ': ' || string_agg(distinct error_type::varchar, ', ')
                   || ' (' || any_value(error_message) || ')',
               $load_id, now()
        from csv_rejects
        group by line
        """,
        {"source_system": source.system, "table_name": source.name, "file": str(path), "load_id": load_id},
    )
    con.execute("commit")
    raw_rows = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
    malformed = con.execute("select count(distinct line) from csv_rejects").fetchall()[0][0]
    return LoadStats(1, raw_rows, malformed, tuple(c.name for c in check.missing_optional), check.extra)


def create_empty(con: duckdb.DuckDBPyConnection, source: Source, load_id: str) -> LoadStats:
    """An optional source whose file is absent: raw.<source> with the contract's columns and no rows."""
    columns = ", ".join(f"null::varchar as {quote_ident(c.name)}" for c in source.columns)
    con.execute(
        f"create or replace table raw.{quote_ident(source.name)} as select {columns}, null::json as _extra,"
        " null::bigint as _row_id, null::varchar as _source_file, $load_id as _load_id limit 0",
        {"load_id": load_id},
    )
    con.execute("delete from quality.quarantine where table_name = $t and rule = 'malformed_row'", {"t": source.name})
    return LoadStats(0, 0, 0, (), ())


def load_parquet(con: duckdb.DuckDBPyConnection, source: Source, files: list[Path], load_id: str) -> LoadStats:
    """Parquet is typed and columnar already: raw.<source> is a view over the landed files."""
    schema = con.execute(
        "select file_name, name, type from parquet_schema($files) where name != 'schema'",
        {"files": [str(f) for f in files]},
    ).fetchall()
    by_file: dict[str, set[str]] = {}
    for file_name, name, _ in schema:
        by_file.setdefault(file_name, set()).add(name)
    for file_name, names in by_file.items():
        check_header(source, Path(file_name), sorted(names))
    expected_types = {c.export_name: c.type for c in source.columns}
    described = dict(
        con.execute(
            "select column_name, column_type from (describe select * from read_parquet($files, union_by_name = true))",
            {"files": [str(f) for f in files]},
        ).fetchall()
    )
    for c in source.required_columns:
        got = described.get(c.export_name, "")
        expected = con.execute(f"select typeof(null::{c.type})").fetchall()[0][0]
        if got != expected:
            offenders = []
            for f in files:
                typed = dict(con.execute(
                    "select column_name, column_type from (describe select * from read_parquet($f))", {"f": str(f)}
                ).fetchall())
                if typed.get(c.export_name, "") != expected:
                    offenders.append(f"{f} ({typed.get(c.export_name, 'missing')})")
            raise LandingFileError(
                f"{offenders[0].split(' (')[0] if offenders else files[0].parent}: column '{c.export_name}' has type "
                f"{got}, the contract says {c.type} (source '{source.name}'); files with the wrong type: "
                f"{', '.join(offenders[:5]) or 'the union of the files'}; fix the export or its schema"
            )
    present = set(described)
    selected = [
        f"{quote_ident(c.export_name) if c.export_name in present else 'null'}::{c.type} as {quote_ident(c.name)}"
        for c in source.columns
    ]
    file_list = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    con.execute(
        f"""
        create or replace view raw.{quote_ident(source.name)} as
        select {", ".join(selected)}, filename as _source_file, file_row_number as _row_id,
               '{load_id.replace("'", "''")}' as _load_id
        from read_parquet({file_list}, union_by_name = true, filename = true, file_row_number = true)
        """
    )
    raw_rows = con.execute(f"select count(*) from raw.{quote_ident(source.name)}").fetchall()[0][0]
    known = {c.export_name for c in source.columns}
    return LoadStats(
        len(files),
        raw_rows,
        0,
        tuple(c.name for c in source.columns if c.export_name not in present),
        tuple(sorted(present - known - {"filename", "file_row_number"})),
    )
