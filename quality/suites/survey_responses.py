"""Suite guarding staging.survey_responses (one row per response)."""
from quality.suites.common import SuiteContext, between, email, fresh, in_set, key, not_in_future, row_count, schema

LIKERT = ("value_sustainability", "value_price", "value_prestige", "interest_novelty", "lifestyle_active",
          "lifestyle_digital")
SCHEMA = {
    "response_id": "VARCHAR", "submitted_at": "TIMESTAMP", "email": "VARCHAR",
    **{c: "INTEGER" for c in LIKERT},
    "main_interest": "VARCHAR", "nps_score": "INTEGER", "_record_key": "VARCHAR", "_load_id": "VARCHAR",
}


def expectations(ctx: SuiteContext) -> list:
    return [
        *schema(SCHEMA), *row_count(),
        *key("response_id"),
        *[e for c in LIKERT for e in between(c, 1, 5)],
        *between("nps_score", 0, 10),
        *in_set("main_interest", ["outdoors", "technology", "fashion", "home", "wellness"]),
        *email(),
        *not_in_future("submitted_at", ctx),
        *fresh("submitted_at", ctx),
    ]
