"""Buy-till-you-die customer-lifetime-value models: BG/NBD, Gamma-Gamma and discounted CLV.

Pure functions over numpy arrays; the pipeline computes the per-customer summary in DuckDB and
passes columns in. All times are in one *model period* of the caller's choosing (weeks for the
CDNOW reference data, days or weeks in the pipeline) and every function here must be given times
in that same unit.

Per customer, over a calibration window that ends at ``observation_end``:

* ``frequency`` (x): number of *repeat* purchase occasions (transactions at the same timestamp,
  e.g. the same day, are combined into one; the first purchase is not counted);
* ``recency`` (t_x): time from the first purchase to the last one (0 when x = 0);
* ``T``: time from the first purchase to ``observation_end``;
* ``monetary_value`` (m_x): mean value of the x repeat purchase occasions (0 when x = 0).

:func:`rfm_summary` builds exactly these columns from a transaction log and is the reference for
the SQL that does the same in the pipeline.

Models
------
* BG/NBD -- Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", Marketing Science 24(2). While alive a customer buys as a Poisson process
  with rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out for good with
  probability p ~ Beta(a, b). :func:`fit_bgnbd` is the maximum-likelihood fit.
* Gamma-Gamma -- Fader & Hardie (2013), "The Gamma-Gamma model of monetary value". Transaction
  values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, independent of the purchase
  process. :func:`fit_gamma_gamma` is the maximum-likelihood fit on the repeat buyers.
* :func:`customer_lifetime_value` -- discounted expected purchases per sub-period times the
  expected spend per purchase.

Fitted parameters come back as :class:`BGNBDParams` / :class:`GammaGammaParams`, whose
``to_rows()`` gives ``(param, value)`` pairs for a long parameter table (one row per run and
parameter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = [
    "FitDiagnostics",
    "BGNBDParams",
    "GammaGammaParams",
    "RFMSummary",
    "SimulatedCustomers",
    "rfm_summary",
    "fit_bgnbd",
    "bgnbd_log_likelihood",
    "bgnbd_expected_purchases",
    "bgnbd_unconditional_expected_purchases",
    "bgnbd_p_alive",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "gamma_gamma_expected_spend",
    "customer_lifetime_value",
    "simulate_bgnbd",
    "simulate_gamma_gamma_spend",
]

# Optimiser bounds on the log of every parameter: exp(+-20) = 2e-9 .. 5e8. A fit that ends on a
# bound is reported as not converged (degenerate data, e.g. no evidence of dropout).
_LOG_BOUND = 20.0
# Near a = 1 the BG/NBD expectation is 0/0 (a removable singularity); it is evaluated as the mean
# of the values at a = 1 -+ this offset.
_A_NEAR_ONE = 1e-7


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitDiagnostics:
    """How a maximum-likelihood fit went.

    Attributes:
        log_likelihood: maximised log-likelihood summed over customers (without any penalty).
        n_customers: customers in the fit (the sum of the weights).
        n_unique: distinct rows the likelihood was evaluated on after grouping.
        converged: optimiser reported success, the gradient is small and no parameter is on the
            optimiser's bound.
        iterations: optimiser iterations.
        max_abs_gradient: largest absolute gradient of the mean negative log-likelihood with
            respect to the log-parameters at the solution.
        message: optimiser's message.
        standard_errors: asymptotic standard error per parameter from the inverse of the
            numerically differentiated Hessian (NaN when the Hessian is not positive definite).
        fit_seconds: wall time of the fit, grouping included.
        extra: model-specific diagnostics (name -> value).
    """

    log_likelihood: float
    n_customers: int
    n_unique: int
    converged: bool
    iterations: int
    max_abs_gradient: float
    message: str
    standard_errors: dict[str, float]
    fit_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    def to_rows(self) -> list[tuple[str, float]]:
        """``(name, value)`` pairs: ``se_<param>``, fit statistics and the model-specific extras."""
        rows = [(f"se_{name}", float(se)) for name, se in self.standard_errors.items()]
        rows += [
            ("log_likelihood", float(self.log_likelihood)),
            ("n_customers", float(self.n_customers)),
            ("n_unique", float(self.n_unique)),
            ("converged", 1.0 if self.converged else 0.0),
            ("iterations", float(self.iterations)),
            ("max_abs_gradient", float(self.max_abs_gradient)),
            ("fit_seconds", float(self.fit_seconds)),
        ]
        rows += [(name, float(value)) for name, value in self.extra.items()]
        return rows


@dataclass(frozen=True)
class BGNBDParams:
    """BG/NBD parameters (Fader, Hardie & Lee 2005).

    Attributes:
        r, alpha: shape and rate of the Gamma distribution of the purchase rate lambda (per model
            period; mean rate r / alpha).
        a, b: Beta distribution of the dropout probability p after each repeat purchase (mean
            a / (a + b)).
        diagnostics: present when the parameters come from :func:`fit_bgnbd`.
    """

    MODEL: ClassVar[str] = "bg_nbd"
    PARAM_NAMES: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    r: float
    alpha: float
    a: float
    b: float
    diagnostics: FitDiagnostics | None = None

    def __post_init__(self) -> None:
        _check_positive_params(self.MODEL, self.as_dict())

    def as_dict(self) -> dict[str, float]:
        """Parameters by name."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def to_rows(self) -> list[tuple[str, float]]:
        """``(param, value)`` rows for a parameter table: the parameters, then the diagnostics."""
        rows = [(name, float(value)) for name, value in self.as_dict().items()]
        if self.diagnostics is not None:
            rows += self.diagnostics.to_rows()
        return rows


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma spend-model parameters (Fader & Hardie 2013).

    A customer's transaction values are Gamma(p, nu) (shape p, rate nu) and nu ~ Gamma(q, gamma)
    (shape q, rate gamma) across customers.

    Attributes:
        p, q, gamma: the model's parameters.
        diagnostics: present when the parameters come from :func:`fit_gamma_gamma`.
    """

    MODEL: ClassVar[str] = "gamma_gamma"
    PARAM_NAMES: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    p: float
    q: float
    gamma: float
    diagnostics: FitDiagnostics | None = None

    def __post_init__(self) -> None:
        _check_positive_params(self.MODEL, self.as_dict())

    def as_dict(self) -> dict[str, float]:
        """Parameters by name."""
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean_spend(self) -> float:
        """Mean transaction value across the population, p * gamma / (q - 1); inf when q <= 1."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else math.inf

    def to_rows(self) -> list[tuple[str, float]]:
        """``(param, value)`` rows for a parameter table: the parameters, then the diagnostics."""
        rows = [(name, float(value)) for name, value in self.as_dict().items()]
        if self.diagnostics is not None:
            rows += self.diagnostics.to_rows()
        return rows


