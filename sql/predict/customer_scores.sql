-- marts.customer_scores: one row per resolved customer: propensity to convert in the next horizon,
-- churn risk from trends and P(alive), the slipping flag, predicted CLV, each with a decile
-- (10 = highest; ties broken by customer_key), and the expected value propensity x CLV.
--   churn_risk = 1 - P(alive) x (1 - engagement drop share clipped to [0, 1]): the customer is
--   retained if BG/NBD says they are alive AND their engagement has not fallen; P(alive) is taken as
--   1 for customers without a completed order and the drop as 0 when there is no baseline.
--   slipping   = engagement fell by at least $slipping_drop_share vs the customer's own baseline
--   (engagement_drop_share of marts.customer_trends: shrunk towards 0 when counts are small).
-- Inputs: marts.customers, marts.customer_propensity, marts.customer_trends, marts.customer_clv.
-- Parameter: $slipping_drop_share.

with customers as (
    select customer_key from marts.customers
),

propensity as (
    select customer_key, propensity from marts.customer_propensity
),

trends as (
    select * from marts.customer_trends
),

clv as (
    select customer_key, p_alive, predicted_clv_usd from marts.customer_clv
),

scored as (
    select
        customers.customer_key,
        propensity.propensity,
        clv.p_alive,
        trends.engagement_drop_share,
        trends.gap_ratio,
        -- (greatest/least skip NULLs, so a missing drop share is mapped to 0 before clipping)
        1 - coalesce(clv.p_alive, 1)
          * (1 - case when trends.engagement_drop_share is null then 0
                      else least(greatest(trends.engagement_drop_share, 0), 1) end)       as churn_risk,
        coalesce(trends.engagement_drop_share >= $slipping_drop_share::double, false)  as slipping,
        clv.predicted_clv_usd
    from customers
    left join propensity using (customer_key)
    left join trends using (customer_key)
    left join clv using (customer_key)
)

select
    customer_key,
    -- propensity to convert
    propensity,
    ntile(10) over (order by propensity nulls first, customer_key)              as propensity_decile,
    -- churn
    p_alive,
    engagement_drop_share,
    gap_ratio,
    churn_risk,
    ntile(10) over (order by churn_risk, customer_key)                          as churn_risk_decile,
    slipping,
    -- value
    predicted_clv_usd,
    ntile(10) over (order by coalesce(predicted_clv_usd, 0), customer_key)      as clv_decile,
    propensity * coalesce(predicted_clv_usd, 0)                                 as expected_value_usd
from scored
order by customer_key
