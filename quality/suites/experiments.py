"""Suite guarding staging.experiments (one row per A/B experiment; a dimension, so no freshness)."""
from quality.suites.common import SuiteContext, between, key, not_null, row_count, schema

SCHEMA = {
    "experiment_id": "VARCHAR", "experiment_name": "VARCHAR", "campaign_id": "VARCHAR", "start_date": "DATE",
    "end_date": "DATE", "control_variant": "VARCHAR", "conversion_window_days": "INTEGER",
    "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("experiment_id"), *not_null("start_date", "control_variant", "conversion_window_days"),
        *between("conversion_window_days", 1, 365),
        *between("start_date", None, ctx.as_of),
    ]
