"""Tests for assets.features.btyd: BG/NBD, Gamma-Gamma and CLV.

The acceptance tests rebuild the CDNOW calibration summary from the raw transaction log in
tests/data/CDNOW_sample.txt (see tests/data/README.md) and check the published estimates:
Fader, Hardie & Lee (2005) for BG/NBD and Fader & Hardie (2013) for Gamma-Gamma.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from assets.features.btyd import (
    BGNBDParams,
    GammaGammaParams,
    RFMSummary,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    bgnbd_unconditional_expected_purchases,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    gamma_gamma_log_likelihood,
    rfm_summary,
    simulate_bgnbd,
    simulate_gamma_gamma_spend,
)

CDNOW_SAMPLE = Path(__file__).parent / "data" / "CDNOW_sample.txt"
EPOCH = dt.date(1997, 1, 1)
# 39-week calibration period starting 1997-01-01: T for a 1 Jan first purchase is 272/7 = 38.86.
CALIBRATION_END_DAY = (dt.date(1997, 9, 30) - EPOCH).days

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


# ------------------------------------------------------------------------------------------------
# CDNOW fixtures
# ------------------------------------------------------------------------------------------------


def _load_cdnow_log() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, day since 1997-01-01, dollar value) per transaction line."""
    ids, days, amounts = [], [], []
    with CDNOW_SAMPLE.open() as fh:
        for line in fh:
            _master_id, sample_id, yyyymmdd, _n_cds, dollars = line.split()
            date = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
            ids.append(int(sample_id))
            days.append((date - EPOCH).days)
            amounts.append(float(dollars))
    return np.array(ids), np.array(days, dtype=float), np.array(amounts)


@pytest.fixture(scope="module")
def cdnow() -> RFMSummary:
    ids, days, amounts = _load_cdnow_log()
    # whole days as the timestamp: same-day purchases become one occasion; weeks as the unit
    return rfm_summary(ids, days, amounts, observation_end=CALIBRATION_END_DAY, time_unit=7.0)


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow: RFMSummary) -> BGNBDParams:
    return fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def cdnow_gg(cdnow: RFMSummary) -> GammaGammaParams:
    return fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)


# ------------------------------------------------------------------------------------------------
# Acceptance: published CDNOW figures
# ------------------------------------------------------------------------------------------------


def test_cdnow_summary_construction(cdnow: RFMSummary) -> None:
    assert len(cdnow.customer_id) == 2357
    assert int(np.sum(cdnow.frequency > 0)) == 946  # the Gamma-Gamma note's repeat buyers
    assert np.all(cdnow.T <= 272 / 7 + 1e-12) and np.all(cdnow.T >= 0)
    # customer 1: 1997-01-01 ($29.33), 01-18 ($29.73), 08-02 ($14.96); 12-12 is after calibration
    i = int(np.flatnonzero(cdnow.customer_id == 1)[0])
    assert cdnow.frequency[i] == 2
    assert cdnow.recency[i] == pytest.approx(213 / 7)  # 30.43 weeks
    assert cdnow.T[i] == pytest.approx(272 / 7)  # 38.86 weeks
    assert cdnow.monetary_value[i] == pytest.approx((29.73 + 14.96) / 2)  # repeat spend only


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_bgnbd: BGNBDParams) -> None:
    fitted = cdnow_bgnbd.as_dict()
    for name, published in PUBLISHED_BGNBD.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name
    diag = cdnow_bgnbd.diagnostics
    assert diag is not None and diag.converged
    assert diag.n_customers == 2357
    assert diag.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # as published
    assert all(np.isfinite(se) and se > 0 for se in diag.standard_errors.values())


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow_gg: GammaGammaParams) -> None:
    fitted = cdnow_gg.as_dict()
    for name, published in PUBLISHED_GG.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name
    diag = cdnow_gg.diagnostics
    assert diag is not None and diag.converged
    assert diag.n_customers == 946


