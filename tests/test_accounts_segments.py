"""Accounts (B2B): contacts rolled up to their company in marts.account_segments, checked against
the generator's planted multi-contact companies."""


def test_planted_companies_are_rolled_up_with_their_contacts(pipeline_run):
    truth = pipeline_run.truth
    planted = dict(pipeline_run.query(f"""
        select lower(trim(company_name)), count(*) from '{truth}/people.parquet'
        where company_name is not null and silo = 'crm' group by all"""))
    accounts = dict(pipeline_run.query("select account_key, contacts from marts.account_segments"))
    multi = {k for k, n in planted.items() if n >= 2}
    assert len(multi) >= 10
    assert multi <= set(accounts)
    # each person is one resolved customer (duplicate contacts merge), so an account has at most as many
    # contacts as planted people; a few may be lost to quarantined or re-linked contact rows
    matched = sum(accounts[k] == planted[k] for k in multi)
    assert matched >= 0.9 * len(multi), (matched, len(multi))
    assert all(accounts[k] <= planted[k] for k in planted if k in accounts)


def test_account_figures_reconcile_with_customers(pipeline_run):
    contacts, revenue, lifetime = pipeline_run.query(
        "select sum(contacts), sum(revenue_usd), sum(lifetime_revenue_usd) from marts.account_segments")[0]
    expected = pipeline_run.query("""
        select count(*), coalesce(sum(a.revenue), 0), sum(f.monetary_usd)
        from marts.customer_features f
        left join (select customer_key, sum(amount_usd) as revenue from marts.order_attribution group by all) a using (customer_key)
        where nullif(trim(f.company_name), '') is not null""")[0]
    assert contacts == expected[0]
    assert abs(float(revenue) - float(expected[1])) < 0.01 and abs(float(lifetime) - float(expected[2])) < 0.01


def test_every_account_has_a_segment_and_key_accounts_lead_revenue(pipeline_run):
    rows = pipeline_run.query("select account_segment, lifetime_revenue_usd from marts.account_segments")
    segments = {s for s, _ in rows}
    assert None not in segments and {"key_account", "multi_buyer_account"} <= segments
    key_min = min(r for s, r in rows if s == "key_account")
    assert all(r <= key_min for s, r in rows if s != "key_account")
