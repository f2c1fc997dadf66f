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

from assets.ingest import ledger
from pipelines.contract import LandingFileError, Source, check_header


def quote_ident(name: str) -> str:
    """A SQL identifier quoted for DuckDB, safe for any header text."""
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    """A SQL string literal for DuckDB, safe for any text."""
    return "'" + str(text).replace("'", "''") + "'"


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


def load_csv(con: duckdb.DuckDBPyConnection, source: Source, file: Path | ledger.FileLoad, load_id: str) -> LoadStats:
    """Replace raw.<source> with the file's rows and record the load in quality.load_ledger, in one
    transaction."""
    load = ledger.as_loads(con, source, [file])[0]
    path = load.path
    header = read_csv_header(path)
    check = check_header(source, path, header)
    selected, extra, columns = _csv_select(source, check, header)
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
        from read_csv($file, columns = {columns}, {CSV_OPTIONS})
        """,
        {"file": str(path), "load_id": load_id},
    )
    con.execute("delete from quality.quarantine where table_name = $t and rule = 'malformed_row'", {"t": source.name})
    _quarantine_rejects(con, source, load_id)
    raw_rows = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
    ledger.record(con, source, [load], {path: raw_rows}, load_id)
    con.execute("commit")
    malformed = con.execute(f"select count(distinct line) from {LAST_SCAN_REJECTS}").fetchall()[0][0]
    return LoadStats(1, raw_rows, malformed, tuple(c.name for c in check.missing_optional), check.extra)


# the lines the last read_csv of the connection could not parse (rejects accumulate per scan), with their file
LAST_SCAN_REJECTS = """(select r.*, s.file_path from csv_rejects r
                        join csv_reject_scans s using (scan_id, file_id)
                        where r.scan_id = (select max(scan_id) from csv_reject_scans))"""


def _quarantine_rejects(con: duckdb.DuckDBPyConnection, source: Source, load_id: str,
                        partition_keys: dict[str, str] | None = None) -> None:
    """Unparseable lines of the last CSV scan into quality.quarantine (rule malformed_row), one row per
    file and line, with the raw text; partition_keys: file path -> partition day of the line."""
    con.execute(
        f"""
        insert into quality.quarantine
        select $source_system, $table_name, file_path || ':' || line,
               to_json({{'line': line, 'text': any_value(csv_line)}}),
               'malformed_row',
               'unparseable CSV line ' || line || ': ' || string_agg(distinct error_type::varchar, ', ')
                   || ' (' || any_value(error_message) || ')',
               $load_id, now(), map_extract_value($partitions::map(varchar, varchar), file_path)
        from {LAST_SCAN_REJECTS}
        group by file_path, line
        """,
        {"source_system": source.system, "table_name": source.name, "load_id": load_id,
         "partitions": partition_keys or {}},
    )


def load_csv_days(con: duckdb.DuckDBPyConnection, source: Source, loads: list[ledger.FileLoad], load_id: str) -> LoadStats:
    """A daily-partitioned CSV source (one file per day): in one transaction, replace in raw.<source>
    the days of the files that are new or changed with their rows (`_partition_date` = the file's day,
    `_row_id` = the data row's position in its file) and their unparseable lines in quality.quarantine;
    unchanged files are only recorded in the ledger. Every file's header is checked first (a bad file
    changes nothing)."""
    todo = [f for f in loads if f.needs_load]
    checked = []
    for load in todo:
        header = read_csv_header(load.path)
        checked.append((load, header, check_header(source, load.path, header)))
    table = quote_ident(source.name)
    days = sorted({f.partition_key for f in todo})
    con.execute("begin transaction")
    _create_partitioned_csv_table(con, source)
    con.execute(f"delete from raw.{table} where _partition_date::varchar in (select unnest($days::varchar[]))",
                {"days": days})
    con.execute("delete from quality.quarantine where table_name = $t and rule = 'malformed_row' "
                "and partition_key in (select unnest($days::varchar[]))", {"t": source.name, "days": days})
    rows: dict[Path, int] = {}
    by_header: dict[tuple[str, ...], list] = {}
    for load, header, check in checked:
        by_header.setdefault(tuple(header), []).append((load, check))
    for header, group in by_header.items():  # one scan per distinct header (files of one export tool share it)
        selected, extra, columns = _csv_select(source, group[0][1], list(header))
        files = [str(load.path) for load, _ in group]
        partitions = {str(load.path): load.partition_key for load, _ in group}
        con.execute(
            f"""
            insert into raw.{table} by name
            select * exclude (_seq),
                   row_number() over (partition by _source_file order by _seq) as _row_id
            from (
                select {", ".join(selected)},
                       {extra} as _extra,
                       filename as _source_file,
                       $load_id as _load_id,
                       map_extract_value($partitions::map(varchar, varchar), filename)::date as _partition_date,
                       row_number() over () as _seq
                from read_csv($files, columns = {columns}, filename = true, {CSV_OPTIONS})
            )
            """,
            {"files": files, "load_id": load_id, "partitions": partitions},
        )
        rows |= {Path(file): n for file, n in con.execute(
            f"select _source_file, count(*) from raw.{table} where _load_id = $load_id"
            " and _source_file in (select unnest($files::varchar[])) group by all",
            {"files": files, "load_id": load_id}).fetchall()}
        _quarantine_rejects(con, source, load_id, partitions)
    ledger.record(con, source, loads, {f.path: rows.get(f.path, 0) for f in todo}, load_id)
    con.execute("commit")
    malformed = con.execute(
        "select count(*) from quality.quarantine where table_name = $t and rule = 'malformed_row' and load_id = $l",
        {"t": source.name, "l": load_id}).fetchall()[0][0] if todo else 0
    return LoadStats(
        len(loads), sum(rows.values()), malformed,
        tuple(sorted({c.name for _, _, check in checked for c in check.missing_optional})),
        tuple(sorted({h for _, _, check in checked for h in check.extra})),
    )


def _create_partitioned_csv_table(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """raw.<source> of a daily-partitioned CSV source: the contract's columns as text, `_extra`, and the
    bookkeeping columns. Created once; days are then replaced in place."""
    columns = ", ".join(f"{quote_ident(c.name)} varchar" for c in source.columns)
    con.execute(
        f"create table if not exists raw.{quote_ident(source.name)} ({columns}, _extra json, _source_file varchar, "
        "_load_id varchar, _partition_date date, _row_id bigint)"
    )


def _csv_select(source: Source, check, header: list[str]) -> tuple[list[str], str, str]:
    """For one header: the canonical column expressions, the `_extra` JSON of new columns, and the
    read_csv columns spec (every header column as text)."""
    present = {c.export_name for c in check.present}
    selected = [
        f"{quote_ident(c.export_name) if c.export_name in present else 'null::varchar'} as {quote_ident(c.name)}"
        for c in source.columns
    ]
    extra = (
        "to_json({" + ", ".join(f"{_sql_string(h)}: {quote_ident(h)}" for h in check.extra) + "})"
        if check.extra
        else "null::json"
    )
    columns = "{" + ", ".join(f"{_sql_string(h)}: 'VARCHAR'" for h in header) + "}"
    return selected, extra, columns


CSV_OPTIONS = ("header = true, all_varchar = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
               "encoding = 'utf-8', store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'")


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


def check_parquet(con: duckdb.DuckDBPyConnection, source: Source, files: list[Path]) -> set[str]:
    """Check the landed Parquet files' columns and types against the contract (schema drift): a
    missing required column or a required column of another type stops the load naming the file.
    Returns the columns present in the union of the files."""
    schema = con.execute(
        "select file_name, name, type from parquet_schema($files) where name != 'schema'",
        {"files": [str(f) for f in files]},
    ).fetchall()
    by_file: dict[str, set[str]] = {}
    for file_name, name, _ in schema:
        by_file.setdefault(file_name, set()).add(name)
    for file_name, names in by_file.items():
        check_header(source, Path(file_name), sorted(names))
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
    return set(described)


def parquet_rows(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[Path, int]:
    """Rows per Parquet file, from the files' footers (no data is read)."""
    if not files:
        return {}
    counts = dict(con.execute(
        "select file_name, num_rows from parquet_file_metadata($files)", {"files": [str(f) for f in files]}
    ).fetchall())
    return {f: counts[str(f)] for f in files}