def test_expectations_match_hardie_spreadsheet(cdnow_bgnbd: BGNBDParams) -> None:
    published = BGNBDParams(**PUBLISHED_BGNBD)
    # E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 (FHL 2005)
    assert bgnbd_expected_purchases(published, 39.0, [2], [30.43], [38.86])[0] == pytest.approx(
        1.226, abs=1e-3
    )
    # E[X(t)] column of Hardie's BG/NBD spreadsheet (computed at the MLE)
    times = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(
        bgnbd_unconditional_expected_purchases(cdnow_bgnbd, times), expected, atol=1e-3
    )


# ------------------------------------------------------------------------------------------------
# Model properties
# ------------------------------------------------------------------------------------------------


def test_p_alive_is_one_without_repeat_purchases(
    cdnow: RFMSummary, cdnow_bgnbd: BGNBDParams
) -> None:
    p_alive = bgnbd_p_alive(cdnow_bgnbd, cdnow.frequency, cdnow.recency, cdnow.T)
    # BG/NBD: dropout only happens right after a repeat purchase
    assert np.all(p_alive[cdnow.frequency == 0] == 1.0)
    repeat = p_alive[cdnow.frequency > 0]
    assert np.all((repeat > 0) & (repeat < 1))
    # the longer the silence since the last purchase, the less likely alive
    silence = bgnbd_p_alive(cdnow_bgnbd, [3, 3, 3], [10.0, 10.0, 10.0], [12.0, 25.0, 38.0])
    assert silence[0] > silence[1] > silence[2]


def test_expected_purchases_increase_with_horizon(
    cdnow: RFMSummary, cdnow_bgnbd: BGNBDParams
) -> None:
    horizons = [0.0, 1.0, 4.0, 13.0, 26.0, 52.0, 104.0]
    curves = np.array(
        [
            bgnbd_expected_purchases(cdnow_bgnbd, t, cdnow.frequency, cdnow.recency, cdnow.T)
            for t in horizons
        ]
    )
    assert np.all(curves[0] == 0.0)
    assert np.all(np.diff(curves, axis=0) > 0)


def test_expected_purchases_stable_for_heavy_buyers(cdnow_bgnbd: BGNBDParams) -> None:
    r, alpha, a, b = cdnow_bgnbd.r, cdnow_bgnbd.alpha, cdnow_bgnbd.a, cdnow_bgnbd.b
    x = np.array([0.0, 10.0, 100.0, 1000.0])
    T = np.full(4, 38.86)
    recency = np.where(x > 0, T, 0.0)  # bought on the last day: almost surely alive
    t = 52.0
    e = bgnbd_expected_purchases(cdnow_bgnbd, t, x, recency, T)
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) > 0)
    # the textbook form of FHL eq. 10 agrees where it can be evaluated (it is NaN at x = 1000)
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        textbook = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + T) / (alpha + T + t)) ** (r + x)
                * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
            * bgnbd_p_alive(cdnow_bgnbd, x, recency, T)
        )
    np.testing.assert_allclose(e[:3], textbook[:3], rtol=1e-8)
    # below the no-dropout posterior mean rate (r + x) / (alpha + T) times t, but not far below
    no_dropout = (r + x[-1]) / (alpha + T[-1]) * t
    assert 0.5 * no_dropout < e[-1] < no_dropout


def test_expected_purchases_continuous_at_a_equal_one() -> None:
    args = (26.0, [0, 1, 4], [0.0, 5.0, 20.0], [30.0, 30.0, 30.0])
    at_one = bgnbd_expected_purchases(BGNBDParams(0.5, 5.0, 1.0, 2.0), *args)
    below = bgnbd_expected_purchases(BGNBDParams(0.5, 5.0, 1.0 - 1e-4, 2.0), *args)
    above = bgnbd_expected_purchases(BGNBDParams(0.5, 5.0, 1.0 + 1e-4, 2.0), *args)
    np.testing.assert_allclose(at_one, 0.5 * (below + above), rtol=1e-6)


def test_gamma_gamma_expected_spend_shrinks_to_population_mean(cdnow_gg: GammaGammaParams) -> None:
    spend = gamma_gamma_expected_spend(cdnow_gg, [0, 1, 10, 10_000], [0.0, 100.0, 100.0, 100.0])
    assert spend[0] == pytest.approx(cdnow_gg.population_mean_spend)
    assert spend[0] < spend[1] < spend[2] < 100.0  # pulled from 100 towards the mean ~35
    assert spend[3] == pytest.approx(100.0, rel=1e-3)


