"""Suite guarding staging.crm_contacts (one row per CRM contact)."""
from quality.suites.common import (SuiteContext, between, email, fresh, in_reference, in_set, key, meta, not_in_future, row_count, schema)

SCHEMA = {
    "contact_id": "BIGINT", "web_user_id": "VARCHAR", "first_name": "VARCHAR", "last_name": "VARCHAR",
    "email": "VARCHAR", "phone": "VARCHAR", "birth_date": "DATE", "gender": "VARCHAR", "annual_income": "DOUBLE",
    "city": "VARCHAR", "country_code": "VARCHAR", "company_name": "VARCHAR", "lifecycle_stage": "VARCHAR",
    "marketing_opt_in": "BOOLEAN", "opt_in_changed_at": "TIMESTAMP", "created_at": "TIMESTAMP",
    "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    import great_expectations as gx

    oldest = ctx.as_of.replace(year=ctx.as_of.year - 110)
    youngest = ctx.as_of.replace(year=ctx.as_of.year - 13)
    return [
        *schema(SCHEMA), *row_count(),
        *key("contact_id"),
        *email(),
        # one person, one contact: a repeated normalized email is a duplicate CRM record (warn)
        gx.expectations.ExpectColumnValuesToBeUnique(column="email", mostly=0.95, meta=meta("accuracy")),
        *in_reference("country_code", "ref.countries", "alpha2"),
        *in_set("gender", ["female", "male", "non-binary"]),
        *between("birth_date", oldest, youngest),
        *between("annual_income", 0, None),
        *not_in_future("created_at", ctx),
        *fresh("created_at", ctx),
    ]
