"""Propensity model on a larger generated dataset (12,000 customers) where the purchase process and
its parameters are known: discrimination vs Bayes probabilities computed from the truth, calibration,
no leakage from after the cutoff, per-run evaluation rows and the AUC warning check. Runs only the
assets it needs (ingest -> staging -> identity -> CLV -> predict), once per session."""
import datetime as dt
import os
import shutil

import dagster as dg
import duckdb
import numpy as np
import pytest
from scipy import special
from sklearn.metrics import roc_auc_score

from assets.predict.model import MODEL_INPUTS, classification_metrics, expected_calibration_error
from assets.predict.propensity import auc_warning, feature_frame
from datagen import catalog
from datagen.core import DECAY_DAYS, DECAY_FACTOR
from tests.conftest import ENV_KEYS, built_once, pipeline_env

AS_OF = dt.date(2026, 11, 20)
CUTOFF = AS_OF - dt.timedelta(days=30)
HORIZON_YEARS = 30 / 365.25
CUSTOMERS = 12_000
# the generator's priors (datagen/core.py): purchases/year ~ Gamma(shape 3, mean = group rate);
# dropout after each purchase ~ Beta(2, 2 (1 - m) / m), m = group mean dropout
GAMMA_SHAPE, BETA_A = 3.0, 2.0


def build_predict_run(tmp_path_factory) -> tuple:
    """Generated data -> ingest, staging, identity, CLV, trends, propensity model, customer scores,
    materialized once per session (the predict and churn test modules share one run, also when they
    run in different xdist workers)."""
    root = built_once(tmp_path_factory, "predict", materialize_predict_assets)
    return root, root / "output" / "warehouse.duckdb"


def materialize_predict_assets(root) -> None:
    from datagen import generate
    from pipelines.definitions import all_assets, defs
    from pipelines.partitions import full_run_tags

    generate(root / "landing", root / "truth", CUSTOMERS, 20, 11, AS_OF, 365)
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(pipeline_env(root / "landing", root / "output", AS_OF))
    try:
        selection = dg.AssetSelection.assets(["marts", "customer_scores"]).upstream().required_multi_asset_neighbors()
        result = dg.materialize([a for a in all_assets], selection=selection, resources=defs.resources,
                                raise_on_error=False, tags=full_run_tags(root / "landing"))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    assert result.success, [e.step_key for e in result.all_events if e.is_step_failure]


@pytest.fixture(scope="session")
def predict_run(tmp_path_factory):
    return build_predict_run(tmp_path_factory)


