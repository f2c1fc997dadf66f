"""A/B-test statistics per experiment x segmentation x segment x variant.

Pure functions, no Dagster or DuckDB dependency: the asset layer hands in one row per
assigned customer and gets back one row per (experiment, segmentation, segment,
non-control variant) comparison.

Methodology (all statistics come from scipy / statsmodels; see ``ab_test_results``)
----------------------------------------------------------------------------------
* Conversion test: two-sided score test of equal proportions,
  ``statsmodels.stats.proportion.test_proportions_2indep(method="score",
  correction=False)``. At the null value 0 this is exactly the classical pooled
  two-proportion z-test (equivalently Pearson's 2x2 chi-square test).
* Absolute lift CI: Newcombe hybrid-score (Wilson) interval,
  ``confint_proportions_2indep(compare="diff", method="newcomb")``. Chosen over Wald
  because it keeps nominal coverage for small cells and rates near 0/1 (Wald collapses
  to a zero-width interval at zero conversions). Being a different construction from the
  score test, the CI can disagree with ``p_value < alpha`` right at the boundary.
* Relative lift CI: log risk-ratio interval with 0.5 added to counts,
  ``confint_proportions_2indep(compare="ratio", method="log-adjusted")``, minus 1.
* Multiplicity: Benjamini-Hochberg (``multipletests(method="fdr_bh")``) within the family
  *experiment x segmentation* (all segments and all non-control variants of one
  breakdown of one experiment). Rationale: each segmentation answers its own question
  ("does the effect differ by RFM segment?", "... by country?"); the headline
  segmentation ``'all'`` is then a family of its own (adjusted only across variants), so
  the primary read-out is not diluted by exploratory breakdowns, and adding a new
  segmentation later does not change q-values already published for the others.
* SRM: ``scipy.stats.chisquare`` goodness of fit of the per-arm assignment counts against
  the expected split, per experiment x segmentation x segment. Because segments are
  (and must be) defined on pre-assignment data, randomisation should hold inside every
  segment too, so a per-segment SRM is meaningful.
* MDE: ``statsmodels.stats.power.NormalIndPower`` on Cohen's h
  (``proportion_effectsize``), converted back to an absolute increase over the observed
  control rate.
* Revenue per user: Welch unequal-variance t-test from per-arm moments,
  ``scipy.stats.ttest_ind_from_stats(equal_var=False)``; its CI uses the same Welch
  standard error and Welch-Satterthwaite degrees of freedom with ``scipy.stats.t``
  quantiles (scipy/statsmodels have no public vectorised "CI from summary statistics";
  the tests check it against ``scipy.stats.ttest_ind(...).confidence_interval()`` on the
  raw data).

Pre-treatment segments (analytics note 4): the ``segment`` of a customer must come from
data as of their assignment date. This module cannot check that; the caller must.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    test_proportions_2indep,
)

__all__ = ["KEY_COLUMNS", "OUTPUT_COLUMNS", "OUTPUT_SCHEMA", "REQUIRED_COLUMNS", "ab_test_results"]

KEY_COLUMNS: tuple[str, ...] = ("experiment_id", "segmentation", "segment")

REQUIRED_COLUMNS: tuple[str, ...] = (
    "experiment_id",
    "segmentation",
    "segment",
    "variant",
    "is_control",
    "converted",
    "revenue",
)

#: Output columns (key columns take their dtype from the input) and their meaning.
OUTPUT_COLUMNS: dict[str, str] = {
    "experiment_id": "experiment identifier (input dtype)",
    "segmentation": "segmentation name; 'all' = whole population",
    "segment": "segment within the segmentation; 'all' for segmentation 'all'",
    "control_variant": "name of the experiment's control arm",
    "variant": "non-control arm compared with the control",
    "n_control": "customers assigned to control in this segment",
    "n_variant": "customers assigned to the variant in this segment",
    "conversions_control": "converted control customers",
    "conversions_variant": "converted variant customers",
    "rate_control": "conversions_control / n_control (NaN if n_control = 0)",
    "rate_variant": "conversions_variant / n_variant (NaN if n_variant = 0)",
    "abs_lift": "rate_variant - rate_control",
    "abs_lift_ci_lower": "lower (1-alpha) Newcombe CI bound of abs_lift",
    "abs_lift_ci_upper": "upper (1-alpha) Newcombe CI bound of abs_lift",
    "rel_lift": "rate_variant / rate_control - 1 (NaN if rate_control = 0)",
    "rel_lift_ci_lower": "lower (1-alpha) log-adjusted risk-ratio CI bound, minus 1",
    "rel_lift_ci_upper": "upper (1-alpha) log-adjusted risk-ratio CI bound, minus 1",
    "p_value": "two-sided score (pooled z) test of equal conversion rates",
    "q_value": "Benjamini-Hochberg adjusted p within experiment x segmentation",
    "significant": "q_value < fdr (False when q_value is NaN)",
    "srm_p_value": "chi-square GoF p of arm counts vs expected split (per cell)",
    "srm_flag": "srm_p_value < srm_alpha (False when srm_p_value is NaN)",
    "mde_abs": "smallest absolute rate increase detectable at alpha/power for these n",
    "revenue_control": "total revenue of control customers (for reconciliation)",
    "revenue_variant": "total revenue of variant customers (for reconciliation)",
    "rpu_control": "revenue per assigned control customer",
    "rpu_variant": "revenue per assigned variant customer",
    "rpu_lift": "rpu_variant - rpu_control",
    "rpu_lift_ci_lower": "lower (1-alpha) Welch CI bound of rpu_lift",
    "rpu_lift_ci_upper": "upper (1-alpha) Welch CI bound of rpu_lift",
    "rpu_p_value": "two-sided Welch t-test p of equal revenue per user",
}

_F64 = pl.Float64
#: Dtypes of the non-key output columns.
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "control_variant": pl.String(),
    "variant": pl.String(),
    "n_control": pl.Int64(),
    "n_variant": pl.Int64(),
    "conversions_control": pl.Int64(),
    "conversions_variant": pl.Int64(),
    **{
        c: _F64()
        for c in (
            "rate_control",
            "rate_variant",
            "abs_lift",
            "abs_lift_ci_lower",
            "abs_lift_ci_upper",
            "rel_lift",
            "rel_lift_ci_lower",
            "rel_lift_ci_upper",
            "p_value",
            "q_value",
        )
    },
    "significant": pl.Boolean(),
    "srm_p_value": _F64(),
    "srm_flag": pl.Boolean(),
    **{
        c: _F64()
        for c in (
            "mde_abs",
            "revenue_control",
            "revenue_variant",
            "rpu_control",
            "rpu_variant",
            "rpu_lift",
            "rpu_lift_ci_lower",
            "rpu_lift_ci_upper",
            "rpu_p_value",
        )
    },
}

ExpectedSplit = Mapping[str, float] | Mapping[str, Mapping[str, float]]


def ab_test_results(
    assignments: pl.DataFrame,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    fdr: float = 0.05,
    expected_split: ExpectedSplit | None = None,
    srm_alpha: float = 0.001,
) -> pl.DataFrame:
    """Per-segment A/B results for every non-control variant against the control.

    Parameters
    ----------
    assignments:
        One row per assigned customer and segmentation, with columns
        ``experiment_id, segmentation, segment, variant (str), is_control (bool),
        converted (bool), revenue (numeric, 0 when no order in the window)``. The whole
        population is expected as ``segmentation='all', segment='all'``. Exactly one
        variant per experiment must be the control, and ``is_control`` must be
        constant per (experiment, variant). Nulls in these columns are rejected.
        Segments must be built from pre-assignment data.
    alpha:
        Two-sided level for all confidence intervals (coverage ``1 - alpha``) and for
        the MDE. Significance is decided on q-values at ``fdr``, not at ``alpha``.
    power:
        Target power for ``mde_abs``.
    fdr:
        Benjamini-Hochberg false discovery rate; ``significant = q_value < fdr``.
    expected_split:
        Planned allocation for the SRM check. ``None``: equal split over the arms
        observed in the experiment. A ``{variant: share}`` mapping applies to every
        experiment; a ``{experiment_id: {variant: share}}`` mapping sets it per
        experiment (experiments missing from it use an equal split). Shares are
        renormalised to sum to 1. When a split is given, its keys are the arms of the
        design: an arm with no assigned customers counts as 0 observed (and will
        trip the SRM flag); an observed variant missing from the split is an error.
    srm_alpha:
        Threshold for ``srm_flag`` (default 0.001, the usual SRM convention: the check
        runs on every cell, and a real SRM produces tiny p-values).

    Returns
    -------
    polars.DataFrame
        One row per experiment x segmentation x segment x non-control variant, sorted
        by those keys; columns and meaning in ``OUTPUT_COLUMNS``. Every segment cell
        seen for an experiment gets a row for every non-control variant of that
        experiment, even if one arm has no customers in the cell.

    Degenerate cells (never raise; NaN where the statistic is undefined)
    --------------------------------------------------------------------
    * An arm with n = 0: its rate/rpu, all lifts, CIs, p-values and ``mde_abs`` are NaN.
    * Both arms with 0 conversions, or both fully converted: pooled variance is 0, the
      z statistic is 0/0, so ``p_value`` is NaN (the Newcombe abs-lift CI is still
      reported). ``rel_lift`` and its CI are NaN when ``rate_control`` is 0 (ratio
      undefined) and the rel CI is NaN when both arms are fully converted (the
      log-adjusted variance is 0, a zero-width interval would be misleading).
    * Comparisons with NaN ``p_value`` are left out of the BH family (they cannot be
      tested) and get ``q_value`` NaN, ``significant`` False.
    * Welch needs n >= 2 in both arms and a non-zero standard error (not every revenue
      constant in both arms); otherwise ``rpu_lift_ci_*`` and ``rpu_p_value`` are NaN.
    * ``mde_abs`` is NaN when no increase of the required size fits below rate 1.
    * ``srm_p_value`` is NaN for a cell with no customers or a design with one arm.
    """
    _validate_params(alpha=alpha, power=power, fdr=fdr, srm_alpha=srm_alpha)
    _validate_input(assignments)

    key_schema = {c: assignments.schema[c] for c in KEY_COLUMNS}
    if assignments.height == 0:
        return pl.DataFrame(schema={**key_schema, **OUTPUT_SCHEMA})

    arms, designs = _aggregate(assignments)
    pairs = _pairs(arms, designs)
    srm = _srm_p_values(arms, designs, expected_split)

    nc = pairs["n_control"].to_numpy().astype(np.float64)
    nv = pairs["n_variant"].to_numpy().astype(np.float64)
    xc = pairs["conversions_control"].to_numpy().astype(np.float64)
    xv = pairs["conversions_variant"].to_numpy().astype(np.float64)

    props = _proportion_stats(xv, nv, xc, nc, alpha=alpha)
    mde = _mde_abs(nc, nv, props["rate_control"], alpha=alpha, power=power)
    rpu = _welch_stats(
        mean_v=pairs["rpu_variant"].to_numpy().astype(np.float64),
        var_v=pairs["var_variant"].to_numpy().astype(np.float64),
        n_v=nv,
        mean_c=pairs["rpu_control"].to_numpy().astype(np.float64),
        var_c=pairs["var_control"].to_numpy().astype(np.float64),
        n_c=nc,
        alpha=alpha,
    )

    out = pairs.with_columns(
        *(pl.Series(k, v, dtype=pl.Float64) for k, v in props.items()),
        pl.Series("mde_abs", mde, dtype=pl.Float64),
        *(pl.Series(k, v, dtype=pl.Float64) for k, v in rpu.items()),
    )
    family = (
        pl.struct(["experiment_id", "segmentation"]).rank("dense").cast(pl.Int64) - 1
    )
    out = out.with_columns(_family=family)
    q = _bh_by_family(out["p_value"].to_numpy(), out["_family"].to_numpy())
    significant = np.isfinite(q) & (np.nan_to_num(q, nan=1.0) < fdr)
    out = (
        out.with_columns(
            pl.Series("q_value", q, dtype=pl.Float64),
            pl.Series("significant", significant, dtype=pl.Boolean),
        )
        .join(srm, on=list(KEY_COLUMNS), how="left", nulls_equal=True)
        .with_columns(
            srm_flag=(
                pl.col("srm_p_value").is_not_nan() & (pl.col("srm_p_value") < srm_alpha)
            ).fill_null(False)
        )
    )
    return out.select(*KEY_COLUMNS, *OUTPUT_SCHEMA).sort(
        [*KEY_COLUMNS, "variant"], nulls_last=True
    )


# --------------------------------------------------------------------------- validation


def _validate_params(*, alpha: float, power: float, fdr: float, srm_alpha: float) -> None:
    for name, value in (("alpha", alpha), ("power", power), ("fdr", fdr), ("srm_alpha", srm_alpha)):
        if not (0.0 < float(value) < 1.0):
            raise ValueError(f"{name} must be in (0, 1), got {value!r}")


def _validate_input(df: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"assignments is missing columns {missing}")
    for col in ("is_control", "converted"):
        if df.schema[col] != pl.Boolean:
            raise TypeError(f"column {col!r} must be Boolean, got {df.schema[col]}")
    if not df.schema["revenue"].is_numeric():
        raise TypeError(f"column 'revenue' must be numeric, got {df.schema['revenue']}")
    nulls = {c: n for c, n in df.select(pl.col(REQUIRED_COLUMNS).null_count()).row(0, named=True).items() if n}
    if nulls:
        raise ValueError(f"null values in assignments: {nulls}")
    if df.height == 0:
        return
    if not np.isfinite(df["revenue"].cast(pl.Float64).to_numpy()).all():
        raise ValueError("revenue contains NaN or infinite values")
    flags = df.group_by("experiment_id", "variant").agg(
        pl.col("is_control").n_unique().alias("n_flags"), pl.col("is_control").first()
    )
    bad = flags.filter(pl.col("n_flags") > 1)
    if bad.height:
        raise ValueError(
            "is_control is not constant per (experiment_id, variant): "
            f"{bad.select('experiment_id', 'variant').rows()[:5]}"
        )
    n_ctrl = flags.group_by("experiment_id").agg(pl.col("is_control").sum().alias("n"))
    bad = n_ctrl.filter(pl.col("n") != 1)
    if bad.height:
        raise ValueError(
            "every experiment needs exactly one control variant; offending "
            f"(experiment_id, n_controls): {bad.rows()[:5]}"
        )


# --------------------------------------------------------------------------- grouping


def _aggregate(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-arm sufficient statistics, and the arms (variants) of each experiment."""
    df = df.with_columns(pl.col("variant").cast(pl.String), pl.col("revenue").cast(pl.Float64))
    arms = df.group_by(*KEY_COLUMNS, "variant").agg(
        n=pl.len().cast(pl.Int64),
        conversions=pl.col("converted").sum().cast(pl.Int64),
        revenue=pl.col("revenue").sum(),
        rpu=pl.col("revenue").mean(),
        var=pl.col("revenue").var(ddof=1),
    )
    designs = df.group_by("experiment_id", "variant").agg(pl.col("is_control").first())
    return arms, designs


