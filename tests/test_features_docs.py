"""marts.customer_features: every column documented (meaning, unit, source), the docs in
docs/FEATURES.md generated from the same YAML, the comments in DuckDB, and explicit nulls + flags."""
import yaml

from assets.features import feature_docs
from pipelines.resources import SQL_DIR


def _doc(path):
    return yaml.safe_load((SQL_DIR / path).read_text())


def test_features_md_is_generated_from_the_yaml():
    assert (feature_docs.OUTPUT).read_text() == feature_docs.render(), \
        "docs/FEATURES.md is stale: run python -m assets.features.feature_docs"


def test_every_customer_features_column_is_documented_with_meaning_unit_and_source(pipeline_run):
    columns = [r[0] for r in pipeline_run.query(
        "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = 'customer_features'")]
    doc = _doc("features/customer_features.yml")["columns"]
    assert set(columns) == set(doc), set(columns) ^ set(doc)
    for name, spec in doc.items():
        assert isinstance(spec, dict) and spec.get("description") and spec.get("source"), name
        if name != "customer_key":
            assert spec.get("unit"), name


def test_every_column_of_owned_marts_carries_its_comment(pipeline_run):
    for table, path in feature_docs.DOCS:
        schema, name = table.split(".")
        rows = pipeline_run.query(
            "select column_name, comment from duckdb_columns() where schema_name = $s and table_name = $t",
            {"s": schema, "t": name})
        assert rows, table
        undocumented = [c for c, comment in rows if not comment]
        assert not undocumented, (table, undocumented)


def test_missing_sources_give_nulls_and_flags_not_zeros(pipeline_run):
    bad = pipeline_run.query(
        """select
             count(*) filter (where not has_web and (sessions_90d is not null or mobile_session_share is not null
                                                    or paid_search_session_share is not null)),
             count(*) filter (where not has_email and email_open_rate is not null),
             count(*) filter (where not has_survey and (value_price is not null or nps_class is not null)),
             count(*) filter (where not has_orders and (recency_days is not null or avg_order_value_usd is not null)),
             count(*) filter (where not has_clv and p_alive is not null)
           from marts.customer_features""")[0]
    assert bad == (0, 0, 0, 0, 0)
    present = pipeline_run.query(
        "select count(*) filter (where not has_web), count(*) filter (where not has_survey) from marts.customer_features")[0]
    assert all(n > 0 for n in present), "the generator has silos: some customers lack web or survey data"


def test_device_and_channel_mix_are_shares_that_sum_to_one(pipeline_run):
    rows = pipeline_run.query(
        """select max(abs(desktop_session_share + mobile_session_share + tablet_session_share - 1)),
                  max(abs(direct_session_share + organic_search_session_share + paid_search_session_share
                          + paid_social_session_share + display_session_share + email_session_share
                          + other_channel_session_share - 1)),
                  count(*) filter (where main_device is null)
           from marts.customer_features where has_web""")[0]
    assert rows[0] < 1e-9 and rows[1] < 1e-9 and rows[2] == 0


def test_clv_scores_are_finite_for_every_buyer(pipeline_run):
    nan, total, buyers = pipeline_run.query(
        """select count(*) filter (where isnan(p_alive) or isnan(expected_purchases) or isnan(predicted_clv_usd)
                                   or isinf(predicted_clv_usd) or p_alive is null),
                  count(*), (select count(*) from staging.clv_inputs)
           from marts.customer_clv""")[0]
    assert nan == 0 and total == buyers > 0
