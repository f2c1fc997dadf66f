-- marts.customer_features: one row per resolved (non-anonymous) customer: demographics, geography,
-- RFM, web behaviour, email engagement and survey psychographics as of the run date.
-- A source the customer is absent from gives NULL features and a has_* flag of false, never zeros.
-- Only events up to the end of the run date count, so a rerun for an earlier date sees that date's data.
-- Inputs: marts.customers, marts.customer_identity, staging.crm_contacts, crm_orders, web_session_days,
-- email_events, survey_responses, marts.customer_clv, ref.regions. Parameters: $as_of, $age_bands, $income_bands,
-- $default_region. Money in USD; durations in days.

with customers as (
    select * from marts.customers
),

identity as (
    select * from marts.customer_identity where not is_anonymous
),

-- CRM: the most recently created contact record of the customer describes them
contact as (
    select
        identity.customer_key,
        arg_max(c.birth_date, c.created_at)         as birth_date,
        arg_max(c.gender, c.created_at)             as gender,
        arg_max(c.annual_income, c.created_at)      as annual_income,
        arg_max(c.country_code, c.created_at)       as country_code,
        arg_max(c.city, c.created_at)               as city,
        arg_max(c.company_name, c.created_at)       as company_name,
        bool_or(c.marketing_opt_in)                 as marketing_opt_in,
        min(c.created_at)                           as first_created_at
    from identity
    join staging.crm_contacts c on identity.source = 'crm_contacts' and identity.record_key = c.contact_id::varchar
    group by identity.customer_key
),

-- orders: completed orders only count as purchases
orders as (
    select
        identity.customer_key,
        count(*)                                    as frequency,
        sum(o.amount_usd)                           as monetary_usd,
        min(o.ordered_at)                           as first_order_at,
        max(o.ordered_at)                           as last_order_at
    from identity
    join staging.crm_orders o on identity.source = 'crm_orders' and identity.record_key = o.order_id
    where o.status = 'completed' and o.ordered_at < $as_of::date + interval 1 day
    group by identity.customer_key
),

-- web: the customer's GA4 sessions up to the run date, from their session days (events up to the end
-- of the run date = days up to it). What needs a session as a whole (is it in a window, did it add to
-- cart, its device and channel) is aggregated per session; event counts are summed per cookie. Both
-- are aggregated before the join to customers, and a cookie belongs to one customer, so sessions stay
-- distinct per customer.
cookie_sessions as (
    select
        user_pseudo_id,
        ga_session_id,
        -- GA4 sets device and traffic source per cookie and session: constant within a session (the
        -- smallest value keeps a rare exception deterministic)
        min(device_category)                                                                 as device_category,
        min(traffic_medium)                                                                  as traffic_medium,
        max(event_day)                                                                       as last_day,
        bool_or(add_to_carts > 0 and event_day >= $as_of::date - interval 90 day)            as cart_90d,
        bool_or(purchases > 0 and event_day >= $as_of::date - interval 90 day)               as purchase_90d
    from staging.web_session_days
    where event_day <= $as_of::date
    group by user_pseudo_id, ga_session_id
),