def _pairs(arms: pl.DataFrame, designs: pl.DataFrame) -> pl.DataFrame:
    """Cross every segment cell with the experiment's non-control variants."""
    cells = arms.select(KEY_COLUMNS).unique()
    controls = designs.filter("is_control").select(
        "experiment_id", pl.col("variant").alias("control_variant")
    )
    treatments = designs.filter(~pl.col("is_control")).select("experiment_id", "variant")
    stat_cols = ["n", "conversions", "revenue", "rpu", "var"]
    v_stats = arms.rename({c: f"{c}_v" for c in stat_cols})
    c_stats = arms.rename({"variant": "control_variant", **{c: f"{c}_c" for c in stat_cols}})
    keys = list(KEY_COLUMNS)
    pairs = (
        cells.join(controls, on="experiment_id", how="inner", nulls_equal=True)
        .join(treatments, on="experiment_id", how="inner", nulls_equal=True)
        .join(v_stats, on=[*keys, "variant"], how="left", nulls_equal=True)
        .join(c_stats, on=[*keys, "control_variant"], how="left", nulls_equal=True)
    )
    return pairs.select(
        *keys,
        "control_variant",
        "variant",
        pl.col("n_c").fill_null(0).alias("n_control"),
        pl.col("n_v").fill_null(0).alias("n_variant"),
        pl.col("conversions_c").fill_null(0).alias("conversions_control"),
        pl.col("conversions_v").fill_null(0).alias("conversions_variant"),
        pl.col("revenue_c").fill_null(0.0).alias("revenue_control"),
        pl.col("revenue_v").fill_null(0.0).alias("revenue_variant"),
        pl.col("rpu_c").alias("rpu_control"),
        pl.col("rpu_v").alias("rpu_variant"),
        pl.col("var_c").alias("var_control"),
        pl.col("var_v").alias("var_variant"),
    ).sort([*keys, "variant"], nulls_last=True)


