"""Tests for assets.roi.ab_stats: statistics checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from assets.roi.ab_stats import OUTPUT_COLUMNS, OUTPUT_SCHEMA, ab_test_results

# --------------------------------------------------------------------------- helpers


def make_assignments(
    rng: np.random.Generator,
    *,
    n_per_arm: int,
    rates: dict[str, dict[str, float]],
    experiment_id: str = "exp1",
    control: str = "control",
    segmentation: str = "seg",
    include_all: bool = True,
) -> pl.DataFrame:
    """Customers per (segment, variant) with Bernoulli conversion and gamma revenue.

    ``rates[segment][variant]`` is the true conversion rate. Each customer appears
    once under ``segmentation`` and (optionally) once under 'all'/'all'.
    """
    frames = []
    for segment, by_variant in rates.items():
        for variant, rate in by_variant.items():
            conv = rng.random(n_per_arm) < rate
            revenue = np.where(conv, rng.gamma(2.0, 25.0, n_per_arm), 0.0)
            frames.append(
                pl.DataFrame(
                    {
                        "experiment_id": experiment_id,
                        "segment": segment,
                        "variant": variant,
                        "is_control": variant == control,
                        "converted": conv,
                        "revenue": revenue,
                    }
                )
            )
    base = pl.concat(frames)
    parts = [base.with_columns(segmentation=pl.lit(segmentation))]
    if include_all:
        parts.append(base.with_columns(segmentation=pl.lit("all"), segment=pl.lit("all")))
    return pl.concat(parts).select(
        "experiment_id", "segmentation", "segment", "variant", "is_control", "converted", "revenue"
    )


def bulk_experiments(
    rng: np.random.Generator,
    *,
    n_experiments: int,
    n_segments: int,
    n_per_arm: int,
    p_control: float,
    p_variant: float,
) -> pl.DataFrame:
    """Many independent 2-arm experiments, vectorised (one segmentation, no 'all')."""
    cells = n_experiments * n_segments
    n = cells * 2 * n_per_arm
    exp = np.repeat(np.arange(n_experiments), n_segments * 2 * n_per_arm)
    seg = np.tile(np.repeat(np.arange(n_segments), 2 * n_per_arm), n_experiments)
    is_ctrl = np.tile(np.repeat([True, False], n_per_arm), cells)
    conv = rng.random(n) < np.where(is_ctrl, p_control, p_variant)
    return pl.DataFrame(
        {
            "experiment_id": exp,
            "segmentation": "seg",
            "segment": seg,
            "is_control": is_ctrl,
            "converted": conv,
        }
    ).select(
        "experiment_id",
        "segmentation",
        pl.col("segment").cast(pl.String),
        pl.when(pl.col("is_control")).then(pl.lit("control")).otherwise(pl.lit("treatment")).alias("variant"),
        "is_control",
        "converted",
        pl.when(pl.col("converted")).then(10.0).otherwise(0.0).alias("revenue"),
    )


def wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def bh(p: np.ndarray) -> np.ndarray:
    """Textbook Benjamini-Hochberg step-up adjusted p-values."""
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    return q


# --------------------------------------------------------------------------- schema


def test_output_schema_and_documented_columns() -> None:
    rng = np.random.default_rng(1)
    df = make_assignments(
        rng, n_per_arm=200, rates={"a": {"control": 0.1, "B": 0.1}, "b": {"control": 0.2, "B": 0.2}}
    )
    res = ab_test_results(df)
    assert res.columns == ["experiment_id", "segmentation", "segment", *OUTPUT_SCHEMA]
    assert set(res.columns) == set(OUTPUT_COLUMNS)
    for col, dtype in OUTPUT_SCHEMA.items():
        assert res.schema[col] == dtype, col
    # 'all' + 2 segments, one non-control variant
    assert res.height == 3
    assert res.filter(pl.col("segmentation") == "all")["n_control"].item() == 400


# --------------------------------------------------------------------------- correctness


def test_statistics_match_independent_computation() -> None:
    rng = np.random.default_rng(42)
    rates = {
        f"s{i}": {"control": 0.08 + 0.01 * i, "A": 0.08 + 0.012 * i, "B": 0.09}
        for i in range(6)
    }
    df = make_assignments(rng, n_per_arm=700, rates=rates)
    # unequal arm sizes in one segment so ratio != 1 gets exercised
    drop = (pl.col("segment") == "s2") & (pl.col("variant") == "A") & (pl.int_range(pl.len()) % 3 == 0)
    df = df.filter(~drop)
    alpha = 0.05
    res = ab_test_results(df, alpha=alpha, power=0.8)
    assert res.height == (6 + 1) * 2

    z = stats.norm.isf(alpha / 2)
    for row in res.iter_rows(named=True):
        cell = df.filter(
            (pl.col("experiment_id") == row["experiment_id"])
            & (pl.col("segmentation") == row["segmentation"])
            & (pl.col("segment") == row["segment"])
        )
        ctrl = cell.filter(pl.col("variant") == "control")
        var = cell.filter(pl.col("variant") == row["variant"])
        n1, n2 = var.height, ctrl.height
        x1, x2 = int(var["converted"].sum()), int(ctrl["converted"].sum())
        assert (row["n_variant"], row["n_control"]) == (n1, n2)
        assert (row["conversions_variant"], row["conversions_control"]) == (x1, x2)
        p1, p2 = x1 / n1, x2 / n2
        assert row["rate_variant"] == pytest.approx(p1, abs=1e-12)
        assert row["abs_lift"] == pytest.approx(p1 - p2, abs=1e-12)
        assert row["rel_lift"] == pytest.approx(p1 / p2 - 1, abs=1e-12)

        # pooled two-proportion z-test
        pp = (x1 + x2) / (n1 + n2)
        zstat = (p1 - p2) / math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
        assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(zstat)), rel=1e-9, abs=1e-14)

        # Newcombe hybrid score interval from hand-written Wilson intervals
        l1, u1 = wilson(np.array(x1), np.array(n1), z)
        l2, u2 = wilson(np.array(x2), np.array(n2), z)
        d = p1 - p2
        assert row["abs_lift_ci_lower"] == pytest.approx(d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), abs=1e-9)
        assert row["abs_lift_ci_upper"] == pytest.approx(d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2), abs=1e-9)

        # log risk ratio with 0.5 added
        a, b, c, e = x1 + 0.5, n1 + 0.5, x2 + 0.5, n2 + 0.5
        lr = math.log((a / b) / (c / e))
        se = math.sqrt(1 / a - 1 / b + 1 / c - 1 / e)
        assert row["rel_lift_ci_lower"] == pytest.approx(math.exp(lr - z * se) - 1, abs=1e-9)
        assert row["rel_lift_ci_upper"] == pytest.approx(math.exp(lr + z * se) - 1, abs=1e-9)

        # Welch via scipy on the raw customer rows (different route from the summaries)
        rv, rc = var["revenue"].to_numpy(), ctrl["revenue"].to_numpy()
        tt = stats.ttest_ind(rv, rc, equal_var=False)
        ci = tt.confidence_interval(confidence_level=1 - alpha)
        assert row["rpu_variant"] == pytest.approx(rv.mean(), rel=1e-12)
        assert row["rpu_control"] == pytest.approx(rc.mean(), rel=1e-12)
        assert row["revenue_variant"] == pytest.approx(rv.sum(), rel=1e-12)
        assert row["rpu_lift"] == pytest.approx(rv.mean() - rc.mean(), abs=1e-9)
        assert row["rpu_lift_ci_lower"] == pytest.approx(ci.low, abs=1e-9)
        assert row["rpu_lift_ci_upper"] == pytest.approx(ci.high, abs=1e-9)
        assert row["rpu_p_value"] == pytest.approx(tt.pvalue, rel=1e-9, abs=1e-14)

        # SRM: hand chi-square over all three arms, equal split
        counts = np.array([cell.filter(pl.col("variant") == v).height for v in ("A", "B", "control")], float)
        exp_ = counts.sum() / 3
        chi = ((counts - exp_) ** 2 / exp_).sum()
        assert row["srm_p_value"] == pytest.approx(stats.chi2.sf(chi, 2), rel=1e-9)

        # MDE: the effect size mapped back through proportion_effectsize must give
        # exactly the target power for this cell's (n_control, n_variant) ...
        h_back = proportion_effectsize(p2 + row["mde_abs"], p2)
        assert NormalIndPower().power(h_back, nobs1=n2, ratio=n1 / n2, alpha=alpha) == pytest.approx(0.8, abs=1e-9)
        # ... and agree with a per-cell solve_power (its own solver stops at ~1e-6 in power)
        h = NormalIndPower().solve_power(nobs1=n2, ratio=n1 / n2, alpha=alpha, power=0.8)
        target = math.sin(math.asin(math.sqrt(p2)) + h / 2) ** 2 - p2
        assert row["mde_abs"] == pytest.approx(target, rel=1e-4)

    # BH per family (experiment x segmentation), hand implementation
    for (_, _), fam in res.group_by("experiment_id", "segmentation"):
        np.testing.assert_allclose(fam["q_value"].to_numpy(), bh(fam["p_value"].to_numpy()), rtol=1e-9, atol=0)
        assert (fam["significant"].to_numpy() == (fam["q_value"].to_numpy() < 0.05)).all()
    # the 'all' family only holds the two variants, the segment family 12 comparisons
    assert res.filter(pl.col("segmentation") == "all").height == 2


def test_expected_split_and_srm() -> None:
    def two_arm(n_ctrl: int, n_var: int) -> pl.DataFrame:
        v = np.array(["control"] * n_ctrl + ["B"] * n_var)
        return pl.DataFrame(
            {
                "experiment_id": "e",
                "segmentation": "all",
                "segment": "all",
                "variant": v,
                "is_control": v == "control",
                "converted": np.zeros(len(v), bool),
                "revenue": np.zeros(len(v)),
            }
        )

    skewed = ab_test_results(two_arm(5500, 4500))
    assert skewed["srm_flag"].item() is True
    assert skewed["srm_p_value"].item() < 1e-20
    balanced = ab_test_results(two_arm(5000, 5000))
    assert balanced["srm_flag"].item() is False
    assert balanced["srm_p_value"].item() == pytest.approx(1.0)
    # the same 55/45 counts are fine when that was the plan (global and per-experiment forms)
    planned = ab_test_results(two_arm(5500, 4500), expected_split={"control": 55, "B": 45})
    assert planned["srm_p_value"].item() == pytest.approx(1.0)
    per_exp = ab_test_results(two_arm(5500, 4500), expected_split={"e": {"control": 0.55, "B": 0.45}})
    assert per_exp["srm_flag"].item() is False
    # a planned arm that received nobody is an SRM
    missing_arm = ab_test_results(two_arm(5000, 5000), expected_split={"control": 1, "B": 1, "C": 1})
    assert missing_arm["srm_flag"].item() is True
    with pytest.raises(ValueError, match="missing from expected_split"):
        ab_test_results(two_arm(10, 10), expected_split={"control": 1.0})


# --------------------------------------------------------------------------- behaviour


def test_planted_effect_detected_nulls_not() -> None:
    rng = np.random.default_rng(7)
    rates = {f"s{i}": {"control": 0.10, "treatment": 0.10} for i in range(10)}
    rates["s3"] = {"control": 0.10, "treatment": 0.16}
    df = make_assignments(rng, n_per_arm=2000, rates=rates, control="control")
    res = ab_test_results(df).filter(pl.col("segmentation") == "seg")
    planted = res.filter(pl.col("segment") == "s3")
    assert planted["significant"].item() is True
    assert planted["abs_lift_ci_lower"].item() > 0
    assert res.filter(pl.col("segment") != "s3")["significant"].sum() == 0


def test_null_familywise_error_and_bh_monotone() -> None:
    """Under the global null BH controls FWER at fdr (m0 = m).

    400 independent experiments x 10 segments; expected share <= 0.05, binomial SE
    ~0.011, so we allow 0.05 + 3 SE = 0.083 and also require some false positives
    to exist (share > 0.01) so the test is not vacuous.
    """
    rng = np.random.default_rng(2024)
    n_exp = 400
    df = bulk_experiments(rng, n_experiments=n_exp, n_segments=10, n_per_arm=300, p_control=0.1, p_variant=0.1)
    res = ab_test_results(df, fdr=0.05)
    assert res.height == n_exp * 10
    share = res.group_by("experiment_id").agg(pl.col("significant").any())["significant"].mean()
    se = math.sqrt(0.05 * 0.95 / n_exp)
    assert 0.01 < share <= 0.05 + 3 * se, share
    # raw p-values are roughly uniform under the null (no systematic anti-conservatism)
    assert (res["p_value"] < 0.05).mean() == pytest.approx(0.05, abs=0.015)

    for _, fam in res.group_by("experiment_id"):
        fam = fam.sort("p_value")
        p, q = fam["p_value"].to_numpy(), fam["q_value"].to_numpy()
        assert np.all(np.diff(q) >= -1e-15)  # monotone in p
        assert np.all(q >= p - 1e-15) and np.all(q <= 1.0)


def test_mde_gives_target_power() -> None:
    """Simulating at the reported MDE rejects at alpha ~80% of the time.

    1000 seeded replications: binomial SE of the power estimate ~0.013; tolerance 0.045.
    """
    n, p0, alpha = 2000, 0.10, 0.05
    rng = np.random.default_rng(11)
    pilot = bulk_experiments(rng, n_experiments=1, n_segments=1, n_per_arm=n, p_control=p0, p_variant=p0)
    # MDE for the exact design at the true control rate
    pilot = pilot.with_columns(converted=(pl.int_range(pl.len()) % n) < int(p0 * n))
    mde = ab_test_results(pilot, alpha=alpha, power=0.8)["mde_abs"].item()
    assert 0.02 < mde < 0.04

    sim = bulk_experiments(rng, n_experiments=1000, n_segments=1, n_per_arm=n, p_control=p0, p_variant=p0 + mde)
    res = ab_test_results(sim, alpha=alpha)
    power = (res["p_value"] < alpha).mean()
    assert power == pytest.approx(0.8, abs=0.045), power

    # larger or unbalanced designs have smaller / larger MDEs respectively
    assert ab_test_results(pilot, power=0.9)["mde_abs"].item() > mde


# --------------------------------------------------------------------------- degenerate


def _rows(spec: list[tuple[str, str, int, int, float]]) -> pl.DataFrame:
    """(segment, variant, n, conversions, revenue_per_conversion) -> customer rows."""
    frames = []
    for segment, variant, n, x, rev in spec:
        conv = np.arange(n) < x
        frames.append(
            pl.DataFrame(
                {
                    "experiment_id": pl.Series([1] * n, dtype=pl.Int64),
                    "segmentation": pl.Series(["seg"] * n, dtype=pl.String),
                    "segment": pl.Series([segment] * n, dtype=pl.String),
                    "variant": pl.Series([variant] * n, dtype=pl.String),
                    "is_control": pl.Series([variant == "ctrl"] * n, dtype=pl.Boolean),
                    "converted": pl.Series(conv, dtype=pl.Boolean),
                    "revenue": pl.Series(np.where(conv, rev, 0.0), dtype=pl.Float64),
                }
            )
        )
    return pl.concat(frames)


def test_degenerate_cells_do_not_crash() -> None:
    df = _rows(
        [
            ("zero", "ctrl", 50, 0, 10.0), ("zero", "v", 40, 0, 10.0),   # no conversions
            ("full", "ctrl", 30, 30, 10.0), ("full", "v", 20, 20, 10.0),  # all converted
            ("ones", "ctrl", 1, 1, 5.0), ("ones", "v", 1, 0, 5.0),        # n = 1
            ("noctl", "v", 25, 5, 3.0),                                   # control n = 0
            ("novar", "ctrl", 25, 5, 3.0),                                # variant n = 0
            ("ctl0", "ctrl", 100, 0, 1.0), ("ctl0", "v", 100, 5, 7.0),    # control rate 0
            ("const", "ctrl", 10, 10, 4.0), ("const", "v", 10, 10, 4.0),  # constant revenue
            ("ok", "ctrl", 500, 50, 20.0), ("ok", "v", 500, 80, 20.0),
        ]
    )
    with np.errstate(all="raise"):  # numpy warnings would escape as errors
        res = ab_test_results(df)
    r = {row["segment"]: row for row in res.iter_rows(named=True)}
    assert set(r) == {"zero", "full", "ones", "noctl", "novar", "ctl0", "const", "ok"}
    nan = math.isnan

    assert nan(r["zero"]["p_value"]) and nan(r["zero"]["rel_lift"]) and nan(r["zero"]["q_value"])
    assert r["zero"]["abs_lift"] == 0.0 and r["zero"]["abs_lift_ci_upper"] > 0 > r["zero"]["abs_lift_ci_lower"]
    assert nan(r["zero"]["rpu_p_value"]) and r["zero"]["rpu_lift"] == 0.0
    assert r["zero"]["significant"] is False

    assert nan(r["full"]["p_value"]) and r["full"]["rel_lift"] == 0.0 and nan(r["full"]["rel_lift_ci_lower"])
    assert nan(r["full"]["mde_abs"])  # no room above a rate of 1

    assert r["ones"]["n_control"] == 1 and nan(r["ones"]["rpu_p_value"]) and nan(r["ones"]["rpu_lift_ci_lower"])
    assert r["ones"]["abs_lift"] == -1.0

    assert r["noctl"]["n_control"] == 0 and nan(r["noctl"]["rate_control"]) and nan(r["noctl"]["p_value"])
    assert nan(r["noctl"]["mde_abs"]) and nan(r["noctl"]["rpu_lift"])
    assert r["novar"]["n_variant"] == 0 and nan(r["novar"]["abs_lift"])
    assert r["novar"]["srm_flag"] is True  # 25 vs 0 under a 50/50 plan

    assert nan(r["ctl0"]["rel_lift"]) and nan(r["ctl0"]["rel_lift_ci_upper"])
    assert 0 < r["ctl0"]["p_value"] < 1 and r["ctl0"]["mde_abs"] > 0

    assert nan(r["const"]["rpu_p_value"]) and r["const"]["rpu_lift"] == 0.0

    assert r["ok"]["p_value"] < 0.01 and not nan(r["ok"]["q_value"])
    # untestable rows are excluded from the BH family: family size = testable rows
    testable = res.filter(pl.col("p_value").is_not_nan())
    np.testing.assert_allclose(testable["q_value"].to_numpy(), bh(testable["p_value"].to_numpy()), rtol=1e-12)


def test_single_arm_and_empty_input() -> None:
    only_ctrl = _rows([("a", "ctrl", 10, 1, 1.0)])
    assert ab_test_results(only_ctrl).height == 0
    empty = only_ctrl.head(0)
    out = ab_test_results(empty)
    assert out.height == 0 and out.columns == ["experiment_id", "segmentation", "segment", *OUTPUT_SCHEMA]


def test_input_validation() -> None:
    df = _rows([("a", "ctrl", 10, 1, 1.0), ("a", "v", 10, 2, 1.0)])
    with pytest.raises(ValueError, match="missing columns"):
        ab_test_results(df.drop("revenue"))
    with pytest.raises(ValueError, match="exactly one control"):
        ab_test_results(df.with_columns(is_control=pl.lit(True)))
    with pytest.raises(ValueError, match="not constant"):
        ab_test_results(df.with_columns(is_control=pl.int_range(pl.len()) == 0))
    with pytest.raises(ValueError, match="null"):
        ab_test_results(df.with_columns(revenue=pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("revenue"))))
    with pytest.raises(TypeError, match="Boolean"):
        ab_test_results(df.with_columns(pl.col("converted").cast(pl.Int8)))
    with pytest.raises(ValueError, match="alpha"):
        ab_test_results(df, alpha=1.5)