@dataclass(frozen=True)
class RFMSummary:
    """Per-customer calibration summary, one entry per customer, sorted by customer id."""

    customer_id: np.ndarray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray


@dataclass(frozen=True)
class SimulatedCustomers:
    """Customers drawn from a BG/NBD population (see :func:`simulate_bgnbd`)."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    holdout_frequency: FloatArray
    purchase_rate: FloatArray
    dropout_probability: FloatArray


def _check_positive_params(model: str, params: dict[str, float]) -> None:
    bad = {k: v for k, v in params.items() if not (math.isfinite(v) and v > 0.0)}
    if bad:
        raise ValueError(f"{model} parameters must be finite and > 0, got {bad}")


# --------------------------------------------------------------------------------------------
# Input checks and grouping
# --------------------------------------------------------------------------------------------


def _column(name: str, values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has {int(np.sum(~np.isfinite(arr)))} non-finite value(s)")
    return arr


def _same_length(**columns: FloatArray) -> int:
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"columns must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def _rfm_columns(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = _column("frequency", frequency)
    tx = _column("recency", recency)
    big_t = _column("T", T)
    _same_length(frequency=x, recency=tx, T=big_t)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be non-negative whole numbers")
    if np.any(tx < 0):
        raise ValueError("recency must be >= 0")
    # Small tolerance: recency and T are usually both day counts divided by the same unit.
    tol = 1e-9 * np.maximum(1.0, big_t)
    if np.any(tx > big_t + tol):
        n_bad = int(np.sum(tx > big_t + tol))
        raise ValueError(f"recency must be <= T ({n_bad} customer(s) violate it)")
    return x, np.minimum(tx, big_t), big_t


def _weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _column("weights", weights)
    if len(w) != n:
        raise ValueError(f"weights has length {len(w)}, expected {n}")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    return w


def _group(
    columns: tuple[FloatArray, ...], weights: FloatArray
) -> tuple[tuple[FloatArray, ...], FloatArray, IntArray]:
    """Distinct rows of ``columns`` with summed weights, and each input row's group index."""
    n = len(weights)
    if n == 0:
        return tuple(c[:0] for c in columns), weights[:0], np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new_group = np.zeros(n, dtype=bool)
    new_group[0] = True
    for c in sorted_cols:
        new_group[1:] |= c[1:] != c[:-1]
    group_of_sorted = np.cumsum(new_group) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_of_sorted
    starts = np.flatnonzero(new_group)
    unique_cols = tuple(c[starts] for c in sorted_cols)
    counts = np.asarray(
        np.bincount(group_of_sorted, weights=weights[order], minlength=len(starts)),
        dtype=np.float64,
    )
    return unique_cols, counts, inverse


# --------------------------------------------------------------------------------------------
# Generic maximum likelihood in log-parameters
# --------------------------------------------------------------------------------------------

# (sum log-likelihood, gradient of the sum w.r.t. the log-parameters)
_LogLikFn = Callable[[FloatArray], tuple[float, FloatArray]]


def _numerical_hessian(loglik: _LogLikFn, theta: FloatArray, step: float = 1e-5) -> FloatArray:
    """Hessian of the summed log-likelihood w.r.t. log-parameters, central differences of the
    analytic gradient."""
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        hess[:, j] = (loglik(theta + e)[1] - loglik(theta - e)[1]) / (2.0 * step)
    return 0.5 * (hess + hess.T)