# --------------------------------------------------------------------------- statistics


def _proportion_stats(
    xv: np.ndarray, nv: np.ndarray, xc: np.ndarray, nc: np.ndarray, *, alpha: float
) -> dict[str, np.ndarray]:
    """Rates, lifts, CIs and the score-test p-value (variant = sample 1)."""
    size = len(nv)
    nan = lambda: np.full(size, np.nan)  # noqa: E731
    res = {k: nan() for k in (
        "rate_control", "rate_variant", "abs_lift", "abs_lift_ci_lower", "abs_lift_ci_upper",
        "rel_lift", "rel_lift_ci_lower", "rel_lift_ci_upper", "p_value",
    )}
    with np.errstate(divide="ignore", invalid="ignore"):
        res["rate_control"] = np.where(nc > 0, xc / np.where(nc > 0, nc, 1), np.nan)
        res["rate_variant"] = np.where(nv > 0, xv / np.where(nv > 0, nv, 1), np.nan)
    res["abs_lift"] = res["rate_variant"] - res["rate_control"]

    ok = (nc > 0) & (nv > 0)
    if ok.any():
        a1, n1, a2, n2 = xv[ok], nv[ok], xc[ok], nc[ok]
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            test = test_proportions_2indep(
                a1, n1, a2, n2, method="score", correction=False, compare="diff"
            )
            p = np.asarray(test.pvalue, dtype=np.float64)
            # pooled variance 0 (all or no conversions in both arms): 0/0 -> NaN
            p[np.asarray(test.variance) <= 0] = np.nan
            res["p_value"][ok] = p

            lo, hi = confint_proportions_2indep(
                a1, n1, a2, n2, compare="diff", method="newcomb", alpha=alpha
            )
            res["abs_lift_ci_lower"][ok] = lo
            res["abs_lift_ci_upper"][ok] = hi

        rel_ok = ok & (xc > 0)
        if rel_ok.any():
            res["rel_lift"][rel_ok] = res["rate_variant"][rel_ok] / res["rate_control"][rel_ok] - 1.0
            ci_ok = rel_ok & ~((xc == nc) & (xv == nv))
            if ci_ok.any():
                lo, hi = confint_proportions_2indep(
                    xv[ci_ok], nv[ci_ok], xc[ci_ok], nc[ci_ok],
                    compare="ratio", method="log-adjusted", alpha=alpha,
                )
                res["rel_lift_ci_lower"][ci_ok] = np.asarray(lo) - 1.0
                res["rel_lift_ci_upper"][ci_ok] = np.asarray(hi) - 1.0
    return res


