"""The example analyst queries in sql/analyst/ run against the warehouse and answer something."""
import pytest

from pipelines.resources import SQL_DIR

QUERIES = sorted((SQL_DIR / "analyst").glob("*.sql"))


def test_there_are_example_queries():
    names = {q.stem for q in QUERIES}
    assert {"top_segments_by_roi", "cac_by_channel", "ab_lifts_by_segment"} <= names


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_analyst_query_runs_and_returns_rows(pipeline_run, path):
    text = path.read_text()
    assert text.startswith("--"), f"{path.name} must start with a comment saying what it answers"
    rows = pipeline_run.query(text)
    assert rows, f"{path.name} returned no rows"


def test_cac_by_channel_matches_the_channel_mart(pipeline_run):
    rows = pipeline_run.query((SQL_DIR / "analyst" / "cac_by_channel.sql").read_text())
    spend = dict(pipeline_run.query(
        "select channel, sum(allocated_spend_usd) from marts.segment_channel_roi where segmentation = 'rfm' group by all"))
    assert {r[0]: r[1] for r in rows} == spend
