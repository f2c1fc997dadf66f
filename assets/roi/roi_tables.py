"""ROI per segment: touches, attribution, spend allocation, and the ROI marts (segment, segment x
channel, segment x campaign). Each table is one SQL model in sql/roi/, documented by the .yml beside it."""

from assets.sql_model import sql_table_asset


def roi_table_asset(table: str, sql_file: str, deps: list[list[str]]):
    return sql_table_asset(table, sql_file, deps=deps, group="roi")


campaign_touches = roi_table_asset(
    "staging.campaign_touches", "roi/campaign_touches.sql",
    deps=[["staging", "email_events"], ["staging", "web_events"], ["staging", "campaigns"], ["marts", "customer_identity"]],
)

order_attribution = roi_table_asset(
    "marts.order_attribution", "roi/order_attribution.sql",
    deps=[["staging", "crm_orders"], ["marts", "customer_identity"], ["staging", "campaign_touches"]],
)

segment_spend_allocation = roi_table_asset(
    "marts.segment_spend_allocation", "roi/segment_spend_allocation.sql",
    deps=[["staging", "ad_spend"], ["staging", "campaign_touches"], ["marts", "customer_segments"]],
)

segment_roi = roi_table_asset(
    "marts.segment_roi", "roi/segment_roi.sql",
    deps=[["marts", "customer_segments"], ["marts", "customer_features"], ["marts", "order_attribution"],
          ["marts", "segment_spend_allocation"], ["staging", "campaign_touches"], ["marts", "customer_scores"]],
)

segment_channel_roi = roi_table_asset(
    "marts.segment_channel_roi", "roi/segment_channel_roi.sql",
    deps=[["marts", "customer_segments"], ["marts", "customer_features"], ["marts", "order_attribution"],
          ["marts", "segment_spend_allocation"], ["staging", "campaign_touches"]],
)

segment_campaign_performance = roi_table_asset(
    "marts.segment_campaign_performance", "roi/segment_campaign_performance.sql",
    deps=[["marts", "customer_segments"], ["staging", "email_events"], ["marts", "customer_identity"],
          ["staging", "campaign_touches"], ["staging", "campaigns"], ["marts", "order_attribution"],
          ["marts", "segment_spend_allocation"]],
)

ab_outcomes = roi_table_asset(
    "marts.ab_outcomes", "roi/ab_outcomes.sql",
    deps=[["staging", "experiments"], ["staging", "ab_assignments"], ["staging", "crm_orders"],
          ["staging", "crm_contacts"], ["staging", "web_events"], ["marts", "customer_identity"],
          ["ref", "rfm_segment_map"], ["ref", "regions"]],
)

audience = roi_table_asset(
    "marts.audience", "roi/audience.sql",
    deps=[["marts", "customer_segments"], ["pii", "customer_contacts"], ["marts", "customer_consent"]],
)

roi_sql_assets = [campaign_touches, order_attribution, segment_spend_allocation, segment_roi, segment_channel_roi,
                  segment_campaign_performance, ab_outcomes, audience]