def _maximise(
    loglik: _LogLikFn,
    theta0: FloatArray,
    names: tuple[str, ...],
    total_weight: float,
    penalizer: float,
    max_iter: int,
    standard_errors: bool,
) -> tuple[FloatArray, float, bool, int, float, str, dict[str, float]]:
    """Maximise ``loglik`` over log-parameters with L-BFGS-B on the mean negative log-likelihood
    plus ``penalizer * sum(params**2)``. Returns (theta, loglik, converged, iterations,
    max |grad|, message, standard errors)."""

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        ll, grad = loglik(theta)
        params = np.exp(theta)
        value = -ll / total_weight + penalizer * float(np.sum(params**2))
        gradient = -grad / total_weight + 2.0 * penalizer * params**2
        if not np.isfinite(value):  # keep the line search away from overflow
            return 1e300, np.zeros_like(theta)
        return value, gradient

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(theta0)
    result = optimize.minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    theta = np.asarray(result.x, dtype=np.float64)
    ll, _ = loglik(theta)
    max_grad = float(np.max(np.abs(objective(theta)[1])))
    on_bound = bool(np.any(np.abs(theta) >= _LOG_BOUND - 1e-6))
    # L-BFGS-B can stop on "ABNORMAL_TERMINATION_IN_LNSRCH" at an optimum where the objective is
    # flat to machine precision; judge convergence by the gradient as well.
    converged = bool(np.isfinite(ll) and not on_bound and (result.success or max_grad < 1e-6))
    message = str(result.message) + ("; parameter on optimiser bound" if on_bound else "")

    ses = {name: math.nan for name in names}
    if standard_errors and np.isfinite(ll):
        hess = _numerical_hessian(loglik, theta)
        if penalizer > 0.0:
            hess -= np.diag(4.0 * penalizer * total_weight * np.exp(2.0 * theta))
        try:
            cov_log = np.linalg.inv(-hess)
            var = np.diag(cov_log)
            if np.all(var > 0) and np.all(np.isfinite(var)):
                # delta method: se(theta_nat) = theta_nat * se(log theta_nat)
                ses = dict(zip(names, (np.exp(theta) * np.sqrt(var)).tolist(), strict=True))
        except np.linalg.LinAlgError:
            pass
    return theta, float(ll), converged, int(result.nit), max_grad, message, ses


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


def _bgnbd_loglik_factory(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray
) -> _LogLikFn:
    """Summed weighted BG/NBD log-likelihood and its gradient w.r.t. (log r, log alpha, log a,
    log b).

    Per customer (FHL 2005, eq. 6), with A = ln Gamma(r+x) - ln Gamma(r) + r ln alpha
    + ln B(a, b+x) - ln B(a, b):

        ll = A + log( exp(-(r+x) ln(alpha+T))
                      + [x>0] exp(ln a - ln(b+x-1) - (r+x) ln(alpha+t_x)) )

    Terms depending on x alone are evaluated once per distinct x (a few hundred values at most),
    so one evaluation costs a handful of vectorised log/exp over the rows.
    """
    ux, x_idx = np.unique(x, return_inverse=True)
    wx = np.bincount(x_idx, weights=w, minlength=len(ux))  # total weight per distinct x
    pos = x > 0
    xp, txp, wp = x[pos], tx[pos], w[pos]
    total_w = float(w.sum())

    def loglik(theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        # --- parts that depend on x only
        ll_x = (
            special.gammaln(r + ux)
            - special.gammaln(r)
            + special.betaln(a, b + ux)
            - special.betaln(a, b)
        )
        d_r_x = special.digamma(r + ux) - special.digamma(r)
        d_a_x = special.digamma(a + b) - special.digamma(a + b + ux)
        d_b_x = special.digamma(b + ux) - special.digamma(b) + d_a_x
        ll = float(wx @ ll_x) + total_w * r * math.log(alpha)
        g_r = float(wx @ d_r_x) + total_w * math.log(alpha)
        g_alpha = total_w * r / alpha
        g_a = float(wx @ d_a_x)
        g_b = float(wx @ d_b_x)

        # --- all rows: the "still alive at T" term
        rx = r + x
        log_at = np.log(alpha + big_t)
        a3 = -rx * log_at
        # --- rows with x > 0: the "dropped out after the last purchase" term, mixed in log-space
        a3p = a3[pos]
        rxp = rx[pos]
        log_atx = np.log(alpha + txp)
        a4 = math.log(a) - np.log(b + xp - 1.0) - rxp * log_atx
        mix = np.logaddexp(a3p, a4)
        s4 = np.exp(a4 - mix)  # posterior weight of the dropout branch (x = 0 rows: 0)

        ll += float(w @ a3) - float(wp @ a3p) + float(wp @ mix)
        # gradient: the alive-at-T branch has weight 1 - s4 (1 for x = 0 rows)
        inv_at = 1.0 / (alpha + big_t)
        g_r += -float(w @ log_at) + float(wp @ (s4 * (log_at[pos] - log_atx)))
        g_alpha += -float(w @ (rx * inv_at)) + float(
            wp @ (rxp * (s4 * (inv_at[pos] - 1.0 / (alpha + txp))))
        )
        g_a += float(wp @ s4) / a
        g_b += -float(wp @ (s4 / (b + xp - 1.0)))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return ll, grad

    return loglik


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    group: bool = True,
    penalizer: float = 0.0,
    initial: BGNBDParams | None = None,
    max_iter: int = 1000,
    standard_errors: bool = True,
) -> BGNBDParams:
    """Maximum-likelihood fit of the BG/NBD model.

    The log-likelihood (FHL 2005, eq. 6) is maximised over log-parameters with L-BFGS-B and an
    analytic gradient. Identical (frequency, recency, T) rows are grouped and the likelihood is
    weighted by their counts, so the cost scales with the number of distinct triples (times are
    usually whole days, so a million customers give far fewer distinct triples).

    Args:
        frequency: repeat purchases per customer (whole numbers >= 0).
        recency: time of the last purchase after the first one (0 <= recency <= T).
        T: time from the first purchase to the end of the calibration period.
        weights: optional count per row, e.g. when the caller has already grouped identical
            triples (GROUP BY frequency, recency, T in SQL). Defaults to 1 per row.
        group: group identical triples before fitting (same result, faster).
        penalizer: optional L2 penalty ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` added to the
            mean negative log-likelihood (0 = plain MLE), for small or degenerate samples.
        initial: starting values; by default r = 1, a = 1, b = 3 and alpha from the mean purchase
            rate.
        max_iter: optimiser iteration limit.
        standard_errors: compute standard errors from the Hessian (8 extra gradient evaluations).

    Returns:
        The fitted :class:`BGNBDParams` with :class:`FitDiagnostics`.

    Raises:
        ValueError: invalid input, or no customer with a repeat purchase (no finite MLE).
    """
    started = time.perf_counter()
    x, tx, big_t = _rfm_columns(frequency, recency, T)
    w = _weights(weights, len(x))
    keep = w > 0
    x, tx, big_t, w = x[keep], tx[keep], big_t[keep], w[keep]
    if len(x) == 0:
        raise ValueError("no customers to fit")
    if not np.any(x > 0):
        raise ValueError("no customer has a repeat purchase: the BG/NBD MLE does not exist")
    if penalizer < 0:
        raise ValueError("penalizer must be >= 0")
    # recency is irrelevant when x = 0; normalise it so such rows group together
    tx = np.where(x > 0, tx, 0.0)
    if group:
        (x, tx, big_t), w, _ = _group((x, tx, big_t), w)
    total_w = float(w.sum())

    if initial is None:
        mean_rate = float(w @ x) / max(float(w @ big_t), 1e-12)
        init = np.array([1.0, 1.0 / max(mean_rate, 1e-12), 1.0, 3.0])
    else:
        init = np.array([initial.r, initial.alpha, initial.a, initial.b])
    theta0 = np.clip(np.log(init), -_LOG_BOUND + 1.0, _LOG_BOUND - 1.0)

    loglik = _bgnbd_loglik_factory(x, tx, big_t, w)
    theta, ll, converged, nit, max_grad, message, ses = _maximise(
        loglik, theta0, BGNBDParams.PARAM_NAMES, total_w, penalizer, max_iter, standard_errors
    )
    r, alpha, a, b = np.exp(theta).tolist()
    diagnostics = FitDiagnostics(
        log_likelihood=ll,
        n_customers=int(round(total_w)),
        n_unique=len(x),
        converged=converged,
        iterations=nit,
        max_abs_gradient=max_grad,
        message=message,
        standard_errors=ses,
        fit_seconds=time.perf_counter() - started,
        extra={"penalizer": float(penalizer)},
    )
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b, diagnostics=diagnostics)


