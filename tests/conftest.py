"""Shared fixtures: one small generated dataset and one real run of the whole asset graph per
test session, into a temporary DuckDB file. Tests open the warehouse read-only and assert on it."""
import datetime as dt
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

AS_OF = dt.date(2026, 11, 20)
SEED = 7
CUSTOMERS = 2_000
EVENTS_PER_CUSTOMER = 20

ENV_KEYS = ("SEG_LANDING_DIR", "SEG_OUTPUT_DIR", "SEG_AS_OF", "SEG_DATABASE")


@dataclass(frozen=True)
class PipelineRun:
    landing: Path
    truth: Path
    output: Path
    database: Path
    result: object  # dagster ExecuteInProcessResult

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.database), read_only=True)

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        con = self.connect()
        try:
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()


def pipeline_env(landing: Path, output: Path, as_of: dt.date = AS_OF) -> dict[str, str]:
    return {"SEG_LANDING_DIR": str(landing), "SEG_OUTPUT_DIR": str(output), "SEG_AS_OF": as_of.isoformat(),
            "SEG_DATABASE": str(output / "warehouse.duckdb")}


@pytest.fixture
def pipeline_environment():
    """Set the pipeline's environment variables for one test and restore them afterwards."""
    saved = {k: os.environ.get(k) for k in ENV_KEYS}

    def apply(env: dict[str, str]) -> None:
        os.environ.update(env)

    yield apply
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    """Landing files and ground truth of a small deterministic demo dataset."""
    from datagen import generate

    root = tmp_path_factory.mktemp("generated")
    generate(root / "landing", root / "truth", CUSTOMERS, EVENTS_PER_CUSTOMER, SEED, AS_OF, 365)
    return root / "landing", root / "truth"


@pytest.fixture(scope="session")
def pipeline_run(generated, tmp_path_factory) -> PipelineRun:
    """The whole asset graph (every asset and check) materialized once over the generated data."""
    from pipelines.demo import run_pipeline

    landing, truth = generated
    output = tmp_path_factory.mktemp("output")
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(pipeline_env(landing, output))
    try:
        result = run_pipeline()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    failures = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, f"pipeline run failed at {failures}"
    return PipelineRun(landing, truth, output, output / "warehouse.duckdb", result)


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder that `build(folder)` fills once per test session, even when pytest-xdist runs the
    session in several worker processes: the first worker builds it under a file lock in the folder
    all workers share, the others wait for it and reuse it (a failed build is retried by the next)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder
