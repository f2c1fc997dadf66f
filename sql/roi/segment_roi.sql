-- marts.segment_roi: one row per segmentation and segment: size, reach, conversion, revenue, CLV,
-- spend, CAC and ROI over the ROI window (the last $window_days days before the run date; revenue,
-- conversions, reach and spend all use this same window).
--   customers              customers in the segment (run date membership)
--   reached_customers      customers an email was sent to or who visited from a paid ad in the window
--   converters             customers with at least one completed order in the window
--   conversion_rate        converters / customers
--   orders, revenue_usd    completed orders in the window and their USD value
--   avg_order_value_usd    revenue_usd / orders
--   new_customers          converters whose first-ever completed order is in the window
--   mean_clv_usd, total_clv_usd  predicted CLV (marts.customer_clv; buyers only, mean over buyers)
--   attributed_revenue_usd revenue of orders attributed to a campaign (marts.order_attribution)
--   allocated_spend_usd    campaign spend allocated to the segment (marts.segment_spend_allocation)
--   cac_usd                allocated_spend_usd / new_customers
--   roas                   attributed_revenue_usd / allocated_spend_usd
--   roi                    (attributed_revenue_usd - allocated_spend_usd) / allocated_spend_usd
--   attributed_gross_profit_usd  attributed_revenue_usd * $gross_margin (the configured gross margin rate)
--   romi                   return on marketing investment on contribution, not revenue:
--                          (attributed_gross_profit_usd - allocated_spend_usd) / allocated_spend_usd.
--                          romi = roas * gross_margin - 1 and equals roi only when the margin is 100 %.
--   mean_propensity        mean P(completed order in the next predict.horizon_days) (marts.customer_scores)
--   mean_churn_risk        mean churn risk (marts.customer_scores)
--   expected_value_usd     sum of propensity x predicted CLV: rank segments by what they are expected
--                          to bring, not only by past revenue
-- The '(unreached)' segment carries the spend of campaigns that reached no customer.
-- Inputs: marts.customer_segments, marts.customer_features, marts.order_attribution,
-- marts.segment_spend_allocation, staging.campaign_touches, marts.customer_scores. Parameters: $as_of, $window_days,
-- $gross_margin (roi.gross_margin_rate).

with segments as (
    select customer_key, segmentation, segment from marts.customer_segments
),

reached as (
    select distinct customer_key
    from staging.campaign_touches
    where touch_type in ('email_send', 'paid_visit')
      and touched_at >= $as_of::date - to_days($window_days::integer)
      and touched_at < $as_of::date + interval 1 day
),

orders as (
    select
        customer_key,
        count(*)                                                    as orders,
        sum(amount_usd)                                             as revenue_usd,
        sum(amount_usd) filter (where campaign_id is not null)      as attributed_revenue_usd
    from marts.order_attribution
    group by customer_key
),

customers as (
    select
        segments.segmentation,
        segments.segment,
        count(*)                                                                as customers,
        count(reached.customer_key)                                             as reached_customers,
        count(orders.customer_key)                                              as converters,
        coalesce(sum(orders.orders), 0)                                         as orders,
        coalesce(sum(orders.revenue_usd), 0)                                    as revenue_usd,
        coalesce(sum(orders.attributed_revenue_usd), 0)                         as attributed_revenue_usd,
        count(*) filter (where f.first_order_at >= $as_of::date - to_days($window_days::integer)) as new_customers,
        avg(f.predicted_clv_usd order by customer_key)                          as mean_clv_usd,
        coalesce(sum(f.predicted_clv_usd order by customer_key), 0)             as total_clv_usd
    from segments
    join marts.customer_features f using (customer_key)
    left join reached using (customer_key)
    left join orders using (customer_key)
    group by segments.segmentation, segments.segment
),

spend as (
    select segmentation, segment, sum(allocated_spend_usd) as allocated_spend_usd
    from marts.segment_spend_allocation
    group by segmentation, segment
),

scores as (
    select
        segments.segmentation,
        segments.segment,
        avg(scores.propensity order by customer_key)           as mean_propensity,
        avg(scores.churn_risk order by customer_key)           as mean_churn_risk,
        sum(scores.expected_value_usd order by customer_key)   as expected_value_usd
    from segments
    join marts.customer_scores scores using (customer_key)
    group by segments.segmentation, segments.segment
),

joined as (
    select
        segmentation,
        segment,
        coalesce(customers.customers, 0)                  as customers,
        coalesce(customers.reached_customers, 0)          as reached_customers,
        coalesce(customers.converters, 0)                 as converters,
        coalesce(customers.orders, 0)                     as orders,
        coalesce(customers.revenue_usd, 0)                as revenue_usd,
        coalesce(customers.attributed_revenue_usd, 0)     as attributed_revenue_usd,
        coalesce(customers.new_customers, 0)              as new_customers,
        customers.mean_clv_usd,
        coalesce(customers.total_clv_usd, 0)              as total_clv_usd,
        coalesce(spend.allocated_spend_usd, 0)            as allocated_spend_usd,
        scores.mean_propensity,
        scores.mean_churn_risk,
        scores.expected_value_usd
    from customers
    full outer join spend using (segmentation, segment)
    left join scores using (segmentation, segment)
)

select
    segmentation,
    segment,
    customers,
    reached_customers,
    converters,
    round(converters / nullif(customers, 0), 6)                                    as conversion_rate,
    orders,
    revenue_usd::decimal(18, 2)                                                    as revenue_usd,
    round(revenue_usd / nullif(orders, 0), 2)                                      as avg_order_value_usd,
    new_customers,
    round(mean_clv_usd, 2)                                                         as mean_clv_usd,
    round(total_clv_usd, 2)                                                        as total_clv_usd,
    attributed_revenue_usd::decimal(18, 2)                                         as attributed_revenue_usd,
    allocated_spend_usd::decimal(18, 2)                                            as allocated_spend_usd,
    round(allocated_spend_usd / nullif(new_customers, 0), 2)                       as cac_usd,
    round(attributed_revenue_usd / nullif(allocated_spend_usd, 0), 4)              as roas,
    round((attributed_revenue_usd - allocated_spend_usd) / nullif(allocated_spend_usd, 0), 4) as roi,
    round(attributed_revenue_usd * $gross_margin::decimal(9, 6), 2)::decimal(18, 2)          as attributed_gross_profit_usd,
    round((attributed_revenue_usd * $gross_margin::decimal(9, 6) - allocated_spend_usd)
          / nullif(allocated_spend_usd, 0), 4)                                         as romi,
    round(mean_propensity, 6)                                                      as mean_propensity,
    round(mean_churn_risk, 6)                                                      as mean_churn_risk,
    round(expected_value_usd, 2)                                                   as expected_value_usd
from joined
order by segmentation, segment
