-- staging.clv_inputs: one row per customer with at least one completed order: the BG/NBD and
-- Gamma-Gamma summary in weeks. Orders on the same day count as one transaction (as in Fader,
-- Hardie & Lee 2005).
--   frequency        repeat transactions (transaction days - 1)
--   recency_weeks    weeks between the first and the last transaction
--   t_weeks          weeks between the first transaction and the run date
--   avg_repeat_value mean USD value of the repeat transactions (NULL when frequency = 0)
-- Inputs: marts.customer_identity, staging.crm_orders. Parameter: $as_of.

with order_days as (
    select identity.customer_key, o.ordered_at::date as order_day, sum(o.amount_usd) as day_value
    from marts.customer_identity identity
    join staging.crm_orders o on identity.source = 'crm_orders' and identity.record_key = o.order_id
    where o.status = 'completed' and not identity.is_anonymous and o.ordered_at < $as_of::date + interval 1 day
    group by all
),

ranked as (
    select *, row_number() over (partition by customer_key order by order_day) as day_number
    from order_days
)

select
    customer_key,
    count(*) - 1                                                       as frequency,
    date_diff('day', min(order_day), max(order_day)) / 7.0             as recency_weeks,
    date_diff('day', min(order_day), $as_of::date) / 7.0               as t_weeks,
    avg(day_value) filter (where day_number > 1)                       as avg_repeat_value
from ranked
group by customer_key
order by customer_key
