"""Churn trends: the generator plants customers whose engagement decays over the last 90 days
(orders x 0.1, web sessions x 0.15, email opens x 0.2); the slipping flag and the churn-risk score
must find them (on the 12,000-customer propensity dataset, materialized once per session)."""
import shutil

import duckdb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from assets.sql_model import create_table
from pipelines.config import pipeline_config
# the module name pytest itself gives test_predict_propensity (prepend import mode: tests/ on sys.path),
# so both modules share its helpers (the run itself is shared through conftest.built_once)
from test_predict_propensity import build_predict_run, query


@pytest.fixture(scope="session")
def predict_run(tmp_path_factory):
    return build_predict_run(tmp_path_factory)


def flagged_vs_planted(predict_run) -> dict[str, np.ndarray]:
    """CRM customers that resolve to exactly one generated person, with the planted truth."""
    root, database = predict_run
    truth = root / "truth"
    rows = query(database, f"""
        with ids as (select * from '{truth}/identifiers.parquet'),
        persons as (
            select i.customer_key, min(ids.person_id) as person_id
            from marts.customer_identity i join ids on ids.source = i.source and ids.record_key = i.record_key
            where i.source in ('crm_contacts', 'crm_orders', 'survey_responses')
            group by i.customer_key having count(distinct ids.person_id) = 1)
        select p.decaying::int, s.slipping::int, s.churn_risk, coalesce(s.p_alive, -1), p.alive_at_as_of::int
        from marts.customer_scores s
        join persons using (customer_key)
        join '{truth}/people.parquet' p using (person_id)
        where p.silo = 'crm'""")
    decaying, slipping, churn_risk, p_alive, alive = np.array(rows, dtype=float).T
    return {"decaying": decaying.astype(bool), "slipping": slipping.astype(bool), "churn_risk": churn_risk,
            "p_alive": np.where(p_alive < 0, np.nan, p_alive), "alive": alive.astype(bool)}


def test_planted_decaying_customers_are_flagged_slipping(predict_run):
    """Recall >= 0.8 of the planted decayers; precision at least 2.5x their share. Sparse counts
    (a median customer has ~3 engagement events expected in 90 days) and customers who really
    dropped out (BG/NBD dropout: orders stop, visits x 0.3, opens x 0.5) limit precision against the
    planted decayers alone; against 'engagement really fell' (decaying or dropped out) it is >= 0.5."""
    c = flagged_vs_planted(predict_run)
    decaying, slipping = c["decaying"], c["slipping"]
    assert decaying.sum() > 400
    recall = (decaying & slipping).sum() / decaying.sum()
    precision = (decaying & slipping).sum() / slipping.sum()
    precision_fell = ((decaying | ~c["alive"]) & slipping).sum() / slipping.sum()
    base = decaying.mean()
    print(f"slipping flag: recall {recall:.3f}, precision {precision:.3f} (base rate {base:.3f}), "
          f"precision vs decaying-or-dropped-out {precision_fell:.3f} ({decaying.sum()} planted, {slipping.sum()} flagged)")
    assert recall >= 0.8
    assert precision >= 2.5 * base
    assert precision_fell >= 0.5


def test_churn_risk_ranks_decaying_customers_higher_than_p_alive_alone(predict_run):
    c = flagged_vs_planted(predict_run)
    buyers = ~np.isnan(c["p_alive"])  # P(alive) is defined for customers with a completed order
    decaying = c["decaying"][buyers]
    auc_trend = roc_auc_score(decaying, c["churn_risk"][buyers])
    auc_alive = roc_auc_score(decaying, 1 - c["p_alive"][buyers])
    print(f"AUC for planted decay (buyers): churn_risk {auc_trend:.3f}, 1 - P(alive) {auc_alive:.3f}")
    assert auc_trend > auc_alive + 0.1
    assert auc_trend > 0.8


def test_slipping_threshold_is_the_configured_share(predict_run, tmp_path):
    """slipping = engagement_drop_share >= predict.slipping_drop_share; another share flags others."""
    _, database = predict_run
    configured = float(pipeline_config()["predict"]["slipping_drop_share"])
    mismatched = query(database, """select count(*) from marts.customer_scores
                                    where slipping != coalesce(engagement_drop_share >= $s, false)""", {"s": configured})
    assert mismatched == [(0,)]
    copy = tmp_path / "w.duckdb"
    shutil.copy(database, copy)
    con = duckdb.connect(str(copy))
    try:
        create_table(con, "marts.customer_scores", "predict/customer_scores.sql", {"slipping_drop_share": 0.9})
        strict, expected = con.execute("""select count(*) filter (where slipping),
                                                 count(*) filter (where engagement_drop_share >= 0.9)
                                          from marts.customer_scores""").fetchall()[0]
    finally:
        con.close()
    flagged = query(database, "select count(*) filter (where slipping) from marts.customer_scores")[0][0]
    assert strict == expected < flagged


def test_trend_features_are_documented(predict_run):
    _, database = predict_run
    undocumented = query(database, """select table_name, column_name from duckdb_columns()
                                      where schema_name = 'marts' and table_name in ('customer_trends', 'customer_scores',
                                            'propensity_model', 'propensity_backtest', 'customer_propensity')
                                        and comment is null""")
    assert undocumented == []
