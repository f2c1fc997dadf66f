"""CLV scores stay finite when the BG/NBD maximum-likelihood fit is degenerate (a, b -> infinity,
i.e. every customer drops out with the same probability), as on the generator's data."""
import numpy as np

from assets.features.btyd import BGNBDParams, bgnbd_expected_purchases, fit_bgnbd, simulate_bgnbd
from assets.features.customer_clv import score_bgnbd


def _constant_dropout_customers():
    rng = np.random.default_rng(1)
    sim = simulate_bgnbd(BGNBDParams(r=1.5, alpha=20.0, a=1e6, b=7e6), rng.uniform(1, 52, 3000), rng=rng,
                         resolution=1 / 7)
    return sim.frequency, sim.recency, sim.T


def test_degenerate_fit_scores_stay_finite_without_a_penalty():
    """a, b -> infinity used to give 0 * inf = NaN in E[Y(t)]; btyd now evaluates the stable form."""
    x, tx, t = _constant_dropout_customers()
    plain = fit_bgnbd(x, tx, t)
    assert plain.a > 1e3, "precondition: the plain MLE is degenerate on constant-dropout data"
    with np.errstate(all="raise"):
        plain_expected = bgnbd_expected_purchases(plain, 52, x, tx, t)
    assert np.isfinite(plain_expected).all() and (plain_expected >= 0).all()
    params, p_alive, expected = score_bgnbd(x, tx, t, 52.0)
    assert np.isfinite(p_alive).all() and np.isfinite(expected).all()
    assert params.diagnostics.extra["penalizer"] == 0.0
    assert abs(params.r / params.alpha - plain.r / plain.alpha) / (plain.r / plain.alpha) < 1e-6


def test_regular_fit_keeps_the_configured_penalizer():
    rng = np.random.default_rng(2)
    sim = simulate_bgnbd(BGNBDParams(r=0.25, alpha=4.4, a=0.8, b=2.4), rng.uniform(1, 52, 3000), rng=rng)
    params, _, expected = score_bgnbd(sim.frequency, sim.recency, sim.T, 52.0)
    assert params.diagnostics.extra["penalizer"] == 0.0 and np.isfinite(expected).all()
