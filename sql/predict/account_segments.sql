-- marts.account_segments: one row per account (company) with at least one CRM contact naming it:
-- contacts rolled up for account-based marketing. The account key is the company name trimmed and
-- lower-cased (the displayed name is the most common spelling); a customer belongs to the company of
-- their most recent CRM contact (marts.customer_features.company_name).
--   revenue / orders          completed orders over the ROI window (last $window_days days)
--   attributed_revenue_usd    of which attributed to a campaign (marts.order_attribution)
--   allocated_spend_usd       each campaign's window spend split equally over the customers it reached
--                             (email send or paid visit in the window), summed over the account's contacts
--   roi                       (attributed_revenue_usd - allocated_spend_usd) / allocated_spend_usd
--   account_segment           first match: key_account (lifetime revenue in the top decile of accounts),
--                             slipping_account (half or more of its buying contacts slipping),
--                             multi_buyer_account (2+ buying contacts), single_buyer_account, prospect_account
-- Inputs: marts.customer_features, marts.customer_scores, marts.customer_segments,
-- marts.order_attribution, staging.campaign_touches, staging.ad_spend. Parameters: $as_of, $window_days.

with members as (
    select customer_key, company_name, lower(trim(company_name)) as account_key, frequency, monetary_usd, marketing_opt_in
    from marts.customer_features
    where nullif(trim(company_name), '') is not null
),

window_orders as (
    select customer_key, count(*) as orders, sum(amount_usd) as revenue_usd,
           coalesce(sum(amount_usd) filter (where campaign_id is not null), 0) as attributed_revenue_usd
    from marts.order_attribution
    group by customer_key
),

spend as (
    select campaign_id, sum(spend_usd) as spend_usd
    from staging.ad_spend
    where spend_date >= $as_of::date - to_days($window_days::integer) and spend_date <= $as_of::date
    group by campaign_id
),

reached as (
    select distinct customer_key, campaign_id
    from staging.campaign_touches
    where touch_type in ('email_send', 'paid_visit')
      and touched_at >= $as_of::date - to_days($window_days::integer)
      and touched_at < $as_of::date + interval 1 day
),

customer_spend as (
    select reached.customer_key, sum(spend.spend_usd / counts.reached) as spend_usd
    from reached
    join spend using (campaign_id)
    join (select campaign_id, count(*) as reached from reached group by campaign_id) counts using (campaign_id)
    group by reached.customer_key
),

rfm as (
    select customer_key, segment from marts.customer_segments where segmentation = 'rfm'
),

accounts as (
    select
        members.account_key,
        most_frequent(members.company_name)                                                 as company_name,
        count(*)                                                                   as contacts,
        count(*) filter (where members.marketing_opt_in)                           as consented_contacts,
        count(*) filter (where members.frequency > 0)                              as buying_contacts,
        sum(members.frequency)                                                     as lifetime_orders,
        sum(members.monetary_usd)::double                                          as lifetime_revenue_usd,
        coalesce(sum(window_orders.orders), 0)                                     as orders,
        coalesce(sum(window_orders.revenue_usd), 0)::double                        as revenue_usd,
        coalesce(sum(window_orders.attributed_revenue_usd), 0)::double             as attributed_revenue_usd,
        coalesce(sum(customer_spend.spend_usd), 0)::double                         as allocated_spend_usd,
        coalesce(sum(scores.predicted_clv_usd order by customer_key), 0)           as total_clv_usd,
        avg(scores.propensity)                                                     as mean_propensity,
        1 - product(1 - scores.propensity)                                         as p_any_contact_purchases,
        max(scores.churn_risk)                                                     as max_churn_risk,
        count(*) filter (where scores.slipping)                                    as slipping_contacts,
        count(*) filter (where scores.slipping and members.frequency > 0)          as slipping_buying_contacts,
        most_frequent(rfm.segment)                                                          as main_rfm_segment
    from members
    left join window_orders using (customer_key)
    left join customer_spend using (customer_key)
    left join marts.customer_scores scores using (customer_key)
    left join rfm using (customer_key)
    group by members.account_key
)

select
    account_key,
    company_name,
    -- contacts
    contacts,
    consented_contacts,
    buying_contacts,
    slipping_contacts,
    -- value
    lifetime_orders,
    lifetime_revenue_usd,
    total_clv_usd,
    mean_propensity,
    p_any_contact_purchases,
    max_churn_risk,
    main_rfm_segment,
    -- ROI window
    orders,
    revenue_usd,
    attributed_revenue_usd,
    allocated_spend_usd,
    case when allocated_spend_usd > 0 then (attributed_revenue_usd - allocated_spend_usd) / allocated_spend_usd end as roi,
    -- segment
    case
        when lifetime_revenue_usd > 0
             and ntile(10) over (order by lifetime_revenue_usd, account_key) = 10 then 'key_account'
        when buying_contacts > 0 and slipping_buying_contacts * 2 >= buying_contacts then 'slipping_account'
        when buying_contacts >= 2 then 'multi_buyer_account'
        when buying_contacts = 1 then 'single_buyer_account'
        else 'prospect_account'
    end as account_segment
from accounts
order by account_key
