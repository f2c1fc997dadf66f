"""Model refit cadence: the segmentation and propensity models fitted by the session run are reused
for the next run dates (same assignments, no new evaluation rows) and refitted once the fit is
refit_every_days old. Runs the two model assets on a copy of the session warehouse."""
import datetime as dt
import shutil

import dagster as dg
import duckdb
import pytest

from assets.predict.propensity import propensity_auc_check, propensity_model
from assets.segments.ml_segments import ml_segments
from pipelines.config import pipeline_config
from pipelines.resources import PipelineSettings, Warehouse
from tests.conftest import AS_OF

SEGMENTS_EVERY = int(pipeline_config()["segments"]["ml"]["refit_every_days"])
PROPENSITY_EVERY = int(pipeline_config()["predict"]["refit_every_days"])


def materialize(database, landing, as_of: dt.date) -> None:
    settings = PipelineSettings(as_of=as_of.isoformat(), landing_dir=str(landing), output_dir=str(database.parent))
    result = dg.materialize([ml_segments, propensity_model, propensity_auc_check],
                            resources={"settings": settings, "warehouse": Warehouse(database=str(database))})
    assert result.success
    return result


def snapshot(database) -> dict:
    con = duckdb.connect(str(database), read_only=True)
    try:
        def rows(sql):
            return con.execute(sql).fetchall()
        return {
            "segments": rows("select customer_key, segment, model_fit_date from marts.ml_segments order by 1"),
            "segment_fits": rows("select run_date, k, silhouette from marts.ml_segmentation_fit order by 1, 2"),
            "propensity_fit_dates": rows("select distinct model_fit_date, as_of_date from marts.customer_propensity"),
            "evaluations": rows("select run_date, kind, name, value from marts.propensity_model order by all"),
            "stored": rows("select model, fit_date from models.fitted_models order by all"),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(pipeline_run, tmp_path_factory):
    database = tmp_path_factory.mktemp("refits") / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, database)
    before = snapshot(database)
    reuse_day = AS_OF + dt.timedelta(days=min(SEGMENTS_EVERY, PROPENSITY_EVERY) - 1)
    reused = materialize(database, pipeline_run.landing, reuse_day)
    between = snapshot(database)
    refit_day = AS_OF + dt.timedelta(days=max(SEGMENTS_EVERY, PROPENSITY_EVERY))
    materialize(database, pipeline_run.landing, refit_day)
    return before, (reuse_day, reused, between), (refit_day, snapshot(database))


def test_session_run_stored_both_fits(runs):
    before, _, _ = runs
    assert before["stored"] == [("ml_segments", AS_OF), ("propensity", AS_OF)]


def test_between_refits_the_stored_fits_assign_and_score(runs):
    before, (day, result, between), _ = runs
    assert between["segments"] == before["segments"]  # same features, same model: same segment names
    assert {d for (_, _, d) in between["segments"]} == {AS_OF}
    assert between["segment_fits"] == before["segment_fits"]
    assert between["evaluations"] == before["evaluations"]  # no refit, no new evaluation
    assert between["propensity_fit_dates"] == [(AS_OF, day)]
    assert between["stored"] == before["stored"]
    metadata = result.asset_materializations_for_node("ml_segments")[0].metadata
    assert metadata["refitted"].value is False and metadata["model_fit_date"].value == AS_OF.isoformat()
    check = result.get_asset_check_evaluations()[0]
    assert check.metadata["roc_auc"].value == dict(
        ((n, v) for (d, k, n, v) in before["evaluations"] if k == "metric"))["roc_auc"]


def test_a_fit_refit_every_days_old_is_refitted_and_stored(runs):
    before, _, (day, after) = runs
    assert {d for (_, _, d) in after["segments"]} == {day}
    assert {d for (d, *_) in after["segment_fits"]} == {AS_OF, day}
    assert after["propensity_fit_dates"] == [(day, day)]
    assert {d for (d, *_) in after["evaluations"]} == {AS_OF, day}
    assert after["stored"] == sorted(before["stored"] + [("ml_segments", day), ("propensity", day)])
