"""The analyst-editable pipeline settings in config/pipeline.yaml."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from pipelines.contract import REPO_ROOT


def pipeline_config() -> dict:
    path = Path(os.environ.get("SEG_PIPELINE_CONFIG") or REPO_ROOT / "config" / "pipeline.yaml")
    return yaml.safe_load(path.read_text())
