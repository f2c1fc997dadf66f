"""staging.web_session_days, the web events aggregated once per session, day, login and country,
replaces the events as the input of identity, features, trends and the silo report. Its figures must
be those of the events: every test here recomputes a published figure from staging.web_events
directly (the event-level definition) and compares it with what the pipeline built from the
aggregate."""
import pytest

from tests.conftest import AS_OF


def test_every_staged_event_is_counted_once_per_day(pipeline_run):
    differing = pipeline_run.query("""
        with staged as (select _partition_date, count(*) as events from staging.web_events group by all),
             counted as (select _partition_date, sum(events) as events from staging.web_session_days group by all)
        select count(*) from staged full join counted using (_partition_date)
        where staged.events is distinct from counted.events""")
    assert differing == [(0,)]
    evaluations = {(e.asset_key.path[1], e.check_name): e.passed for e in pipeline_run.result.get_asset_check_evaluations()}
    assert evaluations[("web_session_days", "events_conserved")]


def test_grain_is_unique(pipeline_run):
    assert pipeline_run.query("""
        select count(*) from (
            select _partition_date, user_pseudo_id, ga_session_id, event_day, user_id, geo_country_code
            from staging.web_session_days group by all having count(*) > 1)""") == [(0,)]


def test_web_features_equal_their_event_level_definition(pipeline_run):
    """Sessions and counts in 30/90-day windows, last visit, category shares and browsing country,
    from the events, per customer."""
    mismatches = pipeline_run.query("""
        with identity as (select * from marts.customer_identity where source = 'web_events' and not is_anonymous),
        events as (
            select identity.customer_key, w.*,
                   case when event_name = 'page_view'
                        then nullif(regexp_extract(page_location, '^https?://[^/]+/(outdoor|tech|fashion|home|wellness)(/|$)', 1), '')
                   end as category
            from staging.web_events w join identity on identity.record_key = w.user_pseudo_id
            where w.event_at < $as_of::date + interval 1 day
        ),
        per_customer as (
            select
                customer_key,
                count(distinct (user_pseudo_id, ga_session_id)) filter (where event_at >= $as_of::date - interval 30 day) as sessions_30d,
                count(distinct (user_pseudo_id, ga_session_id)) filter (where event_at >= $as_of::date - interval 90 day) as sessions_90d,
                count(distinct (user_pseudo_id, ga_session_id)) as sessions_total,
                count(*) filter (where event_name = 'page_view' and event_at >= $as_of::date - interval 30 day) as page_views_30d,
                count(*) filter (where event_name = 'view_item' and event_at >= $as_of::date - interval 90 day) as product_views_90d,
                count(*) filter (where event_name = 'add_to_cart' and event_at >= $as_of::date - interval 90 day) as add_to_carts_90d,
                date_diff('day', max(event_at), $as_of::date) as days_since_last_visit,
                count(*) filter (where category = 'tech') / nullif(count(category), 0) as tech_view_share
            from events group by customer_key
        ),
        countries as (
            select customer_key, geo_country_code, count(*) as n from events where geo_country_code is not null group by all
        ),
        web_country as (
            select customer_key, min_by(geo_country_code, (-n, geo_country_code)) as web_country_code from countries group by all
        )
        select count(*) filter (where f.customer_key is null),
               count(*) filter (where f.sessions_30d != e.sessions_30d or f.sessions_90d != e.sessions_90d
                                   or f.sessions_total != e.sessions_total),
               count(*) filter (where f.page_views_30d != e.page_views_30d or f.product_views_90d != e.product_views_90d
                                   or f.add_to_carts_90d != e.add_to_carts_90d),
               count(*) filter (where f.days_since_last_visit != e.days_since_last_visit),
               count(*) filter (where f.tech_view_share is distinct from e.tech_view_share),
               count(*) filter (where c.web_country_code is not null and f.country_code is null),
               count(*)
        from per_customer e
        left join marts.customer_features f using (customer_key)
        left join web_country c using (customer_key)
    """, {"as_of": AS_OF})
    missing, sessions, counts, last_visit, shares, country, customers = mismatches[0]
    assert customers > 500
    assert (missing, sessions, counts, last_visit, shares, country) == (0, 0, 0, 0, 0, 0)
    # the browsing country is used where the CRM has none: it must be the events' most frequent one
    assert pipeline_run.query("""
        with identity as (select * from marts.customer_identity where source = 'web_events'),
        countries as (
            select identity.customer_key, w.geo_country_code, count(*) as n
            from staging.web_events w join identity on identity.record_key = w.user_pseudo_id
            where w.geo_country_code is not null and w.event_at < $as_of::date + interval 1 day group by all
        ),
        expected as (select customer_key, min_by(geo_country_code, (-n, geo_country_code)) as code from countries group by all)
        select count(*) from marts.customer_features f join expected using (customer_key)
        where not f.has_crm and f.country_code is distinct from expected.code""", {"as_of": AS_OF}) == [(0,)]


@pytest.mark.parametrize("cutoff_days_before", [0, 90])
def test_trend_sessions_equal_their_event_level_definition(pipeline_run, cutoff_days_before):
    """Sessions before a cutoff (the run date and the propensity training cutoff) start when their first
    event happened; carts and abandoned carts per session come from the session's events."""
    import datetime as dt

    from assets.sql_model import model_params
    from pipelines.resources import read_sql

    cutoff = AS_OF - dt.timedelta(days=cutoff_days_before)
    trends = read_sql("predict/customer_trends.sql")
    con = pipeline_run.connect()
    try:
        con.execute(f"create temp table trends as {trends}", model_params(trends, {"cutoff": cutoff, "drop_prior_events": 3}))
        mismatches = con.execute("""
            with identity as (select * from marts.customer_identity where source = 'web_events' and not is_anonymous),
            sessions as (
                select identity.customer_key, min(w.event_at) as started_at,
                       bool_or(w.event_name = 'add_to_cart') as has_cart, bool_or(w.event_name = 'purchase') as has_purchase
                from staging.web_events w join identity on identity.record_key = w.user_pseudo_id
                where w.event_at < $cutoff::date
                group by identity.customer_key, w.user_pseudo_id, w.ga_session_id
            ),
            expected as (
                select customer_key,
                       count(*) filter (where started_at >= $cutoff::date - interval 90 day) as sessions_90d,
                       count(*) filter (where has_cart and not has_purchase
                                        and started_at >= $cutoff::date - interval 90 day) as abandoned_cart_sessions_90d
                from sessions group by customer_key
            )
            select count(*), count(*) filter (where t.sessions_90d is distinct from e.sessions_90d
                                              or t.abandoned_cart_sessions_90d is distinct from e.abandoned_cart_sessions_90d)
            from expected e join trends t using (customer_key)
        """, {"cutoff": cutoff}).fetchall()[0]
    finally:
        con.close()
    assert mismatches[0] > 500 and mismatches[1] == 0
