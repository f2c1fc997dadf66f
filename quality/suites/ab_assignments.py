"""Suite guarding staging.ab_assignments (one row per experiment and assigned customer)."""
from quality.suites.common import (SuiteContext, email, key, not_in_future, not_null, references, row_count, schema)

SCHEMA = {
    "experiment_id": "VARCHAR", "variant": "VARCHAR", "email": "VARCHAR", "assignment_key": "VARCHAR", "assigned_at": "TIMESTAMP",
    "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("experiment_id", "email"), *not_null("variant", "assigned_at"),
        *references("experiment_id", "staging.experiments", "experiment_id", "ab_assignments_experiment", ctx),
        *email(),
        *not_in_future("assigned_at", ctx),
    ]
