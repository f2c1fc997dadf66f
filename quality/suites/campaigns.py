"""Suite guarding staging.campaigns (one row per campaign; a dimension, so no freshness)."""
from quality.suites.common import SuiteContext, in_set, key, not_null, row_count, schema

SCHEMA = {
    "campaign_id": "VARCHAR", "campaign_name": "VARCHAR", "channel": "VARCHAR", "start_date": "DATE",
    "end_date": "DATE", "objective": "VARCHAR", "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("campaign_id"), *not_null("channel", "start_date"),
        *in_set("channel", ["email", "paid_search", "paid_social", "display"]),
        *in_set("objective", ["acquisition", "retention", "reactivation"]),
    ]
