-- marts.customer_trends: one row per resolved customer seen before the cutoff date: activity levels
-- and trends as of $cutoff, computed ONLY from records dated before $cutoff (so the same model, run
-- with an earlier cutoff, gives leak-free training features for the propensity model).
-- Windows: recent_30 = [cutoff - 30, cutoff), recent_90 = [cutoff - 90, cutoff), baseline =
-- [cutoff - 365, cutoff - 90) clipped to the customer's history (first record). Baseline figures are
-- rates per 30 days; trends compare the last 90 days with the customer's own baseline.
--   engagement events   completed orders + web sessions + email opens + email clicks
--   engagements_expected_90d  engagement events the customer's baseline rate predicts for the last
--                          90 days (NULL with fewer than 30 baseline days)
--   engagement_drop_share  1 - (engagements_90d + k) / (engagements_expected_90d + k), k =
--                          $drop_prior_events: the share by which engagement fell, shrunk towards 0
--                          when counts are small (0 of 1 expected is weak evidence, 0 of 10 strong)
--   usual_gap_days      mean days between distinct engagement days before the cutoff
--   days_to_last_order  days from the first record to the last completed order (BG/NBD recency when
--                          the customer's clock starts at acquisition; tenure_days is then T)
-- Inputs: marts.customer_identity, staging.crm_contacts, staging.crm_orders, staging.web_session_days,
-- staging.email_events, staging.survey_responses (a survey answer starts the history too). Parameters: $cutoff (date), $drop_prior_events.

with identity as (
    select source, record_key, customer_key from marts.customer_identity where not is_anonymous
),

-- every dated record of the customer before the cutoff: the customer's history starts at the first
contacts as (
    select identity.customer_key, c.created_at as happened_at
    from identity
    join staging.crm_contacts c on identity.source = 'crm_contacts' and identity.record_key = c.contact_id::varchar
    where c.created_at < $cutoff::date
),

-- static profile of the customer's earliest contact record (not time-varying: no leak from the label window)
profile as (
    select
        identity.customer_key,
        arg_min(c.annual_income, c.created_at)                                          as annual_income,
        arg_min(date_diff('day', c.birth_date, $cutoff::date) / 365.25, c.created_at)   as age_years
    from identity
    join staging.crm_contacts c on identity.source = 'crm_contacts' and identity.record_key = c.contact_id::varchar
    where c.created_at < $cutoff::date
    group by identity.customer_key
),

surveys as (
    select identity.customer_key, s.submitted_at as happened_at
    from identity
    join staging.survey_responses s on identity.source = 'survey_responses' and identity.record_key = s.response_id::varchar
    where s.submitted_at < $cutoff::date
),

orders as (
    select identity.customer_key, o.ordered_at as happened_at, o.amount_usd
    from identity
    join staging.crm_orders o on identity.source = 'crm_orders' and identity.record_key = o.order_id
    where o.status = 'completed' and o.ordered_at < $cutoff::date
),

-- web sessions (per cookie and GA4 session id) before the cutoff, from their days (events before
-- midnight of the cutoff = days before it), aggregated before the join to customers: the join then
-- touches one row per session, not per event
cookie_sessions as (
    select
        user_pseudo_id,
        min(first_event_at)                                    as happened_at,
        bool_or(add_to_carts > 0)                              as has_cart,
        bool_or(purchases > 0)                                 as has_purchase,
        sum(product_views)                                     as product_views
    from staging.web_session_days
    where event_day < $cutoff::date
    group by user_pseudo_id, ga_session_id
),

sessions as (
    select identity.customer_key, s.happened_at, s.has_cart, s.has_purchase, s.product_views
    from identity
    join cookie_sessions s on identity.source = 'web_events' and identity.record_key = s.user_pseudo_id
),

emails as (
    select identity.customer_key, e.occurred_at as happened_at, e.event_type
    from identity
    join staging.email_events e on identity.source = 'email_events' and identity.record_key = e.recipient_key
    where e.occurred_at < $cutoff::date
),

engagements as (
    select customer_key, happened_at from orders
    union all select customer_key, happened_at from sessions
    union all select customer_key, happened_at from emails where event_type in ('open', 'click')
),

history as (
    select customer_key, min(happened_at) as first_seen_at
    from (select customer_key, happened_at from contacts union all select customer_key, happened_at from engagements
          union all select customer_key, happened_at from emails union all select customer_key, happened_at from surveys)
    group by customer_key
),

windows as (
    select
        customer_key,
        first_seen_at,
        date_diff('day', first_seen_at, $cutoff::date)                                           as tenure_days,
        -- days of baseline actually observed: [max(first seen, cutoff - 365), cutoff - 90)
        greatest(0, date_diff('day', greatest(first_seen_at, $cutoff::date - interval 365 day),
                              $cutoff::date - interval 90 day))                                  as baseline_days
    from history
),

order_stats as (
    select
        customer_key,
        count(distinct happened_at::date)                                                                 as order_days,
        count(*) filter (where happened_at >= $cutoff::date - interval 30 day)                            as orders_30d,
        count(*) filter (where happened_at >= $cutoff::date - interval 90 day)                            as orders_90d,
        count(*) filter (where happened_at >= $cutoff::date - interval 365 day and happened_at < $cutoff::date - interval 90 day) as orders_baseline,
        sum(amount_usd)                                                                          as monetary_usd,
        avg(amount_usd)                                                                          as avg_order_value_usd,
        min(happened_at)                                                                                  as first_order_at,
        max(happened_at)                                                                                  as last_order_at
    from orders
    group by customer_key
),

session_stats as (
    select
        customer_key,
        count(*) filter (where happened_at >= $cutoff::date - interval 30 day)                            as sessions_30d,
        count(*) filter (where happened_at >= $cutoff::date - interval 90 day)                            as sessions_90d,
        count(*) filter (where happened_at >= $cutoff::date - interval 365 day and happened_at < $cutoff::date - interval 90 day) as sessions_baseline,
        count(*) filter (where has_cart and happened_at >= $cutoff::date - interval 30 day)               as cart_sessions_30d,
        count(*) filter (where has_cart and not has_purchase and happened_at >= $cutoff::date - interval 90 day) as abandoned_cart_sessions_90d,
        sum(product_views) filter (where happened_at >= $cutoff::date - interval 30 day)                  as product_views_30d,
        max(happened_at)                                                                                  as last_visit_at
    from sessions
    group by customer_key
),

email_stats as (
    select
        customer_key,
        count(*) filter (where event_type = 'send' and happened_at >= $cutoff::date - interval 90 day)   as email_sends_90d,
        count(*) filter (where event_type = 'open' and happened_at >= $cutoff::date - interval 90 day)   as email_opens_90d,
        count(*) filter (where event_type = 'click' and happened_at >= $cutoff::date - interval 90 day)  as email_clicks_90d,
        count(*) filter (where event_type = 'send' and happened_at < $cutoff::date - interval 90 day)    as email_sends_baseline,
        count(*) filter (where event_type = 'open' and happened_at < $cutoff::date - interval 90 day)    as email_opens_baseline,
        bool_or(event_type = 'unsubscribe')                                                      as email_unsubscribed,
        max(happened_at) filter (where event_type in ('open', 'click'))                                   as last_email_engagement_at
    from emails
    group by customer_key
),

engagement_stats as (
    select
        customer_key,
        count(*) filter (where happened_at >= $cutoff::date - interval 90 day)                            as engagements_90d,
        count(*) filter (where happened_at >= $cutoff::date - interval 365 day and happened_at < $cutoff::date - interval 90 day) as engagements_baseline,
        count(distinct happened_at::date)                                                                 as engagement_days,
        min(happened_at)                                                                                  as first_engagement_at,
        max(happened_at)                                                                                  as last_engagement_at
    from engagements
    group by customer_key
),

joined as (
    select
        windows.*,
        coalesce(o.order_days, 0) as order_days, coalesce(o.orders_30d, 0) as orders_30d,
        coalesce(o.orders_90d, 0) as orders_90d, coalesce(o.orders_baseline, 0) as orders_baseline,
        coalesce(o.monetary_usd, 0) as monetary_usd, o.avg_order_value_usd, o.first_order_at, o.last_order_at,
        coalesce(s.sessions_30d, 0) as sessions_30d, coalesce(s.sessions_90d, 0) as sessions_90d,
        coalesce(s.sessions_baseline, 0) as sessions_baseline, coalesce(s.cart_sessions_30d, 0) as cart_sessions_30d,
        coalesce(s.abandoned_cart_sessions_90d, 0) as abandoned_cart_sessions_90d,
        coalesce(s.product_views_30d, 0) as product_views_30d, s.last_visit_at,
        coalesce(m.email_sends_90d, 0) as email_sends_90d, coalesce(m.email_opens_90d, 0) as email_opens_90d,
        coalesce(m.email_clicks_90d, 0) as email_clicks_90d, coalesce(m.email_sends_baseline, 0) as email_sends_baseline,
        coalesce(m.email_opens_baseline, 0) as email_opens_baseline, coalesce(m.email_unsubscribed, false) as email_unsubscribed,
        coalesce(g.engagements_90d, 0) as engagements_90d, coalesce(g.engagements_baseline, 0) as engagements_baseline,
        coalesce(g.engagement_days, 0) as engagement_days, g.first_engagement_at, g.last_engagement_at,
        p.annual_income, p.age_years
    from windows
    left join profile p using (customer_key)
    left join order_stats o using (customer_key)
    left join session_stats s using (customer_key)
    left join email_stats m using (customer_key)
    left join engagement_stats g using (customer_key)
)

select
    customer_key,
    $cutoff::date                                                                               as cutoff_date,
    -- profile (earliest contact record)
    annual_income::double                                                                       as annual_income,
    age_years::double                                                                           as age_years,
    -- history
    tenure_days,
    baseline_days,
    -- purchases (completed orders)
    order_days,
    orders_30d,
    orders_90d,
    case when baseline_days >= 30 then orders_baseline * 30.0 / baseline_days end               as orders_baseline_per_30d,
    case when baseline_days >= 30 and orders_baseline > 0
         then (orders_90d / 3.0) / (orders_baseline * 30.0 / baseline_days) end                 as order_rate_ratio_90d,
    monetary_usd::double                                                                        as monetary_usd,
    avg_order_value_usd::double                                                                 as avg_order_value_usd,
    date_diff('day', last_order_at, $cutoff::date)                                              as days_since_last_order,
    date_diff('day', first_seen_at, last_order_at)                                              as days_to_last_order,
    case when order_days >= 2
         then date_diff('day', first_order_at, last_order_at) / (order_days - 1.0) end          as usual_order_gap_days,
    case when order_days > 0 then order_days * 365.0 / greatest(date_diff('day', first_order_at, $cutoff::date), 30) end
                                                                                                as orders_per_year,
    -- web
    sessions_30d,
    sessions_90d,
    case when baseline_days >= 30 then sessions_baseline * 30.0 / baseline_days end             as sessions_baseline_per_30d,
    case when baseline_days >= 30 and sessions_baseline > 0
         then (sessions_90d / 3.0) / (sessions_baseline * 30.0 / baseline_days) end             as session_rate_ratio_90d,
    cart_sessions_30d,
    abandoned_cart_sessions_90d,
    product_views_30d,
    date_diff('day', last_visit_at, $cutoff::date)                                              as days_since_last_visit,
    -- email
    email_sends_90d,
    email_opens_90d,
    email_clicks_90d,
    case when email_sends_90d > 0 then least(email_opens_90d, email_sends_90d) / email_sends_90d end as email_open_rate_90d,
    case when email_sends_baseline > 0 then least(email_opens_baseline, email_sends_baseline) / email_sends_baseline end
                                                                                                as email_open_rate_baseline,
    case when email_sends_90d > 0 and email_sends_baseline > 0
         then least(email_opens_90d, email_sends_90d) / email_sends_90d
            - least(email_opens_baseline, email_sends_baseline) / email_sends_baseline end      as email_open_rate_change,
    email_unsubscribed,
    -- engagement overall
    engagements_90d,
    case when baseline_days >= 30 then engagements_baseline * 30.0 / baseline_days end          as engagements_baseline_per_30d,
    date_diff('day', last_engagement_at, $cutoff::date)                                         as days_since_last_engagement,
    case when engagement_days >= 2
         then date_diff('day', first_engagement_at, last_engagement_at) / (engagement_days - 1.0) end as usual_gap_days,
    case when engagement_days >= 2
         then date_diff('day', last_engagement_at, $cutoff::date)
              / greatest(date_diff('day', first_engagement_at, last_engagement_at) / (engagement_days - 1.0), 1.0) end
                                                                                                as gap_ratio,
    case when baseline_days >= 30 then engagements_baseline * 90.0 / baseline_days end          as engagements_expected_90d,
    case when baseline_days >= 30
         then 1 - (engagements_90d + $drop_prior_events::double)
                  / (engagements_baseline * 90.0 / baseline_days + $drop_prior_events::double) end as engagement_drop_share
from joined
order by customer_key
