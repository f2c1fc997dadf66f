"""Suite guarding staging.fx_rates (one row per day and currency)."""
from quality.suites.common import (SuiteContext, between, fresh, in_reference, key, not_null, row_count, schema)

SCHEMA = {"rate_date": "DATE", "currency": "VARCHAR", "usd_per_unit": "DOUBLE", "_record_key": "VARCHAR",
          "_load_id": "VARCHAR"}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("rate_date", "currency"), *not_null("usd_per_unit"),
        *in_reference("currency", "ref.currencies", "code"),
        *between("usd_per_unit", 0, None),
        *fresh("rate_date", ctx),
    ]