def test_clv_decreases_with_discount_rate(
    cdnow: RFMSummary, cdnow_bgnbd: BGNBDParams, cdnow_gg: GammaGammaParams
) -> None:
    def clv(rate: float, horizon: float = 52.0) -> np.ndarray:
        return customer_lifetime_value(
            cdnow_bgnbd,
            cdnow_gg,
            cdnow.frequency,
            cdnow.recency,
            cdnow.T,
            cdnow.monetary_value,
            horizon=horizon,
            step=52.0 / 12.0,
            discount_rate=rate,
        )

    values = np.array([clv(rate) for rate in (0.0, 0.01, 0.05, 0.2)])
    assert np.all(values > 0)
    assert np.all(np.diff(values, axis=0) < 0)
    assert np.all(clv(0.01, horizon=104.0) > values[1])  # and increases with the horizon
    # without discounting the sum telescopes to E[spend] * E[purchases in the horizon]
    undiscounted = gamma_gamma_expected_spend(cdnow_gg, cdnow.frequency, cdnow.monetary_value) * (
        bgnbd_expected_purchases(cdnow_bgnbd, 52.0, cdnow.frequency, cdnow.recency, cdnow.T)
    )
    np.testing.assert_allclose(values[0], undiscounted, rtol=1e-10)


def test_clv_partial_last_step_and_zero_horizon(
    cdnow: RFMSummary, cdnow_bgnbd: BGNBDParams, cdnow_gg: GammaGammaParams
) -> None:
    args = (cdnow_bgnbd, cdnow_gg, cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value)
    assert np.all(customer_lifetime_value(*args, horizon=0.0, step=4.0, discount_rate=0.01) == 0.0)
    # 10 periods in steps of 4: t = 4, 8, 10 discounted by 1.1, 1.1^2, 1.1^3
    e = [
        bgnbd_expected_purchases(cdnow_bgnbd, t, cdnow.frequency, cdnow.recency, cdnow.T)
        for t in (0, 4, 8, 10)
    ]
    spend = gamma_gamma_expected_spend(cdnow_gg, cdnow.frequency, cdnow.monetary_value)
    manual = spend * sum((e[k] - e[k - 1]) / 1.1**k for k in (1, 2, 3))
    np.testing.assert_allclose(
        customer_lifetime_value(*args, horizon=10.0, step=4.0, discount_rate=0.1),
        manual,
        rtol=1e-12,
    )


# ------------------------------------------------------------------------------------------------
# Grouping, weights, rows
# ------------------------------------------------------------------------------------------------


def test_grouping_gives_the_same_fit(cdnow: RFMSummary, cdnow_bgnbd: BGNBDParams) -> None:
    ungrouped = fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.T, group=False)
    assert cdnow_bgnbd.diagnostics is not None and ungrouped.diagnostics is not None
    assert cdnow_bgnbd.diagnostics.n_unique < ungrouped.diagnostics.n_unique == 2357
    for name, value in cdnow_bgnbd.as_dict().items():
        assert ungrouped.as_dict()[name] == pytest.approx(value, rel=1e-5), name
    assert ungrouped.diagnostics.log_likelihood == pytest.approx(
        cdnow_bgnbd.diagnostics.log_likelihood, abs=1e-6
    )
    # the per-customer likelihood sums to the fitted one
    assert bgnbd_log_likelihood(
        cdnow_bgnbd, cdnow.frequency, cdnow.recency, cdnow.T
    ).sum() == pytest.approx(cdnow_bgnbd.diagnostics.log_likelihood, abs=1e-6)

    # triples grouped by the caller (GROUP BY in SQL) and passed with counts
    triples, counts = np.unique(
        np.column_stack([cdnow.frequency, cdnow.recency, cdnow.T]), axis=0, return_counts=True
    )
    weighted = fit_bgnbd(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    assert weighted.diagnostics is not None and weighted.diagnostics.n_customers == 2357
    for name, value in cdnow_bgnbd.as_dict().items():
        assert weighted.as_dict()[name] == pytest.approx(value, rel=1e-5), name


def test_gamma_gamma_grouping_gives_the_same_fit(
    cdnow: RFMSummary, cdnow_gg: GammaGammaParams
) -> None:
    ungrouped = fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value, group=False)
    for name, value in cdnow_gg.as_dict().items():
        assert ungrouped.as_dict()[name] == pytest.approx(value, rel=1e-5), name
    assert cdnow_gg.diagnostics is not None
    repeat = cdnow.frequency > 0
    total = gamma_gamma_log_likelihood(
        cdnow_gg, cdnow.frequency[repeat], cdnow.monetary_value[repeat]
    ).sum()
    assert total == pytest.approx(cdnow_gg.diagnostics.log_likelihood, abs=1e-6)


