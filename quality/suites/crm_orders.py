"""Suite guarding staging.crm_orders (one row per order)."""
from quality.suites.common import (SuiteContext, between, email, fresh, in_reference, in_set, key, meta, not_in_future, not_null, references, row_count, schema)

SCHEMA = {
    "order_id": "VARCHAR", "contact_id": "BIGINT", "email": "VARCHAR", "ordered_at": "TIMESTAMP",
    "amount": "DECIMAL(18,2)", "currency": "VARCHAR", "amount_usd": "DECIMAL(18,2)", "status": "VARCHAR",
    "sales_channel": "VARCHAR", "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    import great_expectations as gx

    return [
        *schema(SCHEMA), *row_count(),
        *key("order_id"), *not_null("ordered_at", "amount", "currency", "amount_usd"),
        *references("contact_id", "staging.crm_contacts", "contact_id", "crm_orders_contact", ctx),
        *between("amount", 0, None), *between("amount_usd", 0, None),
        *in_reference("currency", "ref.currencies", "code"),
        *in_set("status", ["completed", "refunded", "cancelled"]),
        *email(),
        *not_in_future("ordered_at", ctx),
        # an order placed before its buyer's CRM record was created
        gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query=("select order_id, ordered_at, contact_created_at from {batch} join "
                                   "(select contact_id, created_at as contact_created_at from staging.crm_contacts) "
                                   "using (contact_id) where ordered_at < contact_created_at"),
            description="no order before its contact was created", meta=meta("accuracy")),
        *fresh("ordered_at", ctx),
    ]