def bgnbd_log_likelihood(
    params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6), e.g. to score a hold-out sample."""
    x, tx, big_t = _rfm_columns(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    base = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * math.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    pos = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[pos] = math.log(a) - np.log(b + x[pos] - 1.0) - (r + x[pos]) * np.log(alpha + tx[pos])
    return np.asarray(base + np.logaddexp(a3, a4), dtype=np.float64)


def _bgnbd_expected(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    big_t: FloatArray,
) -> FloatArray:
    """FHL 2005 eq. 10 for one value of a (a != 1):

        E[Y(t) | x, t_x, T] = c/(a-1) * (1 - P) * P(alive),   c = a+b+x-1,  z = t/(alpha+T+t),
        P = (1-z)^(r+x) 2F1(r+x, b+x; c; z)                     (FHL form)
          = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)                 (Euler transformation).

    Where it comes from: given alive, p ~ Beta(a, b+x) and lambda ~ Gamma(r+x, alpha+T), and
    E[Y(t) | alive, lambda, p] = (1 - exp(-lambda p t)) / p; integrating lambda out and using
    B(a-1, b+x) / B(a, b+x) = c/(a-1) gives P = E[(1 + p s)^-(r+x)] over p ~ Beta(a-1, b+x),
    s = t/(alpha+T) (for a > 1), so P lies in (0, 1]. But each closed form is a product of a
    factor that can underflow and a 2F1 that can overflow:

    * the Euler form keeps 2F1 O(1) for heavy buyers (large x) and is used wherever it is finite;
    * when a + b is large (a degenerate fit with no dropout signal, a and b ~ 1e6), its 2F1 grows
      like (1 - q z)^-(a+b), q = (a-1)/c, and overflows while (1-z)^(a-1) underflows
      (0 * inf = NaN). There the FHL form, whose 2F1 stays moderate (about
      (1 - (1-q) z)^-(r+x)), is evaluated in log space:
      log P = (r+x) log(1-z) + log 2F1(r+x, b+x; c; z);
    * where both 2F1 overflow (a + b and x both very large), P is replaced by its limit as
      a, b -> inf at fixed q, where Beta(a-1, b+x) collapses on q: P -> (1 + q s)^-(r+x)
      (relative error O(1/c)). The expectation then tends to
      P(alive) * (1 - (1 + q s)^-(r+x)) / q, and to P(alive) * (r+x) t / (alpha+T) as q -> 0.

    1 - P is taken as -expm1(log P) on the fallback paths, so no precision is lost near P = 1.
    """
    xb, txb, tb, hb = np.broadcast_arrays(x, tx, big_t, t)
    c = a + b + xb - 1.0
    rx = r + xb
    log1mz = np.log(alpha + tb) - np.log(alpha + tb + hb)  # log(1 - z)
    z = -np.expm1(log1mz)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        product = np.exp((a - 1.0) * log1mz) * hyp
        bracket = 1.0 - product
        bad = ~np.isfinite(bracket)
        if np.any(bad):
            log_p = rx[bad] * log1mz[bad] + np.log(special.hyp2f1(rx[bad], b + xb[bad], c[bad], z[bad]))
            limit = -rx[bad] * np.log1p((a - 1.0) / c[bad] * hb[bad] / (alpha + tb[bad]))
            log_p = np.where(np.isfinite(log_p), log_p, limit)
            bracket[bad] = -np.expm1(log_p)
    numerator = c / (a - 1.0) * bracket
    return np.asarray(numerator * _p_alive(r, alpha, a, b, xb, txb, tb), dtype=np.float64)


def _p_alive(
    r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, big_t: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) for validated float arrays (see :func:`bgnbd_p_alive`)."""
    pos = x > 0
    out = np.ones(np.broadcast(x, tx, big_t).shape)
    xb, txb, tb = np.broadcast_arrays(x, tx, big_t)
    xp, txp, tp = xb[pos], txb[pos], tb[pos]
    log_odds_dead = (
        math.log(a) - np.log(b + xp - 1.0) + (r + xp) * (np.log(alpha + tp) - np.log(alpha + txp))
    )
    out[pos] = special.expit(-log_odds_dead)
    return out


