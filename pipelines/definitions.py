"""The code location: every asset, check, job, schedule, sensor and resource of the pipeline.

Loaded by workspace.yaml (`dagster dev -w workspace.yaml`) and by the demo and tests.
"""

import dagster as dg

from assets.features.customer_clv import customer_clv, clv_inputs
from assets.features.customer_features import customer_features
from assets.identity.customer_identity import customers, identity_graph
from assets.ingest.raw import raw_assets
from assets.privacy.tables import privacy_assets
from assets.predict.actions import account_segments, segment_actions
from assets.predict.propensity import customer_scores, customer_trends, propensity_auc_check, propensity_model
from assets.quality.silo_coverage import silo_coverage, silo_coverage_checks
from assets.reference.ref_tables import ref_blocked_identifiers, ref_countries, ref_currencies, ref_regions
from assets.exports.audiences import audience_exports
from assets.report.segment_report import segment_report
from assets.roi.ab_tests import ab_test_results
from assets.roi.roi_checks import roi_checks
from assets.roi.roi_tables import (ab_outcomes, audience, campaign_touches, order_attribution, segment_campaign_performance,
                                   segment_channel_roi, segment_roi, segment_spend_allocation)
from assets.segments.analyst_segments import analyst_segments
from assets.segments.customer_segments import (customer_segments, rfm_scores, rfm_segment_map, segment_history,
                                                 segment_transitions)
from assets.segments.segment_profiles import segment_profile_checks, segment_profiles
from assets.segments.ml_segments import ml_segments
from assets.lake.web_events import lake_web_events
from assets.staging.staged import staged_assets
from assets.staging.web_session_days import web_session_days, web_session_days_events_conserved
from pipelines.concurrency import all_in_pool
from pipelines.jobs import lake_job, segmentation_job, segmentation_job_multiprocess
from pipelines.lake import lake_enabled
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.schedules import daily_schedule, landing_sensor
from pipelines.serving import serving_snapshot_asset, serving_upstream
from quality.gx_checks import gx_checks
from quality.invariants import invariant_checks
from quality.rate_checks import quarantine_rate_checks

all_assets = [
    *raw_assets,
    ref_countries, ref_currencies, ref_blocked_identifiers, ref_regions,
    *([lake_web_events] if lake_enabled() else []), *staged_assets, web_session_days,
    identity_graph, customers, silo_coverage,
    clv_inputs, customer_clv, customer_features,
    rfm_segment_map, rfm_scores, analyst_segments, ml_segments, customer_segments, segment_history,
    segment_transitions, segment_profiles,
    campaign_touches, order_attribution, segment_spend_allocation, segment_roi,
    segment_channel_roi, segment_campaign_performance, ab_outcomes, ab_test_results, audience, audience_exports,
    *privacy_assets,
    segment_report,
    customer_trends, propensity_model, customer_scores, segment_actions, account_segments,
]

# Last: publish marts and ref to the read-only serving file (pipelines/serving.py).
all_assets.append(serving_snapshot_asset(serving_upstream(all_assets)))

# Every asset and check runs in the duckdb_writer concurrency pool (pipelines/concurrency.py), except
# the lake.* assets (pool lake_writer, only with config lake.web_events): they write Parquet files.
defs = dg.Definitions(
    assets=all_in_pool(all_assets),
    asset_checks=all_in_pool([*invariant_checks, *roi_checks, *gx_checks, *quarantine_rate_checks, *silo_coverage_checks,
                              propensity_auc_check, *segment_profile_checks, web_session_days_events_conserved]),
    jobs=[segmentation_job, segmentation_job_multiprocess, *([lake_job] if lake_enabled() else [])],
    schedules=[daily_schedule],
    sensors=[landing_sensor],
    resources={"settings": PipelineSettings(), "warehouse": Warehouse()},
)
