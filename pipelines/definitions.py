"""The code location: every asset, check, job, schedule, sensor and resource of the pipeline.

Loaded by workspace.yaml (`dagster dev -w workspace.yaml`) and by the demo and tests.
"""

import dagster as dg

from assets.features.customer_clv import customer_clv, clv_inputs
from assets.features.customer_features import customer_features
from assets.identity.customer_identity import customers, identity_graph
from assets.ingest.raw import raw_assets
from assets.reference.ref_tables import ref_blocked_identifiers, ref_countries, ref_currencies, ref_regions
from assets.roi.roi_tables import campaign_touches, order_attribution, segment_roi, segment_spend_allocation
from assets.segments.analyst_segments import analyst_segments
from assets.segments.customer_segments import customer_segments, rfm_scores, rfm_segment_map, segment_history
from assets.segments.ml_segments import ml_segments
from assets.staging.staged import staged_assets
from pipelines.jobs import segmentation_job
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.schedules import daily_schedule, landing_sensor
from quality.invariants import invariant_checks

all_assets = [
    *raw_assets,
    ref_countries, ref_currencies, ref_blocked_identifiers, ref_regions,
    *staged_assets,
    identity_graph, customers,
    clv_inputs, customer_clv, customer_features,
    rfm_segment_map, rfm_scores, analyst_segments, ml_segments, customer_segments, segment_history,
    campaign_touches, order_attribution, segment_spend_allocation, segment_roi,
]

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=invariant_checks,
    jobs=[segmentation_job],
    schedules=[daily_schedule],
    sensors=[landing_sensor],
    resources={"settings": PipelineSettings(), "warehouse": Warehouse()},
)