def bgnbd_expected_purchases(
    params: BGNBDParams,
    t: float | ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> FloatArray:
    """Expected number of purchases in the next ``t`` periods for each customer (FHL 2005, eq. 10).

        E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
            * [1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
            * P(alive | x, t_x, T)

    Stays finite for degenerate fits (a, b ~ 1e6, no dropout signal), where the textbook product
    is 0 * inf: see ``_bgnbd_expected`` for the representations used and the a, b -> inf limit.

    Args:
        params: fitted BG/NBD parameters.
        t: horizon(s) in model periods (>= 0); a scalar or an array broadcastable to the
            customers.
        frequency, recency, T: the customers' calibration summary.
    """
    x, tx, big_t = _rfm_columns(frequency, recency, T)
    horizon = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(horizon)) or np.any(horizon < 0):
        raise ValueError("t must be finite and >= 0")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < _A_NEAR_ONE:
        lo = _bgnbd_expected(r, alpha, 1.0 - _A_NEAR_ONE, b, horizon, x, tx, big_t)
        hi = _bgnbd_expected(r, alpha, 1.0 + _A_NEAR_ONE, b, horizon, x, tx, big_t)
        return 0.5 * (lo + hi)
    return _bgnbd_expected(r, alpha, a, b, horizon, x, tx, big_t)


def bgnbd_unconditional_expected_purchases(params: BGNBDParams, t: float | ArrayLike) -> FloatArray:
    """E[X(t)]: expected repeat purchases in (0, t] for a customer who just made a first purchase
    (FHL 2005, eq. 9), i.e. eq. 10 with x = t_x = T = 0."""
    horizon = np.atleast_1d(np.asarray(t, dtype=np.float64))
    zeros = np.zeros_like(horizon)
    return bgnbd_expected_purchases(params, horizon, zeros, zeros, zeros)


