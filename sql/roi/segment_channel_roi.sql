-- marts.segment_channel_roi: one row per segmentation, segment and marketing channel (email,
-- paid_search, paid_social, display): reach, attributed orders and revenue, new customers acquired,
-- allocated spend, CAC, ROAS, ROI and ROMI over the ROI window (the last $window_days days before
-- the run date; touches, orders and spend all use this window).
--   reached_customers         segment customers the channel reached (email send or paid visit)
--   clicking_customers        segment customers with an email click or paid visit of the channel
--   attributed_converters     customers with at least one window order attributed to the channel
--   attributed_orders, attributed_revenue_usd  window orders (and their USD value) whose last touch
--                             (marts.order_attribution) was a campaign of the channel
--   new_customers             customers whose first-ever completed order is in the window and is
--                             attributed to the channel (acquired by it)
--   allocated_spend_usd       the channel's spend allocated to the segment (marts.segment_spend_allocation)
--   cac_usd                   allocated_spend_usd / new_customers
--   roas                      attributed_revenue_usd / allocated_spend_usd
--   roi                       (attributed_revenue_usd - allocated_spend_usd) / allocated_spend_usd
--   romi                      (attributed_revenue_usd * $gross_margin - allocated_spend_usd) / allocated_spend_usd
-- Summed over channels, attributed revenue equals marts.segment_roi.attributed_revenue_usd and
-- allocated spend equals marts.segment_roi.allocated_spend_usd; unattributed revenue has no channel.
-- Inputs: marts.customer_segments, marts.customer_features, marts.order_attribution,
-- marts.segment_spend_allocation, staging.campaign_touches.
-- Parameters: $as_of, $window_days, $gross_margin.

with segments as (
    select customer_key, segmentation, segment from marts.customer_segments
),

window_touches as (
    select customer_key, channel, touch_type
    from staging.campaign_touches
    where touched_at >= $as_of::date - to_days($window_days::integer)
      and touched_at < $as_of::date + interval 1 day
),

reach as (
    select
        customer_key,
        channel,
        bool_or(touch_type in ('email_send', 'paid_visit'))     as reached,
        bool_or(touch_type in ('email_click', 'paid_visit'))    as clicked
    from window_touches
    group by customer_key, channel
),

first_orders as (
    -- the customer's first-ever completed order, when it falls in the window (ties: lowest order id)
    select
        attribution.customer_key,
        arg_min(attribution.channel, (attribution.ordered_at, attribution.order_id)) as acquired_by
    from marts.order_attribution attribution
    join marts.customer_features f using (customer_key)
    where f.first_order_at >= $as_of::date - to_days($window_days::integer)
    group by attribution.customer_key
),

attributed as (
    select
        customer_key,
        channel,
        count(*)            as orders,
        sum(amount_usd)     as revenue_usd
    from marts.order_attribution
    where channel is not null
    group by customer_key, channel
),

customer_channel as (
    select customer_key, channel from reach
    union
    select customer_key, channel from attributed
),

by_segment as (
    select
        segments.segmentation,
        segments.segment,
        customer_channel.channel,
        count(*) filter (where reach.reached)                         as reached_customers,
        count(*) filter (where reach.clicked)                         as clicking_customers,
        count(attributed.customer_key)                                as attributed_converters,
        coalesce(sum(attributed.orders), 0)                           as attributed_orders,
        coalesce(sum(attributed.revenue_usd), 0)                      as attributed_revenue_usd,
        count(*) filter (where first_orders.acquired_by = customer_channel.channel) as new_customers
    from customer_channel
    join segments using (customer_key)
    left join reach using (customer_key, channel)
    left join attributed using (customer_key, channel)
    left join first_orders using (customer_key)
    group by all
),

spend as (
    select segmentation, segment, channel, sum(allocated_spend_usd) as allocated_spend_usd
    from marts.segment_spend_allocation
    group by all
),

joined as (
    select
        segmentation,
        segment,
        channel,
        coalesce(by_segment.reached_customers, 0)         as reached_customers,
        coalesce(by_segment.clicking_customers, 0)        as clicking_customers,
        coalesce(by_segment.attributed_converters, 0)     as attributed_converters,
        coalesce(by_segment.attributed_orders, 0)         as attributed_orders,
        coalesce(by_segment.attributed_revenue_usd, 0)    as attributed_revenue_usd,
        coalesce(by_segment.new_customers, 0)             as new_customers,
        coalesce(spend.allocated_spend_usd, 0)            as allocated_spend_usd
    from by_segment
    full outer join spend using (segmentation, segment, channel)
)

select
    segmentation,
    segment,
    channel,
    reached_customers,
    clicking_customers,
    attributed_converters,
    attributed_orders,
    attributed_revenue_usd::decimal(18, 2)                                          as attributed_revenue_usd,
    new_customers,
    allocated_spend_usd::decimal(18, 2)                                             as allocated_spend_usd,
    round(allocated_spend_usd / nullif(new_customers, 0), 2)                        as cac_usd,
    round(attributed_revenue_usd / nullif(allocated_spend_usd, 0), 4)               as roas,
    round((attributed_revenue_usd - allocated_spend_usd) / nullif(allocated_spend_usd, 0), 4) as roi,
    round((attributed_revenue_usd * $gross_margin::decimal(9, 6) - allocated_spend_usd)
          / nullif(allocated_spend_usd, 0), 4)                                      as romi
from joined
order by segmentation, segment, channel
