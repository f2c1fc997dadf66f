"""Segment history and transitions: the feature and segment assets run twice, for two run dates, on
a copy of the session warehouse; transitions count exactly the customers present in both runs."""
import datetime as dt
import shutil

import dagster as dg
import pytest

from assets.features.customer_clv import clv_inputs, customer_clv
from assets.features.customer_features import customer_features
from assets.segments.analyst_segments import analyst_segments
from assets.segments.customer_segments import (customer_segments, rfm_scores, rfm_segment_map, segment_history,
                                               segment_transitions)
from assets.segments.ml_segments import ml_segments
from pipelines.resources import PipelineSettings, Warehouse
from tests.conftest import AS_OF

EARLIER = AS_OF - dt.timedelta(days=60)
ASSETS = [clv_inputs, customer_clv, customer_features, rfm_segment_map, rfm_scores, analyst_segments, ml_segments,
          customer_segments, segment_history, segment_transitions]


@pytest.fixture(scope="module")
def two_runs(pipeline_run, tmp_path_factory):
    import duckdb

    database = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, database)
    con = duckdb.connect(str(database))
    con.execute("drop table if exists marts.segment_history")  # start the history from scratch
    con.close()
    for as_of in (EARLIER, AS_OF):
        result = dg.materialize(ASSETS, resources={
            "settings": PipelineSettings(as_of=as_of.isoformat(), landing_dir=str(pipeline_run.landing),
                                         output_dir=str(database.parent)),
            "warehouse": Warehouse(database=str(database)),
        })
        assert result.success
    return duckdb.connect(str(database), read_only=True)


def test_history_keeps_both_run_dates(two_runs):
    dates = [r[0] for r in two_runs.execute("select distinct run_date from marts.segment_history order by 1").fetchall()]
    assert dates == [EARLIER, AS_OF]


def test_features_use_only_data_up_to_the_run_date(two_runs):
    late = two_runs.execute(
        "select count(*) from marts.segment_history h where run_date = $d", {"d": EARLIER}).fetchall()[0][0]
    assert late > 0
    moved = two_runs.execute(
        """select count(*) from marts.segment_transitions where segmentation = 'rfm' and not stayed""").fetchall()[0][0]
    assert moved > 0, "60 days of new orders must move some customers between RFM segments"


def test_transitions_sum_to_customers_present_in_both_runs(two_runs):
    expected = dict(two_runs.execute(
        """select a.segmentation, count(*) from marts.segment_history a
           join marts.segment_history b on a.segmentation = b.segmentation and a.customer_key = b.customer_key
           where a.run_date = $e and b.run_date = $l group by all""", {"e": EARLIER, "l": AS_OF}).fetchall())
    got = dict(two_runs.execute(
        "select segmentation, sum(customers) from marts.segment_transitions"
        " where from_run_date = $e and to_run_date = $l group by all", {"e": EARLIER, "l": AS_OF}).fetchall())
    assert expected and got == expected
    # a customer's move is counted once: from_segment/to_segment pairs are unique per run pair
    dupes = two_runs.execute(
        "select count(*) - count(distinct (segmentation, from_run_date, from_segment, to_segment))"
        " from marts.segment_transitions").fetchall()[0][0]
    assert dupes == 0


def test_first_run_has_no_transitions_into_it(two_runs):
    assert two_runs.execute(
        "select count(*) from marts.segment_transitions where to_run_date = $e", {"e": EARLIER}).fetchall()[0][0] == 0
