"""Read config/landing_contract.yaml so that the contract alone drives file names and headers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

CONTRACT_PATH = Path(__file__).resolve().parent.parent / "config" / "landing_contract.yaml"


@lru_cache(maxsize=4)
def load_contract(path: str | None = None) -> dict:
    """The parsed contract: {source: {file, format, columns: [...]}}."""
    with open(path or CONTRACT_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["sources"]


def columns(source: str) -> list[str]:
    """Canonical column names of a source, in contract order."""
    return [c["name"] for c in load_contract()[source]["columns"]]


def export_names(source: str) -> dict[str, str]:
    """Canonical name -> export header of a source, in contract order."""
    return {c["name"]: c["export_name"] for c in load_contract()[source]["columns"]}


def file_name(source: str) -> str:
    """The landing file name (or glob) of a source."""
    return load_contract()[source]["file"]
