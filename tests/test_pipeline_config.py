"""config/pipeline.yaml is parsed once per version of its text, never served stale."""
import os

import yaml

from pipelines.config import pipeline_config


def test_an_edited_settings_file_is_read_again_and_callers_get_their_own_copy(tmp_path, monkeypatch):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"quality": {"max_quarantine_rate": 0.02}}))
    mtime = path.stat().st_mtime_ns
    monkeypatch.setenv("SEG_PIPELINE_CONFIG", str(path))

    first = pipeline_config()
    first["quality"]["max_quarantine_rate"] = 0.9  # a caller changing its copy
    assert pipeline_config()["quality"]["max_quarantine_rate"] == 0.02

    # same size, same modification time: only the text tells the versions apart
    path.write_text(yaml.safe_dump({"quality": {"max_quarantine_rate": 0.05}}))
    os.utime(path, ns=(mtime, mtime))
    assert pipeline_config()["quality"]["max_quarantine_rate"] == 0.05