_REF_NOBS = 1000.0


def _mde_abs(
    nc: np.ndarray, nv: np.ndarray, p_control: np.ndarray, *, alpha: float, power: float
) -> np.ndarray:
    """Minimum detectable absolute increase of the conversion rate.

    ``NormalIndPower`` power depends on (nobs1, ratio) only through the effective size
    ``n_eff = 1 / (1/n_control + 1/n_variant)``, as ``h * sqrt(n_eff)``. We therefore
    solve ``NormalIndPower().power(h, ...) = power`` once for a reference design and rescale:
    ``h = h_ref * sqrt(n_ref_eff / n_eff)``, which is exact and avoids a root-finder per
    cell. Cohen's h is mapped back to rates by inverting ``proportion_effectsize``:
    ``p1 = sin(asin(sqrt(p0)) + h/2)**2``.
    """
    out = np.full(len(nc), np.nan)
    ok = (nc > 0) & (nv > 0) & np.isfinite(p_control)
    if not ok.any():
        return out
    analysis = NormalIndPower()

    def gap(h: float) -> float:
        return float(
            analysis.power(h, nobs1=_REF_NOBS, alpha=alpha, ratio=1.0, alternative="two-sided")
        ) - power

    # NormalIndPower.solve_power stops at ~1e-6 in power; brentq on the same statsmodels
    # power function gets the reference effect size to machine precision.
    h_ref = float(optimize.brentq(gap, 1e-9, 100.0, xtol=1e-15, rtol=1e-14, maxiter=500))
    n_eff_ref = _REF_NOBS / 2.0
    n_eff = 1.0 / (1.0 / nc[ok] + 1.0 / nv[ok])
    h = h_ref * np.sqrt(n_eff_ref / n_eff)
    phi = np.arcsin(np.sqrt(p_control[ok])) + h / 2.0
    p1 = np.where(phi <= np.pi / 2, np.sin(np.minimum(phi, np.pi / 2)) ** 2, np.nan)
    out[ok] = p1 - p_control[ok]
    return out


