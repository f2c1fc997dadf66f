-- marts.order_attribution: one row per completed order placed in the ROI window, with the campaign
-- it is attributed to. Model: last touch -- the latest email click or paid visit of the same customer
-- within $attribution_days days before the order (ties: the later campaign id). Orders without such
-- a touch are unattributed (campaign_id NULL): attributed revenue never exceeds total revenue.
-- Inputs: staging.crm_orders, marts.customer_identity, staging.campaign_touches.
-- Parameters: $as_of, $window_days, $attribution_days.

with orders as (
    select identity.customer_key, o.order_id, o.ordered_at, o.amount_usd
    from staging.crm_orders o
    join marts.customer_identity identity on identity.source = 'crm_orders' and identity.record_key = o.order_id
    where o.status = 'completed'
      and not identity.is_anonymous
      and o.ordered_at >= $as_of::date - to_days($window_days::integer)
      and o.ordered_at < $as_of::date + interval 1 day
),

touches as (
    select customer_key, campaign_id, channel, touched_at
    from staging.campaign_touches
    where touch_type in ('email_click', 'paid_visit')
),

last_touch as (
    select
        orders.order_id,
        arg_max(touches.campaign_id, (touches.touched_at, touches.campaign_id)) as campaign_id,
        arg_max(touches.channel, (touches.touched_at, touches.campaign_id))     as channel,
        max(touches.touched_at)                                                 as touched_at
    from orders
    join touches
        on touches.customer_key = orders.customer_key
        and touches.touched_at <= orders.ordered_at
        and touches.touched_at > orders.ordered_at - to_days($attribution_days::integer)
    group by orders.order_id
)

select
    orders.customer_key,
    orders.order_id,
    orders.ordered_at,
    orders.amount_usd,
    last_touch.campaign_id,
    last_touch.channel,
    last_touch.touched_at
from orders
left join last_touch using (order_id)
order by orders.order_id