def bgnbd_p_alive(
    params: BGNBDParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Probability that each customer is still alive at the end of calibration (FHL 2005, eq. 13).

        P(alive | x, t_x, T) = 1 / (1 + [x>0] * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))

    In the BG/NBD model dropout can only happen right after a repeat purchase, so a customer with
    no repeat purchase (x = 0) is alive with probability 1, however long ago they bought.
    """
    x, tx, big_t = _rfm_columns(frequency, recency, T)
    return _p_alive(params.r, params.alpha, params.a, params.b, x, tx, big_t)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def _gg_columns(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = _column("frequency", frequency)
    m = _column("monetary_value", monetary_value)
    _same_length(frequency=x, monetary_value=m)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be non-negative whole numbers")
    return x, m


def _gg_loglik_factory(x: FloatArray, m: FloatArray, w: FloatArray) -> _LogLikFn:
    """Summed weighted Gamma-Gamma log-likelihood of the mean repeat spend and its gradient w.r.t.
    (log p, log q, log gamma). Per customer (Fader & Hardie 2013):

        ll = ln Gamma(px+q) - ln Gamma(px) - ln Gamma(q) + q ln gamma + (px-1) ln m + px ln x
             - (px+q) ln(gamma + m x)
    """
    ux, x_idx = np.unique(x, return_inverse=True)
    wx = np.bincount(x_idx, weights=w, minlength=len(ux))
    total_w = float(w.sum())
    log_m = np.log(m)
    log_x = np.log(x)
    mx = m * x
    w_xlog = float(w @ (x * (log_m + log_x)))  # sum w x (ln m + ln x)
    w_logm = float(w @ log_m)
    wx_ux = wx * ux

    def loglik(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, gam = np.exp(theta)
        px_u = p * ux
        ll_x = special.gammaln(px_u + q) - special.gammaln(px_u)
        psi_sum = special.digamma(px_u + q)
        log_gm = np.log(gam + mx)
        px = p * x
        ll = (
            float(wx @ ll_x)
            - total_w * special.gammaln(q)
            + total_w * q * math.log(gam)
            + p * w_xlog
            - w_logm
            - float(w @ ((px + q) * log_gm))
        )
        g_p = float(wx_ux @ (psi_sum - special.digamma(px_u))) + w_xlog - float(w @ (x * log_gm))
        g_q = (
            float(wx @ psi_sum)
            - total_w * special.digamma(q)
            + total_w * math.log(gam)
            - float(w @ log_gm)
        )
        g_gam = total_w * q / gam - float(w @ ((px + q) / (gam + mx)))
        return ll, np.array([g_p * p, g_q * q, g_gam * gam])

    return loglik


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    group: bool = True,
    penalizer: float = 0.0,
    initial: GammaGammaParams | None = None,
    max_iter: int = 1000,
    standard_errors: bool = True,
) -> GammaGammaParams:
    """Maximum-likelihood fit of the Gamma-Gamma spend model (Fader & Hardie 2013).

    Only repeat buyers (frequency > 0) enter the fit; the others may be passed and are ignored.
    ``monetary_value`` is each customer's mean value of their ``frequency`` repeat purchase
    occasions in the calibration period (the first purchase excluded, same-day transactions
    combined), as :func:`rfm_summary` computes it.

    The model assumes spend is independent of purchase frequency; the Pearson correlation between
    frequency and monetary value among repeat buyers is reported in
    ``diagnostics.extra["frequency_monetary_corr"]`` as a check (it should be near 0).

    Args:
        frequency: repeat purchases per customer.
        monetary_value: mean repeat-purchase value per customer (> 0 for repeat buyers).
        weights: optional count per row (see :func:`fit_bgnbd`).
        group: group identical (frequency, monetary_value) rows before fitting.
        penalizer: optional L2 penalty on (p, q, gamma), as in :func:`fit_bgnbd`.
        initial: starting values; by default p = 1, q = 2 and gamma = mean spend.
        max_iter: optimiser iteration limit.
        standard_errors: compute standard errors from the Hessian.

    Raises:
        ValueError: invalid input, no repeat buyer, or a repeat buyer with monetary_value <= 0.
    """
    started = time.perf_counter()
    x, m = _gg_columns(frequency, monetary_value)
    w = _weights(weights, len(x))
    if penalizer < 0:
        raise ValueError("penalizer must be >= 0")
    keep = (x > 0) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if len(x) == 0:
        raise ValueError("no repeat buyer (frequency > 0): the Gamma-Gamma model cannot be fitted")
    if np.any(m <= 0):
        raise ValueError(
            f"{int(np.sum(m <= 0))} repeat buyer(s) have monetary_value <= 0; "
            "the Gamma-Gamma model needs positive spend (filter or fix them first)"
        )
    total_w = float(w.sum())
    if total_w > 0 and len(x) > 1:
        xm = np.average(x, weights=w)
        mm = np.average(m, weights=w)
        cov = np.average((x - xm) * (m - mm), weights=w)
        sd = math.sqrt(np.average((x - xm) ** 2, weights=w) * np.average((m - mm) ** 2, weights=w))
        corr = float(cov / sd) if sd > 0 else math.nan
    else:
        corr = math.nan
    if group:
        (x, m), w, _ = _group((x, m), w)

    if initial is None:
        init = np.array([1.0, 2.0, float(w @ m) / total_w])
    else:
        init = np.array([initial.p, initial.q, initial.gamma])
    theta0 = np.clip(np.log(init), -_LOG_BOUND + 1.0, _LOG_BOUND - 1.0)

    loglik = _gg_loglik_factory(x, m, w)
    theta, ll, converged, nit, max_grad, message, ses = _maximise(
        loglik,
        theta0,
        GammaGammaParams.PARAM_NAMES,
        total_w,
        penalizer,
        max_iter,
        standard_errors,
    )
    p, q, gam = np.exp(theta).tolist()
    diagnostics = FitDiagnostics(
        log_likelihood=ll,
        n_customers=int(round(total_w)),
        n_unique=len(x),
        converged=converged,
        iterations=nit,
        max_abs_gradient=max_grad,
        message=message,
        standard_errors=ses,
        fit_seconds=time.perf_counter() - started,
        extra={"penalizer": float(penalizer), "frequency_monetary_corr": corr},
    )
    return GammaGammaParams(p=p, q=q, gamma=gam, diagnostics=diagnostics)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Per-customer Gamma-Gamma log-density of the mean repeat spend (repeat buyers only;
    NaN for frequency 0)."""
    x, m = _gg_columns(frequency, monetary_value)
    out = np.full_like(x, np.nan)
    pos = (x > 0) & (m > 0)
    p, q, gam = params.p, params.q, params.gamma
    xp, mp = x[pos], m[pos]
    px = p * xp
    out[pos] = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * math.log(gam)
        + (px - 1.0) * np.log(mp)
        + px * np.log(xp)
        - (px + q) * np.log(gam + mp * xp)
    )
    return out


