"""The analyst-editable pipeline settings in config/pipeline.yaml."""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import yaml

from pipelines.contract import REPO_ROOT


def pipeline_config() -> dict:
    """The parsed settings file (env SEG_PIPELINE_CONFIG, default config/pipeline.yaml), read on every
    call. Parsing is cached by the file's text (a run reads it about 70 times and a parse costs 17 ms)
    and the result is a copy, so callers may change it."""
    path = Path(os.environ.get("SEG_PIPELINE_CONFIG") or REPO_ROOT / "config" / "pipeline.yaml")
    return copy.deepcopy(_parsed(path.read_text()))


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict:
    return yaml.safe_load(text)
