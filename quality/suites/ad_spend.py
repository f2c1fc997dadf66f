"""Suite guarding staging.ad_spend (one row per day, campaign and channel)."""
from quality.suites.common import (SuiteContext, between, fresh, in_reference, key, not_null, references, row_count, schema)

SCHEMA = {
    "spend_date": "DATE", "campaign_id": "VARCHAR", "channel": "VARCHAR", "spend": "DECIMAL(18,2)",
    "currency": "VARCHAR", "spend_usd": "DECIMAL(18,2)", "impressions": "BIGINT", "clicks": "BIGINT",
    "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("spend_date", "campaign_id", "channel"), *not_null("spend", "spend_usd", "currency"),
        *references("campaign_id", "staging.campaigns", "campaign_id", "ad_spend_campaign", ctx),
        *between("spend", 0, None), *between("spend_usd", 0, None),
        *between("impressions", 0, None), *between("clicks", 0, None),
        *in_reference("currency", "ref.currencies", "code"),
        *between("spend_date", None, ctx.as_of),
        *fresh("spend_date", ctx),
    ]
