"""ROI per segment: touches, attribution, spend allocation, and the segment ROI mart."""

from assets.sql_model import sql_table_asset

campaign_touches = sql_table_asset(
    "staging.campaign_touches", "roi/campaign_touches.sql",
    deps=[["staging", "email_events"], ["staging", "web_events"], ["staging", "campaigns"], ["marts", "customer_identity"]],
    group="roi",
)

order_attribution = sql_table_asset(
    "marts.order_attribution", "roi/order_attribution.sql",
    deps=[["staging", "crm_orders"], ["marts", "customer_identity"], ["staging", "campaign_touches"]],
    group="roi",
)

segment_spend_allocation = sql_table_asset(
    "marts.segment_spend_allocation", "roi/segment_spend_allocation.sql",
    deps=[["staging", "ad_spend"], ["staging", "campaign_touches"], ["marts", "customer_segments"]],
    group="roi",
)

segment_roi = sql_table_asset(
    "marts.segment_roi", "roi/segment_roi.sql",
    deps=[["marts", "customer_segments"], ["marts", "customer_features"], ["marts", "order_attribution"],
          ["marts", "segment_spend_allocation"], ["staging", "campaign_touches"]],
    group="roi",
)