def query(database, sql, params=None):
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def truth_comparison(root, database) -> dict[str, np.ndarray]:
    """Backtest rows of customers that resolve to exactly one generated person whose orders are
    exported (silo crm or orders_only), with the realised label, the model's out-of-fold probability
    and three reference probabilities of a purchase in the 30 days after the cutoff:
      p_latent      the generator's own probability: it knows the person's purchase rate, dropout
                    probability AND whether they are still alive (unobservable for anyone)
      p_individual  Bayes probability given the order history before the cutoff and the person's
                    true purchase rate and dropout probability (individual latent parameters)
      p_population  Bayes probability given the order history before the cutoff and the generator's
                    priors for the person's group (BG/NBD with r = 3, alpha = 3 / group rate, a = 2,
                    b = 2 (1 - m) / m), knowing whether the person was planted as decaying (alive,
                    rate x DECAY_FACTOR since DECAY_DAYS before the run date; the lambda >= 4 floor of
                    decaying people is ignored). The best any model of the observable history can do."""
    truth = root / "truth"
    rows = query(database, f"""
        with ids as (select * from '{truth}/identifiers.parquet'),
        people as (select * from '{truth}/people.parquet' where silo in ('crm', 'orders_only')),
        persons as (
            select i.customer_key, min(ids.person_id) as person_id
            from marts.customer_identity i join ids on ids.source = i.source and ids.record_key = i.record_key
            where i.source in ('crm_contacts', 'crm_orders', 'survey_responses')
            group by i.customer_key having count(distinct ids.person_id) = 1),
        history as (
            select person_id, count(*) as x, max(ordered_at) as last_at
            from '{truth}/orders.parquet' where kind = 'organic' and ordered_at < $cutoff::timestamp group by person_id)
        select b.purchased_in_horizon::int, b.predicted_probability, p.p_purchase_30d_after_as_of_minus_30,
               p.purchase_rate_per_year, p.dropout_p, p.group_id, p.decaying::int, coalesce(h.x, 0),
               date_diff('second', p.acquired_at, coalesce(h.last_at, p.acquired_at)) / (86400 * 365.25),
               greatest(date_diff('second', p.acquired_at, $cutoff::timestamp), 0) / (86400 * 365.25),
               greatest(date_diff('second', p.acquired_at, $cutoff::timestamp - to_days($decayed::integer)), 0) / (86400 * 365.25)
        from marts.propensity_backtest b join persons using (customer_key) join people p using (person_id)
        left join history h using (person_id)
        order by b.customer_key""", {"cutoff": CUTOFF, "decayed": DECAY_DAYS - 30})
    y, model, p_latent, lam, drop, group, decaying, x, tx, big_t, t_pre = np.array(rows, dtype=float).T
    decaying = decaying.astype(bool)
    t = HORIZON_YEARS

    # individual: alive posterior of the generator's process (dies right after a purchase w.p. p)
    alive_odds = np.where(x > 0, (1 - drop) * np.exp(-lam * (big_t - tx)) / np.maximum(drop, 1e-12), np.inf)
    p_alive = np.where(decaying, 1.0, special.expit(np.log(alive_odds)))
    p_individual = p_alive * (1 - np.exp(-lam * np.where(decaying, DECAY_FACTOR, 1.0) * t))

    # population: BG/NBD with the group's true priors (FHL 2005 P(alive); gamma posterior of the rate)
    rate = np.array([g.purchase_rate for g in catalog.GROUPS])[group.astype(int)]
    mean_drop = np.array([g.dropout_p for g in catalog.GROUPS])[group.astype(int)]
    r, alpha, a, b = GAMMA_SHAPE, GAMMA_SHAPE / rate, BETA_A, BETA_A * (1 - mean_drop) / mean_drop
    log_odds_dead = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
                             + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx)), -np.inf)
    p_population = special.expit(-log_odds_dead) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x))
    exposure = t_pre + DECAY_FACTOR * (big_t - t_pre)  # decaying: rate x DECAY_FACTOR after decay start
    p_decaying = 1 - ((alpha + exposure) / (alpha + exposure + DECAY_FACTOR * t)) ** (r + x)
    p_population = np.where(decaying, p_decaying, p_population)
    return {"y": y.astype(int), "model": model, "p_latent": p_latent, "p_individual": p_individual,
            "p_population": p_population}


def test_model_auc_within_003_of_the_true_probability_given_the_observable_history(predict_run):
    """The issue asks for a model AUC within 0.03 of the AUC of the true probabilities. The honest
    'true probability' for a model of observable data is p_population: the exact Bayes probability
    of the generator's own process given what a customer's history shows (their orders before the
    cutoff) and the generator's true priors for their group, plus whether they were planted as
    decaying. The generator's raw probability (p_latent) also knows whether each person is still
    alive, and p_individual knows each person's own purchase rate and dropout probability: no model
    can observe those, so their AUCs are reported as figures (test_reference_aucs) but not required."""
    root, database = predict_run
    c = truth_comparison(root, database)
    assert len(c["y"]) > 9_000 and 0.05 < c["y"].mean() < 0.5
    auc_model, auc_population = roc_auc_score(c["y"], c["model"]), roc_auc_score(c["y"], c["p_population"])
    print(f"AUC model {auc_model:.3f}, Bayes given observable history {auc_population:.3f}, n={len(c['y'])}")
    assert auc_population - auc_model <= 0.03


def test_reference_aucs(predict_run):
    """Figures for the report, ordered as information allows: the model (observable history) <= the
    individual-parameter Bayes probability <= the generator's latent probability."""
    root, database = predict_run
    c = truth_comparison(root, database)
    auc = {k: roc_auc_score(c["y"], c[k]) for k in ("model", "p_population", "p_individual", "p_latent")}
    print("AUC " + ", ".join(f"{k} {v:.3f}" for k, v in auc.items()))
    assert auc["model"] < auc["p_individual"] < auc["p_latent"]
    assert auc["p_population"] < auc["p_individual"]


def test_probabilities_are_calibrated(predict_run):
    _, database = predict_run
    rows = np.array(query(database, "select purchased_in_horizon::int, predicted_probability from marts.propensity_backtest"),
                    dtype=float)
    y, p = rows[:, 0], rows[:, 1]
    ece = expected_calibration_error(y, p)
    print(f"ECE (deciles, out of fold) {ece:.4f}; base rate {y.mean():.3f}, mean predicted {p.mean():.3f}")
    assert ece < 0.02
    assert abs(p.mean() - y.mean()) < 0.01


