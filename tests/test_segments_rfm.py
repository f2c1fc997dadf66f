"""RFM score map: every one of the 125 (R, F, M) cells has exactly one named segment."""
import duckdb

from assets.sql_model import create_table

SEGMENTS = {"champions", "loyal_customers", "potential_loyalists", "new_customers", "promising", "need_attention",
            "about_to_sleep", "at_risk", "cant_lose_them", "hibernating"}


def test_rfm_map_covers_all_125_cells_with_the_ten_named_segments():
    con = duckdb.connect()
    con.execute("create schema ref")
    assert create_table(con, "ref.rfm_segment_map", "segments/rfm_segment_map.sql") == 125
    cells, distinct, nulls = con.execute(
        "select count(*), count(distinct (r_score, f_score, m_score)), count(*) filter (where rfm_segment is null)"
        " from ref.rfm_segment_map").fetchall()[0]
    assert cells == distinct == 125 and nulls == 0
    assert {r[0] for r in con.execute("select distinct rfm_segment from ref.rfm_segment_map").fetchall()} == SEGMENTS
    assert con.execute("select min(r_score), max(r_score), min(f_score), max(m_score) from ref.rfm_segment_map"
                       ).fetchall()[0] == (1, 5, 1, 5)


def test_every_buyer_is_scored_and_mapped(pipeline_run):
    buyers, scored = pipeline_run.query(
        "select (select count(*) from marts.customer_features where frequency > 0), count(*) from marts.rfm_scores")[0]
    assert buyers == scored > 0
