"""marts.ab_test_results: pre-treatment segments, statistics that match an independent computation,
planted effects found where the generator planted them, and nulls kept at the false discovery rate."""
import os

import dagster as dg
import numpy as np
import polars as pl
import pytest
from scipy import stats

from assets.roi.ab_stats import ab_test_results
from assets.roi.params import ab_settings
from tests.conftest import AS_OF, ENV_KEYS, pipeline_env

PRE_TREATMENT = {"all", "rfm", "lifecycle", "demographic", "geographic"}


def frame(run, sql: str) -> pl.DataFrame:
    con = run.connect()
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


# ------------------------------------------------------------------ on the shared pipeline run


def test_grain_and_pre_treatment_segmentations_only(pipeline_run):
    results = frame(pipeline_run, "select * from marts.ab_test_results")
    assert results.height > 0
    assert set(results["segmentation"].unique()) == PRE_TREATMENT
    assert results.select("experiment_id", "segmentation", "segment", "variant").is_unique().all()
    experiments = {r[0] for r in pipeline_run.query("select experiment_id from staging.experiments")}
    assert set(results["experiment_id"].unique()) == experiments
    # every customer is in exactly one segment per segmentation, so each segmentation covers 'all'
    sizes = results.group_by("experiment_id", "segmentation").agg(pl.col("n_control").sum(), pl.col("n_variant").sum())
    all_sizes = sizes.filter(pl.col("segmentation") == "all").drop("segmentation")
    assert sizes.join(all_sizes, on="experiment_id", suffix="_all").filter(
        (pl.col("n_control") != pl.col("n_control_all")) | (pl.col("n_variant") != pl.col("n_variant_all"))).is_empty()


def independent_outcomes(run) -> pl.DataFrame:
    """Per assigned customer: arm, converted, revenue - straight from staged tables and the identity map."""
    assignments = frame(run, """
        select a.experiment_id, i.customer_key, a.variant, a.assigned_at, e.control_variant, e.conversion_window_days
        from staging.ab_assignments a
        join staging.experiments e using (experiment_id)
        join marts.customer_identity i on i.source = 'ab_assignments' and i.record_key = a.assignment_key
        where not i.is_anonymous""")
    assignments = (assignments.sort("assigned_at").group_by("experiment_id", "customer_key")
                   .agg(pl.all().first(), pl.col("variant").n_unique().alias("arms"))
                   .filter(pl.col("arms") == 1))
    orders = frame(run, """
        select i.customer_key, o.ordered_at, o.amount_usd from staging.crm_orders o
        join marts.customer_identity i on i.source = 'crm_orders' and i.record_key = o.order_id
        where o.status = 'completed'""")
    joined = assignments.join(orders, on="customer_key", how="left").with_columns(
        in_window=(pl.col("ordered_at") >= pl.col("assigned_at"))
        & (pl.col("ordered_at") < pl.col("assigned_at") + pl.duration(days=pl.col("conversion_window_days"))))
    return joined.group_by("experiment_id", "customer_key").agg(
        pl.col("variant").first(), (pl.col("variant").first() == pl.col("control_variant").first()).alias("is_control"),
        pl.col("in_window").fill_null(False).any().alias("converted"),
        pl.col("amount_usd").cast(pl.Float64).filter(pl.col("in_window").fill_null(False)).sum().alias("revenue"))


