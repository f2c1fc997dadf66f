"""Suite guarding staging.email_events (one row per email event)."""
from quality.suites.common import (SuiteContext, email, fresh, in_set, key, not_in_future, not_null, references, row_count, schema)

SCHEMA = {
    "event_id": "VARCHAR", "campaign_id": "VARCHAR", "email": "VARCHAR", "recipient_key": "VARCHAR", "event_type": "VARCHAR",
    "occurred_at": "TIMESTAMP", "_record_key": "VARCHAR", "_load_id": "VARCHAR", "_partition_date": "DATE",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("event_id"), *not_null("campaign_id", "email", "occurred_at"),
        *references("campaign_id", "staging.campaigns", "campaign_id", "email_events_campaign", ctx),
        *in_set("event_type", ["send", "open", "click", "unsubscribe", "bounce"]),
        *email(),
        *not_in_future("occurred_at", ctx),
        *fresh("occurred_at", ctx),
    ]