def gamma_gamma_expected_spend(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Conditional expected value of a customer's future transactions (Fader & Hardie 2013, eq. 5):

        E[Z | x, m_x] = p (gamma + x m_x) / (p x + q - 1)
                      = w * p gamma/(q-1) + (1-w) * m_x,   w = (q-1)/(p x + q - 1),

    a credibility-weighted mix of the population mean and the customer's own mean repeat spend.
    Customers with x = 0 get the population mean p gamma / (q - 1) (their monetary_value is
    ignored). NaN where the expectation does not exist (p x + q <= 1, i.e. q <= 1 and x = 0).
    """
    x, m = _gg_columns(frequency, monetary_value)
    m = np.where(x > 0, m, 0.0)
    denom = params.p * x + params.q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = params.p * (params.gamma + x * m) / denom
    return np.where(denom > 0, value, np.nan)


# --------------------------------------------------------------------------------------------
# CLV
# --------------------------------------------------------------------------------------------


def customer_lifetime_value(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon: float,
    step: float = 1.0,
    discount_rate: float = 0.0,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``horizon`` periods.

    The horizon is cut into K = ceil(horizon / step) sub-periods ending at
    t_k = min(k * step, horizon); purchases in sub-period k are discounted by (1 + d)^k
    (end-of-sub-period discounting, d = ``discount_rate`` per sub-period):

        CLV = E[Z | x, m_x] * sum_{k=1..K} (E[Y(t_k) | x, t_x, T] - E[Y(t_{k-1}) | x, t_x, T])
                                           / (1 + d)^k,      t_0 = 0,

    with E[Y(t) | .] from :func:`bgnbd_expected_purchases` and E[Z | .] from
    :func:`gamma_gamma_expected_spend`. This is the classic monthly-steps approach: with weekly
    model periods, 12 months is ``horizon=52, step=52/12, discount_rate=<monthly rate>`` (e.g.
    0.01 per month, about 12.7% a year); with daily periods, ``horizon=360, step=30``. With
    ``discount_rate=0`` the sum telescopes to E[Z] * E[Y(horizon)].

    The result is in the units of ``monetary_value`` (revenue or margin, whatever was passed).
    """
    x, tx, big_t = _rfm_columns(frequency, recency, T)
    x_m, m = _gg_columns(frequency, monetary_value)
    if not (math.isfinite(horizon) and horizon >= 0):
        raise ValueError("horizon must be finite and >= 0")
    if not (math.isfinite(step) and step > 0):
        raise ValueError("step must be finite and > 0")
    if not (math.isfinite(discount_rate) and discount_rate > -1.0):
        raise ValueError("discount_rate must be finite and > -1")
    if len(x) == 0:
        return np.zeros(0)
    n_steps = max(int(math.ceil(horizon / step - 1e-9)), 0)
    spend = gamma_gamma_expected_spend(gamma_gamma, x_m, m)
    if n_steps == 0:
        return np.zeros_like(x)

    # evaluate the purchase curve once per distinct (x, t_x, T)
    tx0 = np.where(x > 0, tx, 0.0)
    (ux, utx, ut), _, inverse = _group((x, tx0, big_t), np.ones_like(x))
    discounted = np.zeros_like(ux)
    previous = np.zeros_like(ux)
    for k in range(1, n_steps + 1):
        t_k = min(k * step, horizon)
        current = bgnbd_expected_purchases(bgnbd, t_k, ux, utx, ut)
        discounted += (current - previous) / (1.0 + discount_rate) ** k
        previous = current
    return discounted[inverse] * spend


# --------------------------------------------------------------------------------------------
# Summary from a transaction log
# --------------------------------------------------------------------------------------------


def rfm_summary(
    customer_id: ArrayLike,
    timestamp: ArrayLike,
    amount: ArrayLike,
    *,
    observation_end: float,
    time_unit: float = 1.0,
) -> RFMSummary:
    """Calibration summary (frequency, recency, T, monetary_value) from a transaction log.

    Transactions after ``observation_end`` are dropped; transactions of one customer with the same
    ``timestamp`` are combined into one purchase occasion (amounts summed) -- pass whole days to
    combine same-day purchases, as Fader & Hardie do for CDNOW. Then per customer, with the
    occasions in time order: frequency = occasions - 1, recency = (last - first) / time_unit,
    T = (observation_end - first) / time_unit, monetary_value = mean amount of the occasions after
    the first (0 when frequency = 0).

    Args:
        customer_id: customer key per transaction (any sortable dtype).
        timestamp: numeric time per transaction, e.g. days since an epoch.
        amount: transaction value.
        observation_end: end of the calibration period, same scale as ``timestamp`` (inclusive).
        time_unit: length of one model period in ``timestamp`` units (7 for weeks from days).
    """
    ids = np.asarray(customer_id)
    ts = _column("timestamp", timestamp)
    amt = _column("amount", amount)
    if ids.ndim != 1 or len(ids) != len(ts):
        raise ValueError("customer_id must be one-dimensional and as long as timestamp")
    _same_length(timestamp=ts, amount=amt)
    if not time_unit > 0:
        raise ValueError("time_unit must be > 0")
    keep = ts <= observation_end
    ids, ts, amt = ids[keep], ts[keep], amt[keep]
    if len(ids) == 0:
        empty = np.zeros(0)
        return RFMSummary(ids[:0], empty, empty, empty, empty)

    # purchase occasions: one per (customer, timestamp), sorted by customer then time
    order = np.lexsort((ts, ids))
    ids, ts, amt = ids[order], ts[order], amt[order]
    new_occasion = np.ones(len(ids), dtype=bool)
    new_occasion[1:] = (ids[1:] != ids[:-1]) | (ts[1:] != ts[:-1])
    occ = np.cumsum(new_occasion) - 1
    occ_start = np.flatnonzero(new_occasion)
    occ_id, occ_ts = ids[occ_start], ts[occ_start]
    occ_amt = np.bincount(occ, weights=amt)

    new_customer = np.ones(len(occ_id), dtype=bool)
    new_customer[1:] = occ_id[1:] != occ_id[:-1]
    cust = np.cumsum(new_customer) - 1
    first = np.flatnonzero(new_customer)
    last = np.append(first[1:], len(occ_id)) - 1
    n_occ = last - first + 1
    frequency = (n_occ - 1).astype(np.float64)
    first_ts = occ_ts[first]
    recency = (occ_ts[last] - first_ts) / time_unit
    big_t = (observation_end - first_ts) / time_unit
    repeat_total = np.bincount(cust, weights=occ_amt) - occ_amt[first]
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, repeat_total / frequency, 0.0)
    return RFMSummary(occ_id[first], frequency, recency, big_t, monetary)


