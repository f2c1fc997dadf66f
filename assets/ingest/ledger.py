"""The load ledger (quality.load_ledger): every landed file a run looked at, with its size, content
hash, rows and what the run did with it.

* A file whose content (and the contract that reads it) is the same as at its last load is not
  loaded again: action 'unchanged'.
* A file whose content changed since its last load is reloaded, and says so: action 'reloaded',
  with the previous hash and row count in the detail.
* A file seen for the first time: action 'loaded'.

The content hash is SHA-256 of the file's bytes. It is recomputed when the file's size or
modification time differ from the ledger's last entry; otherwise the recorded hash is reused (the
stat cache git and rsync use), so an unchanged 100M-event history is not re-read on every run.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.contract import Source

LOADED, RELOADED, UNCHANGED = "loaded", "reloaded", "unchanged"


@dataclass(frozen=True)
class FileLoad:
    """One landed file and what this run does with it."""

    path: Path
    size: int
    modified_at: dt.datetime
    content_hash: str
    contract_hash: str
    action: str
    detail: str
    previous_hash: str | None = None
    previous_rows: int | None = None
    partition_key: str | None = None

    @property
    def needs_load(self) -> bool:
        return self.action != UNCHANGED


def contract_hash(source: Source) -> str:
    """A digest of how the contract reads the source (columns, export names, types): a file loaded
    under another mapping must be loaded again even if its bytes did not change."""
    return hashlib.sha256(repr(source).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def plan(con: duckdb.DuckDBPyConnection, source: Source, files: list[Path],
         partition_keys: dict[Path, str] | None = None) -> list[FileLoad]:
    """What to do with each file, from the ledger's last entry for the same source and path."""
    last = {
        row[0]: row[1:]
        for row in con.execute(
            """
            -- the last entry per file, and the run that last loaded it (not one that found it unchanged)
            select file_path, arg_max(file_size, recorded_at), arg_max(modified_at, recorded_at),
                   arg_max(content_hash, recorded_at), arg_max(contract_hash, recorded_at), arg_max(rows, recorded_at),
                   arg_max(load_id, recorded_at) filter (where action != 'unchanged')
            from quality.load_ledger
            where source = $source and file_path in (select unnest($paths::varchar[]))
            group by file_path
            """,
            {"source": source.name, "paths": [str(f) for f in files]},
        ).fetchall()
    }
    reads = contract_hash(source)
    loads = []
    for path in files:
        stat = path.stat()
        modified = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.UTC)
        previous = last.get(str(path))
        same_stat = previous is not None and previous[0] == stat.st_size and previous[1] == modified
        digest = previous[2] if same_stat else _sha256(path)
        if previous is None:
            action, detail = LOADED, "new file"
        elif digest != previous[2]:
            action, detail = RELOADED, f"content changed since load {previous[5]} ({previous[4]} rows then)"
        elif reads != previous[3]:
            action, detail = RELOADED, f"same content as load {previous[5]}, but the contract's columns changed"
        else:
            action, detail = UNCHANGED, f"same content as load {previous[5]}; not loaded again"
        loads.append(FileLoad(path, stat.st_size, modified, digest, reads, action, detail,
                              previous[2] if previous else None, previous[4] if previous else None,
                              (partition_keys or {}).get(path)))
    return loads


def as_loads(con: duckdb.DuckDBPyConnection, source: Source, items: list) -> list[FileLoad]:
    """Planned loads for a list of FileLoad or plain paths (paths are planned against the ledger)."""
    paths = [i for i in items if isinstance(i, Path)]
    planned = iter(plan(con, source, paths)) if paths else iter(())
    return [next(planned) if isinstance(i, Path) else i for i in items]


def record(con: duckdb.DuckDBPyConnection, source: Source, loads: list[FileLoad], rows: dict[Path, int],
           load_id: str) -> None:
    """Append one ledger row per file (call inside the transaction that loads the files). rows: the
    rows loaded per file; an unchanged file keeps the count of its last load."""
    if not loads:
        return
    con.execute(
        """
        insert into quality.load_ledger
        select $source, unnest($paths::varchar[]), unnest($sizes::bigint[]), unnest($modified::timestamptz[]),
               unnest($hashes::varchar[]), unnest($contract::varchar[]), unnest($rows::bigint[]),
               unnest($partitions::varchar[]), unnest($actions::varchar[]), unnest($details::varchar[]),
               unnest($previous::varchar[]), $load_id, now()
        """,
        {
            "source": source.name,
            "paths": [str(f.path) for f in loads],
            "sizes": [f.size for f in loads],
            "modified": [f.modified_at for f in loads],
            "hashes": [f.content_hash for f in loads],
            "contract": [f.contract_hash for f in loads],
            "rows": [rows.get(f.path, f.previous_rows) for f in loads],
            "partitions": [f.partition_key for f in loads],
            "actions": [f.action for f in loads],
            "details": [f.detail for f in loads],
            "previous": [f.previous_hash for f in loads],
            "load_id": load_id,
        },
    )


def summary(loads: list[FileLoad]) -> dict[str, int]:
    return {action: sum(f.action == action for f in loads) for action in (LOADED, RELOADED, UNCHANGED)}