def registered_files(con: duckdb.DuckDBPyConnection, source: Source) -> list[Path]:
    """Every file of the source the ledger has recorded and that is still in the landing folder."""
    paths = con.execute(
        "select distinct file_path from quality.load_ledger where source = $s order by file_path", {"s": source.name}
    ).fetchall()
    return [Path(p) for (p,) in paths if Path(p).exists()]


def create_parquet_view(con: duckdb.DuckDBPyConnection, source: Source, files: list[Path]) -> tuple[str, ...]:
    """raw.<source> as a view over Parquet files (typed and columnar already: nothing is copied).
    Canonical column names; columns the contract does not know are kept as JSON in `_extra`; a
    daily-partitioned source gets `_partition_date`, the day from the file name (filters on it read
    only that day's files). Returns the new (non-contract) columns."""
    present = {
        name for (name,) in con.execute(
            "select column_name from (describe select * from read_parquet($files, union_by_name = true))",
            {"files": [str(f) for f in files]},
        ).fetchall()
    }
    selected = [
        f"{quote_ident(c.export_name) if c.export_name in present else 'null'}::{c.type} as {quote_ident(c.name)}"
        for c in source.columns
    ]
    known = {c.export_name for c in source.columns}
    extra = tuple(sorted(present - known))
    extra_sql = (
        "to_json({" + ", ".join(f"{_sql_string(h)}: {quote_ident(h)}" for h in extra) + "})" if extra else "null::json"
    )
    day = (
        f"strptime(regexp_extract(filename, {_sql_string(source.daily_partition_file)}, 1), '%Y%m%d')::date"
        if source.partitioned else "null::date"
    )
    file_list = "[" + ", ".join(_sql_string(str(f)) for f in files) + "]"
    con.execute(
        f"""
        create or replace view raw.{quote_ident(source.name)} as
        select {", ".join(selected)}, {extra_sql} as _extra, filename as _source_file,
               file_row_number as _row_id, {day} as _partition_date
        from read_parquet({file_list}, union_by_name = true, filename = true, file_row_number = true)
        """
    )
    return extra


def load_parquet(con: duckdb.DuckDBPyConnection, source: Source, items: list[Path] | list[ledger.FileLoad],
                 load_id: str) -> LoadStats:
    """Record the files in quality.load_ledger and point raw.<source> at every registered file, in one
    transaction. Files are checked against the contract first (a bad file changes nothing)."""
    loads = ledger.as_loads(con, source, items)
    files = [f.path for f in loads]
    present = check_parquet(con, source, files)
    rows = parquet_rows(con, [f.path for f in loads if f.needs_load])
    con.execute("begin transaction")
    ledger.record(con, source, loads, rows, load_id)
    extra = create_parquet_view(con, source, registered_files(con, source))
    con.execute("commit")
    return LoadStats(
        len(files),
        sum(rows.values()),
        0,
        tuple(c.name for c in source.columns if c.export_name not in present),
        extra,
    )