def test_evaluation_is_stored_per_run(predict_run):
    _, database = predict_run
    metrics = dict(query(database, "select name, value from marts.propensity_model where kind = 'metric' and run_date = $d",
                         {"d": AS_OF}))
    assert {"roc_auc", "pr_auc", "brier", "ece", "base_rate", "top_decile_lift"} <= set(metrics)
    assert metrics["top_decile_lift"] > 1.5
    deciles = query(database, "select decile, mean_predicted, observed_rate, customers from marts.propensity_model "
                              "where kind = 'calibration_decile' order by decile")
    assert [d[0] for d in deciles] == list(range(1, 11))
    assert deciles[-1][1] > deciles[0][1] and deciles[-1][2] > deciles[0][2]
    importances = query(database, "select name, value from marts.propensity_model where kind = 'feature_importance' "
                                  "order by value desc")
    assert [n for n, _ in sorted(importances)] == sorted(MODEL_INPUTS) and importances[0][1] > 0
    cutoff = query(database, "select distinct cutoff_date from marts.propensity_model")
    assert cutoff == [(CUTOFF,)]


def test_every_customer_is_scored_with_deciles(predict_run):
    _, database = predict_run
    customers, scored, deciles, bad = query(database, """
        select (select count(*) from marts.customers), count(propensity), count(distinct propensity_decile),
               count(*) filter (where propensity not between 0 and 1)
        from marts.customer_scores""")[0]
    assert scored == customers and deciles == 10 and bad == 0


def test_training_features_ignore_everything_after_the_cutoff(predict_run, tmp_path):
    """Deleting every order, visit, email, survey answer and contact dated on or after the cutoff leaves
    the training features (trend columns and the BG/NBD fit) unchanged: the model cannot see the label
    window."""
    _, database = predict_run
    copy = tmp_path / "copy.duckdb"
    shutil.copy(database, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("set TimeZone = 'UTC'")
        before = feature_frame(con, CUTOFF, 0.5, 30).drop("label")
        for table, column in [("crm_orders", "ordered_at"), ("web_events", "event_at"),
                              ("email_events", "occurred_at"), ("crm_contacts", "created_at"),
                              ("survey_responses", "submitted_at")]:
            con.execute(f"delete from staging.{table} where {column} >= $c", {"c": CUTOFF})
        after = feature_frame(con, CUTOFF, 0.5, 30).drop("label")
        assert con.execute("select count(*) from staging.crm_orders where ordered_at >= $c", {"c": CUTOFF}).fetchall()[0][0] == 0
    finally:
        con.close()
    assert before.equals(after)


def test_auc_warning_rules():
    assert auc_warning(0.70, 0.71, floor=0.6, max_drift=0.05) == []
    assert "below the floor" in auc_warning(0.55, None, floor=0.6, max_drift=0.05)[0]
    assert "moved" in auc_warning(0.70, 0.80, floor=0.6, max_drift=0.05)[0]
    assert auc_warning(float("nan"), None, floor=0.6, max_drift=0.05)


def test_auc_check_warns_on_the_stored_run(predict_run, pipeline_environment, tmp_path):
    """The check reads marts.propensity_model; with a floor above the measured AUC it warns (not errors)."""
    from assets.predict.propensity import propensity_auc_check
    from pipelines.resources import PipelineSettings, Warehouse

    root, database = predict_run
    config = tmp_path / "pipeline.yaml"
    import yaml
    from pipelines.contract import REPO_ROOT
    settings = yaml.safe_load((REPO_ROOT / "config" / "pipeline.yaml").read_text())
    settings["predict"]["auc_floor"] = 0.99
    config.write_text(yaml.safe_dump(settings))
    copy = tmp_path / "w.duckdb"
    shutil.copy(database, copy)
    pipeline_environment({"SEG_PIPELINE_CONFIG": str(config)})
    try:
        result = propensity_auc_check(settings=PipelineSettings(as_of=AS_OF.isoformat()), warehouse=Warehouse(database=str(copy)))
    finally:
        os.environ.pop("SEG_PIPELINE_CONFIG", None)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "below the floor" in result.metadata["reasons"].value


def test_classification_metrics_on_known_values():
    y = np.array([0, 0, 1, 1] * 25)
    p = np.where(y == 1, 0.8, 0.2)
    m = classification_metrics(y, p)
    assert m["roc_auc"] == 1.0 and m["top_decile_lift"] == 2.0 and abs(m["brier"] - 0.04) < 1e-12