# --------------------------------------------------------------------------------------------
# Simulation (tests, benchmarks, demo data)
# --------------------------------------------------------------------------------------------


def simulate_bgnbd(
    params: BGNBDParams,
    T: ArrayLike,
    *,
    rng: np.random.Generator,
    holdout: float = 0.0,
    resolution: float | None = None,
) -> SimulatedCustomers:
    """Draw customers from the BG/NBD model.

    Each customer gets lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b), buys as a Poisson process
    with rate lambda from their first purchase at time 0, and drops out right after each repeat
    purchase with probability p. Repeat purchases in (0, T] give the calibration summary, those in
    (T, T + holdout] the hold-out count.

    Args:
        params: population parameters.
        T: calibration length per customer (>= 0).
        rng: random generator.
        holdout: length of the hold-out period after T.
        resolution: if given, recency is put on a grid of this step (e.g. 1/7 for whole days in
            weekly units) the way calendar dates do it: the first purchase falls at a uniform
            point within its day and recency is the difference of the two purchases' whole-day
            dates (unbiased on average). T should then already be on that grid.
    """
    big_t = _column("T", T)
    if np.any(big_t < 0) or holdout < 0:
        raise ValueError("T and holdout must be >= 0")
    n = len(big_t)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    end = big_t + holdout
    n_arrivals = rng.poisson(lam * end)
    # the customer dies right after the D-th repeat purchase, D ~ Geometric(p) on {1, 2, ...}
    n_made = np.minimum(n_arrivals, rng.geometric(p))
    cust = np.repeat(np.arange(n), n_arrivals)
    # given N arrivals in [0, end], arrival times are sorted uniforms
    times = rng.random(len(cust)) * end[cust]
    order = np.lexsort((times, cust))
    times = times[order]  # cust is already sorted, so cust[order] == cust
    rank = np.arange(len(cust)) - np.repeat(np.cumsum(n_arrivals) - n_arrivals, n_arrivals)
    made = rank < n_made[cust]
    in_cal = made & (times <= big_t[cust])
    frequency = np.bincount(cust[in_cal], minlength=n).astype(np.float64)
    holdout_frequency = np.bincount(cust[made & ~in_cal], minlength=n).astype(np.float64)
    recency = np.zeros(n)
    idx = np.flatnonzero(in_cal)
    if len(idx):
        c = cust[idx]
        last = np.append(c[1:] != c[:-1], True)  # last calibration purchase of each customer
        recency[c[last]] = times[idx[last]]
    if resolution is not None:
        if not resolution > 0:
            raise ValueError("resolution must be > 0")
        offset = rng.random(n)  # position of the first purchase within its day
        on_grid = np.floor(offset + recency / resolution) * resolution
        recency = np.where(frequency > 0, np.minimum(on_grid, big_t), 0.0)
    return SimulatedCustomers(frequency, recency, big_t, holdout_frequency, lam, p)


def simulate_gamma_gamma_spend(
    params: GammaGammaParams, frequency: ArrayLike, *, rng: np.random.Generator
) -> FloatArray:
    """Mean repeat-transaction value per customer under the Gamma-Gamma model (0 when
    frequency = 0): nu ~ Gamma(q, rate gamma), each transaction ~ Gamma(p, rate nu), so the mean
    of x transactions is Gamma(p x, rate nu) / x."""
    x = _column("frequency", frequency)
    nu = rng.gamma(params.q, 1.0 / params.gamma, len(x))
    total = rng.gamma(np.maximum(params.p * x, 1e-300), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1.0), 0.0)
