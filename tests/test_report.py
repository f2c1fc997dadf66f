"""The HTML report renders as one self-contained file containing every plot, and the key plots are
Dagster metadata."""
import base64
import re

import duckdb
import dagster as dg

from assets.report.segment_report import METADATA_PLOTS, PLOTS, transitions_frame

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_contains_every_plot(pipeline_run):
    page = (pipeline_run.output / "report" / "segment_report.html").read_text()
    images = dict(re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page))
    assert set(images) == set(PLOTS)
    for key, data in images.items():
        png = base64.b64decode(data)
        assert png.startswith(PNG) and len(png) > 5_000, key
        assert f'<section id="{key}">' in page
    assert "src=\"http" not in page and "<script" not in page  # self-contained
    rows = pipeline_run.query("select plot, png_bytes from marts.segment_report order by plot")
    assert {r[0] for r in rows} == set(PLOTS)


def test_key_plots_are_dagster_metadata(pipeline_run):
    materializations = [m for m in pipeline_run.result.get_asset_materialization_events()
                        if m.asset_key == dg.AssetKey(["marts", "segment_report"])]
    assert materializations
    metadata = materializations[-1].materialization.metadata
    for key in METADATA_PLOTS:
        assert isinstance(metadata[key], dg.MarkdownMetadataValue)
        assert "data:image/png;base64," in metadata[key].value
    assert metadata["path"].value.endswith("segment_report.html")


def test_transitions_prefer_the_transitions_mart():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.segment_history (customer_key varchar, segmentation varchar, segment varchar, run_date date)")
    con.execute("""insert into marts.segment_history values
        ('a', 'rfm', 'new_customers', '2026-01-01'), ('a', 'rfm', 'champions', '2026-01-02'),
        ('b', 'rfm', 'at_risk', '2026-01-01'), ('b', 'rfm', 'at_risk', '2026-01-02'),
        ('c', 'rfm', 'hibernating', '2026-01-02')""")
    frame, source = transitions_frame(con)
    assert source == "marts.segment_history"
    moves = {(r["from_segment"], r["to_segment"]): r["customers"] for r in frame.iter_rows(named=True)}
    assert moves == {("new_customers", "champions"): 1, ("at_risk", "at_risk"): 1, ("(new)", "hibernating"): 1}
    con.execute("create table marts.segment_transitions (segmentation varchar, from_run_date date, to_run_date date,"
                " from_segment varchar, to_segment varchar, customers bigint)")
    frame, source = transitions_frame(con)
    assert source == "marts.segment_history"  # empty after a single run: fall back to the history
    con.execute("""insert into marts.segment_transitions values
        ('rfm', '2026-01-01', '2026-01-02', 'x', 'y', 7), ('rfm', '2025-12-31', '2026-01-01', 'x', 'z', 5)""")
    frame, source = transitions_frame(con)
    assert source == "marts.segment_transitions" and frame["customers"].to_list() == [7]  # latest run pair only