def test_statistics_match_an_independent_computation(pipeline_run):
    outcomes = independent_outcomes(pipeline_run)
    results = frame(pipeline_run, "select * from marts.ab_test_results where segmentation = 'all'")
    assert results.height == outcomes["experiment_id"].n_unique()
    alpha = ab_settings()["alpha"]
    for row in results.iter_rows(named=True):
        exp = outcomes.filter(pl.col("experiment_id") == row["experiment_id"])
        control, variant = exp.filter(pl.col("is_control")), exp.filter(pl.col("variant") == row["variant"])
        assert (row["n_control"], row["n_variant"]) == (control.height, variant.height)
        xc, xv = int(control["converted"].sum()), int(variant["converted"].sum())
        assert (row["conversions_control"], row["conversions_variant"]) == (xc, xv)
        assert row["abs_lift"] == pytest.approx(xv / variant.height - xc / control.height, abs=1e-12)
        # pooled two-proportion z test = Pearson chi-square on the 2x2 table without continuity correction
        table = [[xc, control.height - xc], [xv, variant.height - xv]]
        assert row["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, rel=1e-6)
        # revenue per user: Welch t-test and its CI on the raw per-customer revenue
        welch = stats.ttest_ind(variant["revenue"].to_numpy(), control["revenue"].to_numpy(), equal_var=False)
        ci = welch.confidence_interval(1 - alpha)
        assert row["rpu_p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
        assert (row["rpu_lift_ci_lower"], row["rpu_lift_ci_upper"]) == pytest.approx((ci.low, ci.high), rel=1e-6)
        assert row["revenue_variant"] == pytest.approx(variant["revenue"].sum(), abs=0.005)
        # SRM: chi-square goodness of fit against an equal split
        assert row["srm_p_value"] == pytest.approx(stats.chisquare([control.height, variant.height]).pvalue, rel=1e-6)
        # the absolute-lift CI covers the estimate
        assert row["abs_lift_ci_lower"] <= row["abs_lift"] <= row["abs_lift_ci_upper"]


def test_q_values_are_benjamini_hochberg_within_experiment_and_segmentation(pipeline_run):
    results = frame(pipeline_run, "select experiment_id, segmentation, p_value, q_value from marts.ab_test_results"
                                  " where not isnan(p_value)")
    for (_, _), family in results.group_by("experiment_id", "segmentation"):
        p = family["p_value"].to_numpy()
        order = np.argsort(p)
        m = len(p)
        q_sorted = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
        expected = np.empty(m)
        expected[order] = np.minimum(q_sorted, 1.0)
        np.testing.assert_allclose(family["q_value"].to_numpy(), expected, rtol=1e-9)


def test_segments_come_from_data_before_assignment(pipeline_run):
    """A customer whose first purchase came after assignment was a prospect at assignment, whatever the
    run-date segments say; the A/B breakdown must not use the outcome period."""
    rows = frame(pipeline_run, """
        with first_order as (
            select i.customer_key, min(o.ordered_at) as first_order_at
            from staging.crm_orders o
            join marts.customer_identity i on i.source = 'crm_orders' and i.record_key = o.order_id
            where o.status = 'completed' group by all
        )
        select o.experiment_id, o.customer_key, o.segmentation, o.segment as at_assignment, s.segment as on_run_date,
               f.first_order_at, o.assigned_at
        from marts.ab_outcomes o
        left join first_order f using (customer_key)
        left join marts.customer_segments s using (customer_key, segmentation)
        where o.segmentation in ('lifecycle', 'rfm')""")
    later_buyers = rows.filter(pl.col("first_order_at").is_null() | (pl.col("first_order_at") >= pl.col("assigned_at")))
    expected = {"lifecycle": "prospect", "rfm": "no_purchase"}
    wrong = later_buyers.filter(pl.col("at_assignment") != pl.col("segmentation").replace(expected))
    assert wrong.is_empty(), wrong.head()
    # the test has teeth: many of them have a different segment on the run date
    moved = later_buyers.filter(pl.col("on_run_date").is_not_null() & (pl.col("on_run_date") != pl.col("at_assignment")))
    assert moved.height > 20
    earlier_buyers = rows.filter(pl.col("first_order_at") < pl.col("assigned_at"))
    assert earlier_buyers.height > 0
    assert earlier_buyers.filter(pl.col("at_assignment").is_in(["prospect", "no_purchase"])).is_empty()


def test_sample_ratio_check_ran(pipeline_run):
    evaluations = {e.asset_check_key.name for e in pipeline_run.result.get_asset_check_evaluations()}
    assert "no_sample_ratio_mismatch" in evaluations


# ------------------------------------------------------------------ planted effects on a larger generated dataset

BIG_CUSTOMERS, BIG_EVENTS, BIG_SEED = 30_000, 4, 11


@pytest.fixture(scope="module")
def big_ab_run(tmp_path_factory):
    """30,000 generated customers; only the assets upstream of marts.ab_test_results are materialized."""
    from datagen import generate
    from pipelines.definitions import all_assets
    from pipelines.partitions import full_run_tags
    from pipelines.resources import PipelineSettings, Warehouse

    root = tmp_path_factory.mktemp("ab_big")
    generate(root / "landing", root / "truth", BIG_CUSTOMERS, BIG_EVENTS, BIG_SEED, AS_OF, 365)
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(pipeline_env(root / "landing", root / "output"))
    try:
        result = dg.materialize(all_assets, selection=dg.AssetSelection.keys(["marts", "ab_test_results"]).upstream(),
                                resources={"settings": PipelineSettings(), "warehouse": Warehouse()},
                                raise_on_error=False, tags=full_run_tags(root / "landing"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.success
    import duckdb
    con = duckdb.connect(str(root / "output" / "warehouse.duckdb"), read_only=True)
    try:
        outcomes = con.sql("""
            select o.*, a._record_key
            from marts.ab_outcomes o
            join staging.ab_assignments a on a.experiment_id = o.experiment_id
            join marts.customer_identity i on i.source = 'ab_assignments'
                and i.record_key = a.assignment_key and i.customer_key = o.customer_key
            where o.segmentation = 'all'""").pl()
        results = con.sql("select * from marts.ab_test_results").pl()
        cells = con.sql("select experiment_id, customer_key, segmentation, segment, is_control from marts.ab_outcomes").pl()
    finally:
        con.close()
    identifiers = pl.read_parquet(root / "truth" / "identifiers.parquet").filter(pl.col("source") == "ab_assignments")
    people = pl.read_parquet(root / "truth" / "people.parquet").select("person_id", "group_id")
    effects = pl.read_parquet(root / "truth" / "ab_effects.parquet").filter(pl.col("variant") != "control").select(
        "experiment_id", "group_id", "true_lift")
    groups = (outcomes.join(identifiers, left_on="_record_key", right_on="record_key")
              .join(people, on="person_id").unique(["experiment_id", "customer_key"]))
    return {"groups": groups, "results": results, "cells": cells, "effects": effects}


def test_planted_effects_are_detected_in_the_group_where_they_were_planted(big_ab_run):
    groups, effects = big_ab_run["groups"], big_ab_run["effects"]
    frame_ = groups.select("experiment_id", pl.lit("latent_group").alias("segmentation"),
                           pl.col("group_id").cast(pl.String).alias("segment"), "variant", "is_control", "converted",
                           pl.col("revenue_usd").cast(pl.Float64).alias("revenue"))
    settings = ab_settings()
    results = ab_test_results(frame_, alpha=settings["alpha"], power=settings["power"], fdr=settings["fdr"]).join(
        effects.with_columns(pl.col("group_id").cast(pl.String).alias("segment")), on=["experiment_id", "segment"])
    planted = results.filter(pl.col("true_lift") > 0)
    powered = planted.filter(pl.col("true_lift") > pl.col("mde_abs"))
    assert powered.height >= 1, planted  # EXP-01, price-sensitive families, +6 points
    assert powered["significant"].all(), powered
    # every planted effect is inside its confidence interval (estimates are unbiased, not just significant)
    assert planted.filter((pl.col("abs_lift_ci_lower") > pl.col("true_lift"))
                          | (pl.col("abs_lift_ci_upper") < pl.col("true_lift"))).is_empty()
    nulls = results.filter(pl.col("true_lift") == 0)
    assert nulls.height >= 6 and not nulls["significant"].any(), nulls.filter(pl.col("significant"))


def test_pipeline_segments_with_no_planted_effect_stay_non_significant(big_ab_run):
    """Map each pre-treatment segment of the mart to its truth-group mix: segments whose customers carry
    no planted lift are never significant, and EXP-02 (no effect anywhere) has no discovery at all."""
    cells, groups, effects, results = (big_ab_run[k] for k in ("cells", "groups", "effects", "results"))
    lift = (cells.filter(~pl.col("is_control"))
            .join(groups.select("experiment_id", "customer_key", "group_id"), on=["experiment_id", "customer_key"])
            .join(effects, on=["experiment_id", "group_id"])
            .group_by("experiment_id", "segmentation", "segment").agg(pl.col("true_lift").mean().alias("expected_lift")))
    scored = results.join(lift, on=["experiment_id", "segmentation", "segment"], how="left")
    assert scored.filter(pl.col("experiment_id") == "EXP-02")["significant"].sum() == 0
    false_discoveries = scored.filter(pl.col("significant") & (pl.col("expected_lift").fill_null(0) == 0))
    assert false_discoveries.is_empty(), false_discoveries
    # the whole-population estimate of EXP-01 (+6 points in one group only) is consistent with the
    # planted mixture: its 95% CI covers the treated customers' mean true lift (significance is not
    # required: the diluted effect is near the minimum detectable effect at this size)
    headline = scored.filter((pl.col("experiment_id") == "EXP-01") & (pl.col("segmentation") == "all"))
    assert headline.height == 1 and headline["expected_lift"][0] > 0
    assert headline["abs_lift_ci_lower"][0] <= headline["expected_lift"][0] <= headline["abs_lift_ci_upper"][0]


# ------------------------------------------------------------------ repeated seeds (ab_stats on simulated assignments)


def simulate(seed: int, planted: float) -> pl.DataFrame:
    """One experiment shaped like the generator's: 4 segments of 600 customers per arm, baselines 9-14 %,
    the planted lift only in segment 's2'; plus the whole population as 'all'."""
    rng = np.random.default_rng(seed)
    base = {"s0": 0.13, "s1": 0.14, "s2": 0.09, "s3": 0.10}
    parts = []
    for segment, rate in base.items():
        for variant, lift in (("control", 0.0), ("treatment", planted if segment == "s2" else 0.0)):
            converted = rng.random(600) < rate + lift
            parts.append(pl.DataFrame({"segment": segment, "variant": variant, "is_control": variant == "control",
                                       "converted": converted,
                                       "revenue": np.where(converted, rng.gamma(2.0, 40.0, 600), 0.0)}))
    rows = pl.concat(parts).with_columns(experiment_id=pl.lit(f"sim{seed}"), segmentation=pl.lit("group"))
    return pl.concat([rows, rows.with_columns(segmentation=pl.lit("all"), segment=pl.lit("all"))])


def test_nulls_stay_non_significant_at_the_configured_fdr_over_repeated_seeds():
    fdr = ab_settings()["fdr"]
    seeds = range(300)
    null_runs = ab_test_results(pl.concat([simulate(s, 0.0) for s in seeds]), fdr=fdr)
    # all-null families: BH controls the family-wise error at the FDR level
    any_discovery = null_runs.filter(pl.col("segmentation") == "group").group_by("experiment_id").agg(
        pl.col("significant").any())["significant"].mean()
    assert any_discovery <= fdr + 2.5 * np.sqrt(fdr * (1 - fdr) / len(seeds))
    planted_runs = ab_test_results(pl.concat([simulate(s, 0.08) for s in seeds]), fdr=fdr).filter(
        pl.col("segmentation") == "group")
    by_seed = planted_runs.group_by("experiment_id").agg(
        (pl.col("significant") & (pl.col("segment") != "s2")).sum().alias("false"),
        pl.col("significant").sum().alias("discoveries"),
        (pl.col("significant") & (pl.col("segment") == "s2")).any().alias("found"))
    fdp = (by_seed["false"] / by_seed["discoveries"].clip(lower_bound=1)).mean()
    assert fdp <= fdr + 2.5 * np.sqrt(fdr * (1 - fdr) / len(seeds))
    assert by_seed["found"].mean() > 0.7  # the planted segment is found most of the time
