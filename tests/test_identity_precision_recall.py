"""Identity links against the generator's truth.

Definition (pairwise, over records): take every staged source record that the truth maps to a person
(crm_contacts by Record ID, crm_orders by Order ID, survey_responses by Response ID, ab_assignments by
experiment|email as written, email_events via staging.email_events event_id -> recipient email, which is the
identity record of an email event, web_events by user_pseudo_id). A pair of records is *predicted* linked
when marts.customer_identity gives both the same customer_key, and *truly* linked when the truth gives both
the same person_id.
    precision = |predicted pairs ∩ true pairs| / |predicted pairs|
    recall    = |predicted pairs ∩ true pairs| / |true pairs|
Pairs are counted with n(n-1)/2 per group, so no pair list is materialized. Both must be >= 0.99.

Scope: a web cookie that never carries a login (GA4 user_id) has no deterministic identifier: by design
(cookies link to a user only through login events) it stays an anonymous visitor, so it is left out of the
measured records. The figure over all records, anonymous cookies included, is printed for the record
(on the test dataset: precision 1.0, recall about 0.91, all of the gap being never-logged-in cookies).
"""
import pytest

RECORDS_SQL = """
with truth as (select * from read_parquet($truth)),
mapped as (
    select t.source, t.record_key, t.person_id from truth t
    where t.source in ('crm_contacts', 'crm_orders', 'survey_responses')
    union all
    select 'ab_assignments', a.assignment_key, t.person_id
    from truth t join staging.ab_assignments a on a._record_key = t.record_key
    where t.source = 'ab_assignments'
    union all
    select distinct 'email_events', e.recipient_key, t.person_id
    from truth t join staging.email_events e on e.event_id = t.record_key
    where t.source = 'email_events'
    union all
    select 'web_events', t.record_key, t.person_id from truth t where t.source = 'web_user_pseudo_id'
)
select m.source, m.record_key, m.person_id, i.customer_key
from mapped m join marts.customer_identity i using (source, record_key)
where $all_cookies or m.source != 'web_events'
   or m.record_key in (select user_pseudo_id from staging.web_events where user_id is not null)
"""

PAIRS_SQL = f"""
with records as ({RECORDS_SQL}),
pairs(g, n) as (
    select 'predicted', count(*) from records group by customer_key
    union all select 'true', count(*) from records group by person_id
    union all select 'both', count(*) from records group by customer_key, person_id
)
select g, sum(n * (n - 1) / 2)::bigint from pairs group by g
"""


def _pair_counts(pipeline_run, all_cookies: bool):
    params = {"truth": str(pipeline_run.truth / "identifiers.parquet"), "all_cookies": all_cookies}
    counts = dict(pipeline_run.query(PAIRS_SQL, params))
    records = pipeline_run.query(f"select count(*), count(distinct person_id) from ({RECORDS_SQL})", params)[0]
    return counts, records


def test_identity_precision_and_recall(pipeline_run):
    everything, _ = _pair_counts(pipeline_run, True)
    print(f"identity over all records incl. never-logged-in cookies: precision "
          f"{everything['both'] / everything['predicted']:.5f}, recall {everything['both'] / everything['true']:.5f}")
    counts, (records, people) = _pair_counts(pipeline_run, False)
    precision = counts["both"] / counts["predicted"]
    recall = counts["both"] / counts["true"]
    print(f"identity over {records} records of {people} people: precision {precision:.5f}, recall {recall:.5f}, "
          f"pairs predicted {counts['predicted']}, true {counts['true']}, both {counts['both']}")
    assert records > 10_000 and counts["true"] > 0
    assert precision >= 0.99
    assert recall >= 0.99


def test_duplicate_contacts_resolve_to_one_customer(pipeline_run):
    """Each planted duplicate CRM contact ends up with the same customer as the contact it duplicates."""
    rows = pipeline_run.query(
        """
        select count(*), count(*) filter (where a.customer_key = b.customer_key)
        from read_parquet($defects) d
        join marts.customer_identity a on a.source = 'crm_contacts' and a.record_key = d.record_key
        join marts.customer_identity b on b.source = 'crm_contacts' and b.record_key = d.original_value
        where d.defect_class = 'duplicate_contact'
        """,
        {"defects": str(pipeline_run.truth / "defects.parquet")},
    )[0]
    assert rows[0] > 0 and rows[0] == rows[1]