def _welch_stats(
    *,
    mean_v: np.ndarray,
    var_v: np.ndarray,
    n_v: np.ndarray,
    mean_c: np.ndarray,
    var_c: np.ndarray,
    n_c: np.ndarray,
    alpha: float,
) -> dict[str, np.ndarray]:
    """Welch difference of means (variant - control): CI and two-sided p-value."""
    size = len(n_v)
    res = {k: np.full(size, np.nan) for k in ("rpu_lift", "rpu_lift_ci_lower", "rpu_lift_ci_upper", "rpu_p_value")}
    has = (n_v > 0) & (n_c > 0)
    res["rpu_lift"][has] = mean_v[has] - mean_c[has]
    ok = (n_v >= 2) & (n_c >= 2) & np.isfinite(var_v) & np.isfinite(var_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_v2 = np.where(ok, var_v / np.where(ok, n_v, 1), np.nan)
        se_c2 = np.where(ok, var_c / np.where(ok, n_c, 1), np.nan)
        se = np.sqrt(se_v2 + se_c2)
    ok &= se > 0
    if not ok.any():
        return res
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se[ok] ** 4 / (se_v2[ok] ** 2 / (n_v[ok] - 1) + se_c2[ok] ** 2 / (n_c[ok] - 1))
    t = stats.ttest_ind_from_stats(
        mean_v[ok], np.sqrt(var_v[ok]), n_v[ok], mean_c[ok], np.sqrt(var_c[ok]), n_c[ok],
        equal_var=False, alternative="two-sided",
    )
    half = stats.t.ppf(1.0 - alpha / 2.0, df) * se[ok]
    diff = res["rpu_lift"][ok]
    res["rpu_lift_ci_lower"][ok] = diff - half
    res["rpu_lift_ci_upper"][ok] = diff + half
    res["rpu_p_value"][ok] = t.pvalue
    return res


def _bh_by_family(p: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values within each family; NaN p-values are excluded."""
    q = np.full(len(p), np.nan)
    testable = np.isfinite(p)
    if not testable.any():
        return q
    idx = np.flatnonzero(testable)
    fam = family[idx]
    order = np.argsort(fam, kind="stable")
    idx, fam = idx[order], fam[order]
    bounds = np.flatnonzero(np.diff(fam)) + 1
    for group in np.split(idx, bounds):
        q[group] = multipletests(p[group], method="fdr_bh")[1]
    return q


# --------------------------------------------------------------------------- SRM


def _split_for(
    expected_split: ExpectedSplit | None, experiment_id: object, observed: list[str]
) -> dict[str, float]:
    """Expected shares (summing to 1) for one experiment's arms."""
    split: Mapping[str, float] | None
    if expected_split is None:
        split = None
    elif expected_split and all(isinstance(v, Mapping) for v in expected_split.values()):
        split = expected_split.get(experiment_id)  # type: ignore[call-overload]
        if split is None:
            split = expected_split.get(str(experiment_id))  # type: ignore[assignment]
    else:
        split = expected_split  # type: ignore[assignment]
    if split is None:
        return {v: 1.0 / len(observed) for v in observed}
    unknown = sorted(set(observed) - set(split))
    if unknown:
        raise ValueError(
            f"experiment {experiment_id!r}: variants {unknown} missing from expected_split"
        )
    shares = {str(k): float(v) for k, v in split.items()}
    if any(not np.isfinite(v) or v <= 0 for v in shares.values()):
        raise ValueError(f"expected_split shares must be positive and finite: {shares}")
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def _srm_p_values(
    arms: pl.DataFrame, designs: pl.DataFrame, expected_split: ExpectedSplit | None
) -> pl.DataFrame:
    """Chi-square goodness-of-fit p-value per experiment x segmentation x segment.

    Vectorised: one ``scipy.stats.chisquare`` call per distinct number of arms, on a
    (cells x arms) matrix of observed counts (arms with nobody assigned count as 0).
    """
    keys = list(KEY_COLUMNS)
    exp_dtype = arms.schema["experiment_id"]
    plan_rows: dict[str, list] = {"experiment_id": [], "variant": [], "share": [], "arm": [], "k": []}
    for exp_id, variants in designs.group_by("experiment_id").agg(pl.col("variant")).iter_rows():
        shares = _split_for(expected_split, exp_id, sorted(variants))
        for i, arm in enumerate(sorted(shares)):
            plan_rows["experiment_id"].append(exp_id)
            plan_rows["variant"].append(arm)
            plan_rows["share"].append(shares[arm])
            plan_rows["arm"].append(i)
            plan_rows["k"].append(len(shares))
    plan = pl.DataFrame(
        plan_rows,
        schema={"experiment_id": exp_dtype, "variant": pl.String, "share": pl.Float64, "arm": pl.Int64, "k": pl.Int64},
    )
    grid = (
        arms.select(keys)
        .unique()
        .join(plan, on="experiment_id", how="inner", nulls_equal=True)
        .join(arms.select(*keys, "variant", "n"), on=[*keys, "variant"], how="left", nulls_equal=True)
        .with_columns(pl.col("n").fill_null(0).cast(pl.Float64))
        .sort([*keys, "arm"], nulls_last=True)
    )
    frames: list[pl.DataFrame] = []
    for (k,), part in grid.group_by("k"):
        k = int(k)
        part = part.sort([*keys, "arm"], nulls_last=True)
        obs = part["n"].to_numpy().reshape(-1, k)
        share = part["share"].to_numpy().reshape(-1, k)
        total = obs.sum(axis=1)
        p = np.full(len(total), np.nan)
        ok = total > 0
        if k >= 2 and ok.any():
            p[ok] = stats.chisquare(obs[ok], f_exp=total[ok, None] * share[ok], axis=1).pvalue
        cells = part.filter(pl.col("arm") == 0).select(keys)
        frames.append(cells.with_columns(pl.Series("srm_p_value", p, dtype=pl.Float64)))
    if not frames:
        return pl.DataFrame(schema={**arms.select(keys).schema, "srm_p_value": pl.Float64})
    return pl.concat(frames)
