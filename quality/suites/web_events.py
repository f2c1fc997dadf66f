"""Suite guarding staging.web_events (one row per GA4 event)."""
from quality.suites.common import (SuiteContext, between, fresh, in_reference, not_in_future, not_null, row_count, schema)

SCHEMA = {
    "user_id": "VARCHAR", "user_pseudo_id": "VARCHAR", "event_name": "VARCHAR", "event_at": "TIMESTAMP",
    "event_date": "DATE", "ga_session_id": "BIGINT", "page_location": "VARCHAR", "engagement_time_msec": "BIGINT",
    "geo_country_code": "VARCHAR", "geo_region": "VARCHAR", "geo_city": "VARCHAR", "device_category": "VARCHAR",
    "traffic_source": "VARCHAR", "traffic_medium": "VARCHAR", "traffic_campaign": "VARCHAR",
    "transaction_id": "VARCHAR", "purchase_revenue_usd": "DOUBLE", "_record_key": "VARCHAR", "_load_id": "VARCHAR",
    "_partition_date": "DATE",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        # GA4 events have no id: the event's key is (user_pseudo_id, event time, event name)
        *not_null("user_pseudo_id", "event_at", "event_name", "_partition_date"),
        *in_reference("geo_country_code", "ref.countries", "alpha2"),
        *between("purchase_revenue_usd", 0, None),
        *not_in_future("event_at", ctx),
        *fresh("event_at", ctx),
    ]