cookie_counts as (
    select
        user_pseudo_id,
        sum(page_views) filter (where event_day >= $as_of::date - interval 30 day)           as page_views_30d,
        sum(page_views) filter (where event_day >= $as_of::date - interval 90 day)           as page_views_90d,
        sum(product_views) filter (where event_day >= $as_of::date - interval 90 day)        as product_views_90d,
        sum(add_to_carts) filter (where event_day >= $as_of::date - interval 90 day)         as add_to_carts_90d,
        max(last_event_at)                                                                   as last_event_at,
        -- page views per site category (the path's first segment: /outdoor/..., /tech/..., ...)
        sum(outdoor_views)                                                                   as outdoor_views,
        sum(tech_views)                                                                      as tech_views,
        sum(fashion_views)                                                                   as fashion_views,
        sum(home_views)                                                                      as home_views,
        sum(wellness_views)                                                                  as wellness_views,
        sum(outdoor_views + tech_views + fashion_views + home_views + wellness_views)        as category_views
    from staging.web_session_days
    where event_day <= $as_of::date
    group by user_pseudo_id
),

web_sessions as (
    select identity.customer_key, s.*
    from identity
    join cookie_sessions s on identity.source = 'web_events' and identity.record_key = s.user_pseudo_id
),

-- device and channel mix: shares of the customer's sessions (all history up to the run date)
web_mix as (
    select
        customer_key,
        count(*)                                                           as sessions_total,
        avg((device_category = 'desktop')::int)                            as desktop_session_share,
        avg((device_category = 'mobile')::int)                             as mobile_session_share,
        avg((device_category = 'tablet')::int)                             as tablet_session_share,
        most_frequent(device_category)                                     as main_device,
        avg((traffic_medium = '(none)')::int)                              as direct_session_share,
        avg((traffic_medium = 'organic')::int)                             as organic_search_session_share,
        avg((traffic_medium = 'cpc')::int)                                 as paid_search_session_share,
        avg((traffic_medium = 'paid_social')::int)                         as paid_social_session_share,
        avg((traffic_medium = 'display')::int)                             as display_session_share,
        avg((traffic_medium = 'email')::int)                               as email_session_share,
        avg((traffic_medium not in ('(none)', 'organic', 'cpc', 'paid_social', 'display', 'email')
             or traffic_medium is null)::int)                              as other_channel_session_share,
        most_frequent(traffic_medium)                                      as main_traffic_medium
    from web_sessions
    group by customer_key
),

-- event counts of all the customer's cookies, and interests from browsing: shares of the customer's
-- page views in a site category (outdoor, tech, fashion, home, wellness); NULL without such page views
web_counts as (
    select
        identity.customer_key,
        coalesce(sum(c.page_views_30d), 0)                                 as page_views_30d,
        coalesce(sum(c.page_views_90d), 0)                                 as page_views_90d,
        coalesce(sum(c.product_views_90d), 0)                              as product_views_90d,
        coalesce(sum(c.add_to_carts_90d), 0)                               as add_to_carts_90d,
        max(c.last_event_at)                                               as last_visit_at,
        sum(c.outdoor_views) / nullif(sum(c.category_views), 0)            as outdoor_view_share,
        sum(c.tech_views) / nullif(sum(c.category_views), 0)               as tech_view_share,
        sum(c.fashion_views) / nullif(sum(c.category_views), 0)            as fashion_view_share,
        sum(c.home_views) / nullif(sum(c.category_views), 0)               as home_view_share,
        sum(c.wellness_views) / nullif(sum(c.category_views), 0)           as wellness_view_share
    from identity
    join cookie_counts c on identity.source = 'web_events' and identity.record_key = c.user_pseudo_id
    group by identity.customer_key
),

-- the country the customer browses from most (events per country; ties: the smallest code)
web_countries as (
    select identity.customer_key, c.geo_country_code, sum(c.events) as events
    from identity
    join (
        select user_pseudo_id, geo_country_code, sum(events) as events
        from staging.web_session_days
        where event_day <= $as_of::date and geo_country_code is not null
        group by all
    ) c on identity.source = 'web_events' and identity.record_key = c.user_pseudo_id
    group by all
),

web_country as (
    select customer_key, min_by(geo_country_code, (-events, geo_country_code)) as web_country_code
    from web_countries
    group by customer_key
),

web as (
    select
        sessions.customer_key,
        sessions.sessions_30d,
        sessions.sessions_90d,
        web_counts.page_views_30d,
        web_counts.page_views_90d,
        web_counts.product_views_90d,
        web_counts.add_to_carts_90d,
        sessions.cart_sessions_90d,
        sessions.purchase_sessions_90d,
        web_counts.last_visit_at,
        web_country.web_country_code
    from (
        select
            customer_key,
            count(*) filter (where last_day >= $as_of::date - interval 30 day)   as sessions_30d,
            count(*) filter (where last_day >= $as_of::date - interval 90 day)   as sessions_90d,
            count(*) filter (where cart_90d)                                    as cart_sessions_90d,
            count(*) filter (where purchase_90d)                                as purchase_sessions_90d
        from web_sessions
        group by customer_key
    ) sessions
    join web_counts using (customer_key)
    left join web_country using (customer_key)
),

-- email: sends, opens and clicks of all the customer's addresses
email as (
    select
        identity.customer_key,
        count(*) filter (where e.event_type = 'send')         as emails_sent,
        count(*) filter (where e.event_type = 'open')         as email_opens,
        count(*) filter (where e.event_type = 'click')        as email_clicks,
        bool_or(e.event_type = 'unsubscribe')                 as unsubscribed
    from identity
    join staging.email_events e on identity.source = 'email_events' and identity.record_key = e.recipient_key
    where e.occurred_at < $as_of::date + interval 1 day
    group by identity.customer_key
),

-- survey: the latest response describes the customer
survey as (
    select
        identity.customer_key,
        arg_max(s.value_sustainability, s.submitted_at)       as value_sustainability,
        arg_max(s.value_price, s.submitted_at)                as value_price,
        arg_max(s.value_prestige, s.submitted_at)             as value_prestige,
        arg_max(s.interest_novelty, s.submitted_at)           as interest_novelty,
        arg_max(s.lifestyle_active, s.submitted_at)           as lifestyle_active,
        arg_max(s.lifestyle_digital, s.submitted_at)          as lifestyle_digital,
        arg_max(s.main_interest, s.submitted_at)              as main_interest,
        arg_max(s.nps_score, s.submitted_at)                  as nps_score
    from identity
    join staging.survey_responses s on identity.source = 'survey_responses' and identity.record_key = s.response_id
    where s.submitted_at < $as_of::date + interval 1 day
    group by identity.customer_key
),

-- CLV and churn risk from the BG/NBD + Gamma-Gamma models (buyers only)
clv as (
    select * from marts.customer_clv
)

select
    customers.customer_key,
    -- sources present
    contact.customer_key is not null                                          as has_crm,
    orders.customer_key is not null                                           as has_orders,
    web.customer_key is not null                                              as has_web,
    email.customer_key is not null                                            as has_email,
    survey.customer_key is not null                                           as has_survey,
    -- demographics
    date_diff('year', contact.birth_date, $as_of::date)                       as age_years,
    band(date_diff('year', contact.birth_date, $as_of::date), $age_bands)     as age_band,
    contact.gender,
    contact.annual_income                                                     as annual_income_usd,
    band(contact.annual_income, $income_bands)                                as income_band,
    contact.company_name,
    -- geography: the CRM address, else the country the customer browses from
    coalesce(contact.country_code, web.web_country_code)                      as country_code,
    case when coalesce(contact.country_code, web.web_country_code) is not null
         then coalesce(regions.region, $default_region) end                  as region,
    contact.city,
    -- RFM (completed orders, USD)
    date_diff('day', orders.last_order_at, $as_of::date)                      as recency_days,
    coalesce(orders.frequency, 0)                                             as frequency,
    coalesce(orders.monetary_usd, 0)::decimal(18, 2)                          as monetary_usd,
    round(orders.monetary_usd / orders.frequency, 2)                          as avg_order_value_usd,
    orders.first_order_at,
    orders.last_order_at,
    date_diff('day', least(contact.first_created_at, orders.first_order_at), $as_of::date) as tenure_days,
    -- lifetime value and churn risk (NULL for customers without a completed order)
    clv.customer_key is not null                                              as has_clv,
    clv.p_alive,
    clv.churn_risk,
    clv.expected_purchases,
    clv.expected_avg_order_value_usd,
    clv.predicted_clv_usd,
    -- web behaviour (NULL when the customer was never seen on the web)
    web.sessions_30d,
    web.sessions_90d,
    web.page_views_30d,
    web.page_views_90d,
    web.product_views_90d,
    web.add_to_carts_90d,
    case when web.cart_sessions_90d > 0
         then 1 - least(web.purchase_sessions_90d, web.cart_sessions_90d) / web.cart_sessions_90d end as cart_abandonment_rate,
    date_diff('day', web.last_visit_at, $as_of::date)                         as days_since_last_visit,
    -- device and channel mix (shares of all the customer's sessions; NULL when never seen on the web)
    web_mix.sessions_total,
    web_mix.desktop_session_share,
    web_mix.mobile_session_share,
    web_mix.tablet_session_share,
    web_mix.main_device,
    web_mix.direct_session_share,
    web_mix.organic_search_session_share,
    web_mix.paid_search_session_share,
    web_mix.paid_social_session_share,
    web_mix.display_session_share,
    web_mix.email_session_share,
    web_mix.other_channel_session_share,
    web_mix.main_traffic_medium,
    -- interests from browsing (shares of page views per site category; NULL without page views)
    web_counts.outdoor_view_share,
    web_counts.tech_view_share,
    web_counts.fashion_view_share,
    web_counts.home_view_share,
    web_counts.wellness_view_share,
    -- email engagement (NULL when never emailed)
    email.emails_sent,
    email.email_opens,
    email.email_clicks,
    case when email.emails_sent > 0 then least(email.email_opens, email.emails_sent) / email.emails_sent end  as email_open_rate,
    case when email.emails_sent > 0 then least(email.email_clicks, email.emails_sent) / email.emails_sent end as email_click_through_rate,
    email.unsubscribed                                                        as email_unsubscribed,
    contact.marketing_opt_in,
    -- psychographics (latest survey answer; Likert 1-5, NPS 0-10)
    survey.value_sustainability,
    survey.value_price,
    survey.value_prestige,
    survey.interest_novelty,
    survey.lifestyle_active,
    survey.lifestyle_digital,
    survey.main_interest,
    survey.nps_score,
    case when survey.nps_score >= 9 then 'promoter'
         when survey.nps_score >= 7 then 'passive'
         when survey.nps_score >= 0 then 'detractor' end                      as nps_class
from customers
left join contact using (customer_key)
left join orders using (customer_key)
left join web using (customer_key)
left join web_mix using (customer_key)
left join web_counts using (customer_key)
left join email using (customer_key)
left join survey using (customer_key)
left join clv using (customer_key)
left join ref.regions regions on regions.country_code = coalesce(contact.country_code, web.web_country_code)
order by customers.customer_key