def test_to_rows_for_parameter_table(cdnow_bgnbd: BGNBDParams, cdnow_gg: GammaGammaParams) -> None:
    for model, names in ((cdnow_bgnbd, ["r", "alpha", "a", "b"]), (cdnow_gg, ["p", "q", "gamma"])):
        rows = model.to_rows()
        params = [name for name, _ in rows]
        assert params[: len(names)] == names
        assert len(set(params)) == len(params)  # one row per (run, param)
        assert all(isinstance(name, str) and isinstance(value, float) for name, value in rows)
        for expected in ("log_likelihood", "n_customers", "n_unique", "converged", "iterations"):
            assert expected in params
        assert {f"se_{n}" for n in names} <= set(params)
    assert BGNBDParams(**PUBLISHED_BGNBD).to_rows() == list(PUBLISHED_BGNBD.items())


# ------------------------------------------------------------------------------------------------
# Simulation: parameter recovery and hold-out calibration
# ------------------------------------------------------------------------------------------------


def test_parameters_recovered_from_simulated_customers() -> None:
    rng = np.random.default_rng(12345)
    true_bg = BGNBDParams(**PUBLISHED_BGNBD)
    true_gg = GammaGammaParams(**PUBLISHED_GG)
    T = (364 - rng.integers(0, 364, 100_000)) / 7.0
    sim = simulate_bgnbd(true_bg, T, rng=rng, resolution=1 / 7)
    spend = simulate_gamma_gamma_spend(true_gg, sim.frequency, rng=rng)
    for true, fitted in (
        (true_bg, fit_bgnbd(sim.frequency, sim.recency, sim.T)),
        (true_gg, fit_gamma_gamma(sim.frequency, spend)),
    ):
        assert fitted.diagnostics is not None and fitted.diagnostics.converged
        ses = fitted.diagnostics.standard_errors
        for name, value in true.as_dict().items():
            z = (fitted.as_dict()[name] - value) / ses[name]
            assert abs(z) < 4.0, (name, fitted.as_dict()[name], value, ses[name])


def test_conditional_expectation_matches_simulated_holdout() -> None:
    rng = np.random.default_rng(2024)
    params = BGNBDParams(**PUBLISHED_BGNBD)
    T = rng.uniform(0.0, 39.0, 100_000)
    sim = simulate_bgnbd(params, T, rng=rng, holdout=39.0)
    predicted = bgnbd_expected_purchases(params, 39.0, sim.frequency, sim.recency, sim.T)
    assert predicted.sum() == pytest.approx(sim.holdout_frequency.sum(), rel=0.03)
    # also within groups of calibration frequency
    for lo, hi in ((0, 0), (1, 2), (3, 1000)):
        group = (sim.frequency >= lo) & (sim.frequency <= hi)
        assert predicted[group].sum() == pytest.approx(sim.holdout_frequency[group].sum(), rel=0.06)


# ------------------------------------------------------------------------------------------------
# Input handling
# ------------------------------------------------------------------------------------------------


