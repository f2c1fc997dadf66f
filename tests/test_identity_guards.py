"""Identity graph guards on a tiny hand-built warehouse, through a real materialize of the identity
assets: a capped value is refused (and recorded with its reason), placeholders never link, and the
customer key follows the identifier priority order."""
import hashlib

import dagster as dg
import duckdb
import pytest

from pipelines.privacy import pii_hash
from pipelines.resources import PipelineSettings, Warehouse

SETUP = """
create schema if not exists staging; create schema if not exists ref; create schema if not exists quality;
create table ref.blocked_identifiers as select * from (values ('test@test.com'), ('null'), ('')) t(value);
create table staging.crm_contacts as
    select * from (values
        (1, 'shared@corp.com', null), (2, 'shared@corp.com', null), (3, 'shared@corp.com', null),
        (4, 'shared@corp.com', null), (5, 'shared@corp.com', null), (6, 'shared@corp.com', null),
        (7, 'shared@corp.com', null), (10, 'ann@x.com', 'u10'), (11, 'bob@x.com', '000000')
    ) t(contact_id, email, web_user_id);
create table staging.crm_orders as
    select * from (values ('O1', 10, 'ann.checkout@x.com'), ('O2', null, 'ann.checkout@x.com'), ('O3', null, null))
    t(order_id, contact_id, email);
create table staging.survey_responses as select * from (values ('S1', 'ann@x.com'), ('S2', null)) t(response_id, email);
create table staging.email_events as select * from (values ('E1', 'bob@x.com')) t(event_id, email);
create table staging.ab_assignments as select * from (values ('X1', 'ann@x.com')) t(experiment_id, email);
-- the web events' cookies and logins, as the identity graph reads them (their session days)
create table staging.web_session_days as select * from (values
    ('c1', 'u10'), ('c1', null), ('c2', '000000'), ('c3', '000000'), ('c4', null)) t(user_pseudo_id, user_id);
"""


def _key(id_type: str, value: str) -> str:
    return "cus_" + hashlib.md5(f"{id_type}:{value}".encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from assets.identity.customer_identity import identity_graph

    path = tmp_path_factory.mktemp("identity") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(SETUP)
    con.close()
    result = dg.materialize([identity_graph], resources={"warehouse": Warehouse(database=str(path)),
                                                         "settings": PipelineSettings(output_dir=str(path.parent))})
    assert result.success
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _customer(con, source, record_key):
    return con.execute("select customer_key from marts.customer_identity where source = $s and record_key = $k",
                       {"s": source, "k": record_key}).fetchall()[0][0]


def test_value_over_the_cap_is_refused_with_reason_and_merges_nobody(tiny):
    refusal = tiny.execute(
        "select linked_type, linked_values, rule, reason from quality.identity_refusals where id_value = 'shared@corp.com'"
    ).fetchall()
    assert refusal == [("crm_contact", 7, "cap", "linked to 7 distinct crm_contact values (cap 5)")]
    keys = {_customer(tiny, "crm_contacts", str(i)) for i in range(1, 8)}
    assert keys == {_key("crm_contact", str(i)) for i in range(1, 8)}


def test_placeholders_never_link_and_are_recorded(tiny):
    # two cookies logged in with an all-zero user id stay two anonymous visitors
    assert _customer(tiny, "web_events", "c2") != _customer(tiny, "web_events", "c3")
    # contact 11's all-zero website login does not pull those cookies into the contact
    assert _customer(tiny, "crm_contacts", "11") not in {_customer(tiny, "web_events", "c2"), _customer(tiny, "web_events", "c3")}
    refused = tiny.execute("select id_type, linked_values, rule from quality.identity_refusals where id_value = '000000'").fetchall()
    assert refused == [("web_user", 3, "placeholder")]
    assert tiny.execute("select count(*) from staging.identity_links where id_value = '000000'").fetchall()[0][0] == 0


def test_priority_order_sets_the_customer_key(tiny):
    ann = _key("crm_contact", "10")
    # contact, its order (by contact id), the guest order (by checkout email), survey, assignment, logged-in cookie
    for source, record in [("crm_contacts", "10"), ("crm_orders", "O1"), ("crm_orders", "O2"),
                           ("survey_responses", "S1"), ("ab_assignments", "X1|" + pii_hash("ann@x.com")), ("web_events", "c1")]:
        assert _customer(tiny, source, record) == ann, (source, record)
    # bob's email event resolves to his contact; an order without identifiers is a customer of its own
    assert _customer(tiny, "email_events", pii_hash("bob@x.com")) == _key("crm_contact", "11")
    assert _customer(tiny, "crm_orders", "O3") not in {ann, _key("crm_contact", "11")}
