"""Every defect class the generator plants is detected, record for record, with the planted count.

The truth (<truth>/defects.parquet) names each planted defect by source, record key and column. The
pipeline records value defects in quality.defects (row kept) and unusable rows in quality.quarantine.
DETECTION maps each planted class to where the pipeline records it; the test compares the sets of
(source, record key, column) exactly, so a missed or an extra detection fails.
"""
import pytest

# planted class -> list of (table where the pipeline records it, rule, column or None for whole rows)
DETECTION = {
    "duplicate_contact": [("defects", "duplicate_contact")],
    "future_date": [("defects", "future_timestamp"), ("quarantine", "future_timestamp")],
    "implausible_birth_date": [("defects", "implausible_age")],
    # 'EURO', 'USDD', '$', 'US$' are quarantined (amount not convertible); 'eur' is normalized to EUR and flagged
    "invalid_currency": [("quarantine", "unknown_currency"), ("defects", "noncanonical_currency")],
    "invalid_email_syntax": [("defects", "invalid_email")],
    "likert_out_of_range": [("defects", "likert_out_of_range")],
    "nps_out_of_range": [("defects", "nps_out_of_range")],
    "negative_amount": [("quarantine", "negative_amount")],
    "orphan_campaign": [("defects", "orphan_campaign")],
    # blank emails are written as placeholders ('') by the generator
    "placeholder_email": [("defects", "placeholder_email"), ("defects", "missing_email")],
    "unknown_country": [("defects", "unknown_country")],
    "unknown_experiment": [("defects", "unknown_experiment")],
    "malformed_too_few_fields": [("quarantine", "malformed_row")],
    "malformed_too_many_fields": [("quarantine", "malformed_row")],
}
# DuckDB's reject error type for each malformed class (quality.quarantine.reason names it)
MALFORMED_REASON = {"malformed_too_few_fields": "MISSING COLUMNS", "malformed_too_many_fields": "TOO MANY COLUMNS"}

DETECTED_SQL = """
select 'defects' as kind, table_name as source, record_key, column_name, rule, null as reason from quality.defects
union all
select 'quarantine', table_name,
       case when rule = 'malformed_row' then 'line:' || (original_row ->> 'line') else record_key end,
       null, rule, reason
from quality.quarantine
"""


def _truth(pipeline_run):
    import polars as pl

    return pl.read_parquet(pipeline_run.truth / "defects.parquet")


@pytest.fixture(scope="module")
def detected(pipeline_run):
    return pipeline_run.query(DETECTED_SQL)


def test_every_planted_class_has_a_detection_rule(pipeline_run):
    planted = set(_truth(pipeline_run)["defect_class"].unique())
    assert planted <= set(DETECTION), f"planted classes without a detection rule: {planted - set(DETECTION)}"


@pytest.mark.parametrize("defect_class", sorted(DETECTION))
def test_planted_defects_detected_exactly(pipeline_run, detected, defect_class):
    import polars as pl

    truth = _truth(pipeline_run).filter(pl.col("defect_class") == defect_class)
    if truth.height == 0:
        pytest.skip(f"{defect_class} not planted in this dataset")
    rules = DETECTION[defect_class]
    found = {
        (source, key, column if kind == "defects" else None)
        for kind, source, key, column, rule, reason in detected
        if (kind, rule) in rules and (defect_class not in MALFORMED_REASON or MALFORMED_REASON[defect_class] in reason)
    }
    whole_row = all(kind == "quarantine" for kind, _ in rules)
    planted = set()
    for row in truth.iter_rows(named=True):
        kind = next(k for k, _ in rules)
        # a quarantined row has no column; for mixed classes match on the detection's own column
        column = None if whole_row else row["column"]
        planted.add((row["source"], row["record_key"], column))
    if not whole_row:
        found = {(s, k, c) for s, k, c in found if c is not None} | {
            (s, k, planted_col) for s, k, c in found if c is None
            for (ps, pk, planted_col) in planted if (ps, pk) == (s, k)}
    print(f"{defect_class}: planted {len(planted)}, detected {len(found & planted)}, extra {len(found - planted)}")
    assert found & planted == planted, f"missed: {sorted(planted - found)[:10]}"
    assert found - planted == set(), f"detected but not planted: {sorted(found - planted)[:10]}"


def test_no_detection_without_a_planted_defect(pipeline_run, detected):
    """Precision of the quality rules on generator data: every defect and quarantined row is planted."""
    truth = {(r["source"], r["record_key"]) for r in _truth(pipeline_run).iter_rows(named=True)}
    unexplained = [(kind, source, key, rule) for kind, source, key, _, rule, _ in detected if (source, key) not in truth]
    assert unexplained == []