def test_rfm_summary_combines_same_day_and_drops_after_end() -> None:
    summary = rfm_summary(
        ["b", "a", "a", "a", "a", "b", "c"],
        [3.0, 0.0, 0.0, 7.0, 14.0, 30.0, 20.0],
        [5.0, 10.0, 2.0, 4.0, 6.0, 99.0, 1.0],
        observation_end=21.0,
        time_unit=7.0,
    )
    assert summary.customer_id.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(summary.frequency, [2, 0, 0])
    np.testing.assert_allclose(summary.recency, [2.0, 0.0, 0.0])
    np.testing.assert_allclose(summary.T, [3.0, 18 / 7, 1 / 7])
    np.testing.assert_allclose(summary.monetary_value, [5.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [1.0, 5.0], [2.0, 4.0], "recency must be <= T"),
        ([-1, 2], [0.0, 1.0], [2.0, 4.0], "non-negative whole numbers"),
        ([1.5, 2], [1.0, 1.0], [2.0, 4.0], "non-negative whole numbers"),
        ([1, 2], [1.0, np.nan], [2.0, 4.0], "non-finite"),
        ([1, 2, 3], [1.0, 1.0], [2.0, 4.0], "same length"),
        ([0, 0], [0.0, 0.0], [2.0, 4.0], "no customer has a repeat purchase"),
    ],
)
def test_fit_bgnbd_rejects_bad_input(frequency: list, recency: list, T: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, T)


def test_fit_gamma_gamma_rejects_non_positive_spend() -> None:
    with pytest.raises(ValueError, match="monetary_value <= 0"):
        fit_gamma_gamma([1, 2, 0], [10.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="no repeat buyer"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])


def test_params_must_be_positive() -> None:
    with pytest.raises(ValueError, match="bg_nbd parameters"):
        BGNBDParams(r=0.2, alpha=-1.0, a=0.8, b=2.4)
    with pytest.raises(ValueError, match="gamma_gamma parameters"):
        GammaGammaParams(p=6.0, q=3.0, gamma=float("nan"))


# ------------------------------------------------------------------------------------------------
# Numerical stability when a and b are huge (degenerate fit: no dropout signal)
# ------------------------------------------------------------------------------------------------

DEGENERATE = BGNBDParams(r=1.5, alpha=20.0, a=8e5, b=6e6)  # as fitted on generator data


