"""What keeps the graph's cost bounded at 1M customers / 100M web events, tested on small inputs:
model fits on bounded seeded samples with every row still predicted, erasure matching on distinct
identifier values instead of hashing every row, and segment profiles that aggregate wide with exact
(order-independent) sums."""
import duckdb
import numpy as np
import pytest

from assets.predict import model as propensity_model
from assets.predict.model import bounded, evaluate, fit_final, predict
from assets.privacy.erasure import predicate
from assets.segments.segment_profiles import PROFILE_FEATURES, _profile_sql
from pipelines.resources import read_sql

SALT = "test-salt-of-sufficient-length-0123456789"


def test_bounded_keeps_small_inputs_and_samples_large_ones_reproducibly():
    rows = np.arange(100)
    assert bounded(rows, 100, seed=1) is rows
    assert bounded(rows, None, seed=1) is rows
    sample = bounded(rows, 30, seed=1)
    assert len(sample) == 30 and len(set(sample)) == 30 and np.all(np.diff(sample) > 0)
    assert np.array_equal(sample, bounded(rows, 30, seed=1))


@pytest.fixture()
def fit_sizes(monkeypatch):
    sizes = []
    original = propensity_model.make_model

    def recording(seed):
        model = original(seed)
        fit = model.fit

        def fit_recording(x, y):
            sizes.append(len(y))
            return fit(x, y)

        model.fit = fit_recording
        return model

    monkeypatch.setattr(propensity_model, "make_model", recording)
    return sizes


def test_propensity_fits_on_a_bounded_sample_and_predicts_every_row(fit_sizes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4_000, 3))
    y = (x[:, 0] + rng.normal(size=4_000) > 0.5).astype(np.int64)
    result = evaluate(x, y, ["a", "b", "c"], folds=4, seed=7, max_fit_rows=1_000, max_importance_rows=200)
    assert fit_sizes == [1_000] * 4
    assert np.all(result.oof > 0) and set(result.fold) == {0, 1, 2, 3}
    assert result.metrics["roc_auc"] > 0.7
    fit_sizes.clear()
    scores = predict(fit_final(x, y, seed=7, max_fit_rows=1_000), x[:2_500])
    assert fit_sizes == [1_000] and scores.shape == (2_500,)
    fit_sizes.clear()
    evaluate(x, y, ["a", "b", "c"], folds=4, seed=7)  # unbounded: every other fold's rows
    assert fit_sizes == [3_000] * 4


def test_erasure_predicate_on_distinct_values_matches_the_row_hash_predicate():
    con = duckdb.connect()
    con.execute(read_sql("macros.sql"))
    con.execute("create schema quality")
    con.execute("create table quality.erasure_suppressions (identifier_hash varchar)")
    con.execute("""create table events as select * from (values
        ('c1', 'U1'), ('c1', null), ('c2', 'u2'), ('C3 ', null), (null, 'u1'), ('c4', 'u4')) t(user_pseudo_id, user_id)""")
    con.execute("insert into quality.erasure_suppressions values (pii_hash('u1', $s)), (pii_hash('c3', $s))",
                {"s": SALT})
    by_row = con.execute(f"select * from events where {predicate('web_events')} order by all",
                         {"pii_salt": SALT}).fetchall()
    by_value = con.execute(f"select * from events where {predicate('web_events', relation='events')} order by all",
                           {"pii_salt": SALT}).fetchall()
    assert by_value == by_row
    assert sorted(by_row, key=str) == sorted([("c1", "U1"), ("C3 ", None), (None, "u1")], key=str)


def test_segment_profiles_match_the_long_form_and_are_order_independent():
    con = duckdb.connect()
    con.execute("create schema marts")
    rng = np.random.default_rng(3)
    n = 500
    columns = ", ".join(f"case when random() < 0.2 then null else random() * {i + 1} * 1000 end as {c}"
                        for i, c in enumerate(PROFILE_FEATURES))
    con.execute("select setseed(0.5)")
    con.execute(f"create table marts.customer_features as select 'cus_' || lpad(i::varchar, 4, '0') as customer_key, {columns} "
                f"from range({n}) r(i)")
    segments = rng.choice(["a", "b", "c"], size=n)
    con.execute("create table marts.customer_segments as select * from (select unnest($k) as customer_key, "
                "unnest($s) as segment, 'seg' as segmentation)",
                {"k": [f"cus_{i:04d}" for i in range(n)], "s": segments.tolist()})
    first = con.execute(f"select * from ({_profile_sql()}) order by all").fetchall()
    expected = {(segment, feature): mean for segment, feature, mean in con.execute(
        f"""unpivot (select s.segment, {', '.join(f"avg({c}) as {c}" for c in PROFILE_FEATURES)}
                     from marts.customer_segments s join marts.customer_features using (customer_key) group by all)
            on columns(* exclude (segment)) into name feature value mean""").fetchall()}
    population_sd = dict(con.execute(
        f"""unpivot (select {', '.join(f"stddev_samp({c}) as {c}" for c in PROFILE_FEATURES)} from marts.customer_features)
            on columns(*) into name feature value sd""").fetchall())
    assert len(first) == 3 * len(PROFILE_FEATURES)
    for _, segment, feature, mean, _, _, sd, _, _ in first:
        assert mean == pytest.approx(expected[(segment, feature)], rel=1e-9)
        assert sd == pytest.approx(population_sd[feature], rel=1e-9)
    # the same rows in another physical order give bit-identical figures
    con.execute("create or replace table marts.customer_features as select * from marts.customer_features order by random()")
    assert con.execute(f"select * from ({_profile_sql()}) order by all").fetchall() == first
