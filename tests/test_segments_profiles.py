"""Segment profiles, personas and validation figures."""
import pytest

from assets.segments.segment_profiles import PROFILE_FEATURES, persona_label


def test_one_profile_per_segment_with_sizes_that_add_up(pipeline_run):
    mismatched = pipeline_run.query(
        """with counted as (select segmentation, segment, count(*) as n from marts.customer_segments group by all)
           select count(*) from counted full join marts.segment_profiles p using (segmentation, segment)
           where p.customers is distinct from counted.n""")[0][0]
    assert mismatched == 0
    for segmentation, share in pipeline_run.query(
            "select segmentation, sum(share) from marts.segment_profiles group by all"):
        assert share == pytest.approx(1.0), segmentation


def test_profiles_have_labels_distinguishing_features_and_every_feature_mean(pipeline_run):
    rows = pipeline_run.query(
        "select segmentation, segment, persona_label, len(distinguishing_features), cardinality(feature_means)"
        " from marts.segment_profiles")
    assert rows
    for segmentation, segment, label, top, means in rows:
        assert label, (segmentation, segment)
        assert top >= 1 and means == len(PROFILE_FEATURES), (segmentation, segment)


def test_standardized_difference_recomputed_independently(pipeline_run):
    """The 'champions' mean frequency vs the population, recomputed from the feature table."""
    mart = pipeline_run.query(
        "select segment_mean, standardized_difference from marts.segment_feature_stats"
        " where segmentation = 'rfm' and segment = 'champions' and feature = 'frequency'")[0]
    seg_mean, pop_mean, pop_sd = pipeline_run.query(
        """select avg(f.frequency) filter (where s.segment = 'champions'), avg(f.frequency), stddev_samp(f.frequency)
           from marts.customer_features f join marts.customer_segments s using (customer_key)
           where s.segmentation = 'rfm'""")[0]
    assert mart[0] == pytest.approx(seg_mean)
    assert mart[1] == pytest.approx((seg_mean - pop_mean) / pop_sd)
    assert mart[1] > 0.5, "champions buy more often than the average customer"


def test_persona_label_from_traits():
    label = persona_label([("age_years", -1.2), ("value_sustainability", 1.5), ("mobile_session_share", 0.8),
                           ("lifestyle_digital", 0.7), ("frequency", 0.1)])
    assert label == "young eco-minded mobile customers"
    assert persona_label([("frequency", 1.0), ("nps_score", 0.1)]) == "frequent shoppers"
    assert persona_label([("frequency", 0.1)]) == "typical customers"


def test_validation_per_segmentation(pipeline_run):
    rows = {r[0]: r[1:] for r in pipeline_run.query(
        "select segmentation, segments, min_segment_share, silhouette, bootstrap_ari, segments_below_min_share,"
        " min_share_threshold from marts.segmentation_validation")}
    segmentations = {r[0] for r in pipeline_run.query("select distinct segmentation from marts.customer_segments")}
    assert set(rows) == segmentations
    for name, (segments, min_share, silhouette, ari, below, threshold) in rows.items():
        assert 0 < min_share <= 1 / segments + 1e-12, name
        assert silhouette is None or -1 <= silhouette <= 1, name
        small = pipeline_run.query("select count(*) from marts.segment_profiles where segmentation = $s and share < $t",
                                   {"s": name, "t": threshold})[0][0]
        assert below == small, name
    assert rows["ml_cluster"][3] is not None and 0 < rows["ml_cluster"][3] <= 1


def test_small_segments_raise_the_warning_check(pipeline_run):
    small = pipeline_run.query("select count(*) from marts.segment_profiles where share < 0.02")[0][0]
    evaluations = [e for e in pipeline_run.result.get_asset_check_evaluations() if e.check_name == "segments_viable"]
    assert len(evaluations) == 1
    assert evaluations[0].passed == (small == 0)
    assert evaluations[0].severity.value == "WARN"