def _textbook_expected(params: BGNBDParams, t: float, x, tx, T) -> np.ndarray:
    """FHL (2005) eq. 10 exactly as printed: (1-z)^(r+x) times 2F1(r+x, b+x; a+b+x-1; z)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
    return (a + b + x - 1) / (a - 1) * bracket * bgnbd_p_alive(params, x, tx, T)


def _quadrature_expected(params: BGNBDParams, t: float, x: float, tx: float, T: float) -> float:
    """Independent reference: P(alive) * E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p], p ~ Beta(a, b+x),
    by adaptive quadrature over the (normalised) Beta density."""
    from scipy import integrate

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    s, k, bx = t / (alpha + T), r + x, b + x
    mean = a / (a + bx)
    sd = np.sqrt(a * bx / ((a + bx) ** 2 * (a + bx + 1)))
    lo, hi = max(0.0, mean - 40 * sd), min(1.0, mean + 40 * sd)

    def log_density(p):  # unnormalised, scaled to 1 at the mean
        return (a - 1) * (np.log(p) - np.log(mean)) + (bx - 1) * (np.log1p(-p) - np.log1p(-mean))

    kw = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 500, "points": [mean]}
    num = integrate.quad(lambda p: -np.expm1(-k * np.log1p(p * s)) / p * np.exp(log_density(p)), lo, hi, **kw)
    den = integrate.quad(lambda p: np.exp(log_density(p)), lo, hi, **kw)
    return float(num[0] / den[0] * bgnbd_p_alive(params, [x], [tx], [T])[0])


@pytest.mark.parametrize("ab", [(2.0, 5.0), (20.0, 60.0), (300.0, 900.0), (3e3, 2e4), (3e4, 2e5)])
def test_expected_purchases_match_textbook_formula_where_it_is_finite(ab) -> None:
    params = BGNBDParams(r=1.5, alpha=20.0, a=ab[0], b=ab[1])
    x = np.repeat([0.0, 1.0, 3.0, 10.0, 40.0], 6)
    T = np.tile([1.0, 10.0, 30.0, 52.0, 80.0, 200.0], 5)
    tx = np.where(x > 0, 0.6 * T, 0.0)
    compared = 0
    for t in (0.5, 4.0, 26.0, 52.0, 365.0):
        exact = _textbook_expected(params, t, x, tx, T)
        stable = bgnbd_expected_purchases(params, t, x, tx, T)
        assert np.all(np.isfinite(stable))
        ok = np.isfinite(exact)
        np.testing.assert_allclose(stable[ok], exact[ok], rtol=1e-8)
        compared += int(ok.sum())
    assert compared >= 100  # the grid is mostly where the textbook form can be evaluated


@pytest.mark.parametrize("params", [DEGENERATE, BGNBDParams(r=0.3, alpha=5.0, a=2e4, b=9e4)])
def test_expected_purchases_match_quadrature_for_huge_a_and_b(params: BGNBDParams) -> None:
    cases = [(52.0, 0, 0.0, 30.0), (52.0, 3, 20.0, 30.0), (5.0, 30, 45.0, 50.0),
             (300.0, 300, 7.0, 10.0), (1.0, 2, 0.5, 1.0)]
    for t, x, tx, T in cases:
        stable = bgnbd_expected_purchases(params, t, [x], [tx], [T])[0]
        assert stable == pytest.approx(_quadrature_expected(params, t, x, tx, T), rel=1e-8), (t, x)


def test_degenerate_parameters_give_finite_values_near_the_limit() -> None:
    r, alpha, a, b = DEGENERATE.r, DEGENERATE.alpha, DEGENERATE.a, DEGENERATE.b
    x = np.array([0.0, 1.0, 2.0, 5.0, 20.0, 100.0, 1000.0, 5000.0])
    T = np.full(len(x), 40.0)
    tx = np.where(x >= 20, 40.0, np.where(x > 0, 25.0, 0.0))  # heavy buyers bought last
    p_alive = bgnbd_p_alive(DEGENERATE, x, tx, T)
    assert np.all(p_alive > 0.5)
    for t in (1.0, 52.0, 365.0):
        e = bgnbd_expected_purchases(DEGENERATE, t, x, tx, T)
        assert np.all(np.isfinite(e)) and np.all(e > 0)
        # a, b -> inf with q = (a-1)/(a+b+x-1) fixed: Beta(a-1, b+x) collapses on q
        q = (a - 1) / (a + b + x - 1)
        limit = p_alive * -np.expm1(-(r + x) * np.log1p(q * t / (alpha + T))) / q
        np.testing.assert_allclose(e, limit, rtol=1e-5)
    # q -> 0 as well: the no-dropout forecast (r+x) t / (alpha+T) times P(alive)
    tiny_q = BGNBDParams(r=r, alpha=alpha, a=2.0, b=1e9)
    np.testing.assert_allclose(
        bgnbd_expected_purchases(tiny_q, 52.0, x[:5], tx[:5], T[:5]),
        bgnbd_p_alive(tiny_q, x[:5], tx[:5], T[:5]) * (r + x[:5]) * 52.0 / (alpha + T[:5]),
        rtol=1e-6,
    )


def test_degenerate_fit_on_constant_dropout_customers_scores_every_customer() -> None:
    rng = np.random.default_rng(1)
    sim = simulate_bgnbd(DEGENERATE, rng.uniform(1, 52, 3000), rng=rng, resolution=1 / 7)
    fitted = fit_bgnbd(sim.frequency, sim.recency, sim.T)
    assert fitted.a > 1e3 and fitted.b > 1e3  # the plain MLE runs off: no dropout signal
    expected = bgnbd_expected_purchases(fitted, 52.0, sim.frequency, sim.recency, sim.T)
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)
    gg = GammaGammaParams(**PUBLISHED_GG)
    spend = simulate_gamma_gamma_spend(gg, sim.frequency, rng=rng)
    clv = customer_lifetime_value(fitted, gg, sim.frequency, sim.recency, sim.T, spend,
                                  horizon=52.0, step=52.0 / 12.0, discount_rate=0.01)
    assert np.all(np.isfinite(clv)) and np.all(clv > 0)
