"""The landing contract (config/landing_contract.yaml) and per-site column mappings.

The contract is the one machine-readable description of the landing files. Ingest reads it to
validate headers and rename export columns to canonical names; the demo generator writes files that
match it; docs/LANDING_CONTRACT.md is generated from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACT_PATH = REPO_ROOT / "config" / "landing_contract.yaml"


class LandingFileError(ValueError):
    """A landed file cannot be loaded; the message names the file, line and column and what to do."""


@dataclass(frozen=True)
class Column:
    name: str
    export_name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Source:
    name: str
    system: str
    file: str
    format: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    optional: bool = False  # the pipeline runs without the file (an empty raw table stands in)
    # A regular expression whose first group is a file's day (YYYYMMDD): the source is daily-partitioned.
    daily_partition_file: str | None = None

    @property
    def partitioned(self) -> bool:
        return self.daily_partition_file is not None

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@cache
def _contract_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def load_contract(column_mapping: Path | None = None, path: Path = CONTRACT_PATH) -> dict[str, Source]:
    """All sources of the contract, with export names overridden by an optional mapping file.

    The mapping file is YAML of the form ``{source: {canonical_column: "Header In Your Export"}}``.
    """
    overrides: dict = {}
    if column_mapping is not None and Path(column_mapping).exists():
        overrides = yaml.safe_load(Path(column_mapping).read_text()) or {}
    raw = _contract_yaml(path)["sources"]
    unknown = set(overrides) - set(raw)
    if unknown:
        raise LandingFileError(f"{column_mapping}: unknown source(s) {sorted(unknown)}; known: {sorted(raw)}")
    sources = {}
    for name, spec in raw.items():
        mapped = overrides.get(name, {}) or {}
        names = {c["name"] for c in spec["columns"]}
        bad = set(mapped) - names
        if bad:
            raise LandingFileError(
                f"{column_mapping}: source '{name}' has no column(s) {sorted(bad)}; known: {sorted(names)}"
            )
        key = spec.get("key") or ()
        sources[name] = Source(
            name=name,
            system=spec["system"],
            file=spec["file"],
            format=spec["format"],
            description=spec["description"],
            key=(key,) if isinstance(key, str) else tuple(key),
            columns=tuple(
                Column(
                    name=c["name"],
                    export_name=mapped.get(c["name"], c["export_name"]),
                    type=c["type"],
                    required=bool(c["required"]),
                    description=c["description"],
                )
                for c in spec["columns"]
            ),
            optional=bool(spec.get("optional", False)),
            daily_partition_file=spec.get("daily_partition_file"),
        )
    return sources


@dataclass(frozen=True)
class HeaderCheck:
    """How a file's header compares with the contract (schema drift)."""

    present: tuple[Column, ...]
    missing_optional: tuple[Column, ...]
    extra: tuple[str, ...]


def check_header(source: Source, path: Path, header: list[str]) -> HeaderCheck:
    """Compare a landed file's columns with the contract; raise on a missing required column."""
    found = set(header)
    missing_required = [c for c in source.required_columns if c.export_name not in found]
    if missing_required:
        cols = ", ".join(f"'{c.export_name}' (canonical '{c.name}')" for c in missing_required)
        raise LandingFileError(
            f"{path}: missing required column(s) {cols}. Columns found: {header}. If your export names "
            f"them differently, map them in config/column_mapping.yaml under '{source.name}'."
        )
    known = {c.export_name for c in source.columns}
    return HeaderCheck(
        present=tuple(c for c in source.columns if c.export_name in found),
        missing_optional=tuple(c for c in source.columns if c.export_name not in found),
        extra=tuple(h for h in header if h not in known),
    )
