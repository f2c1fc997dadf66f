-- Propensity labels (not a table; read by marts.propensity_model): one row per resolved customer
-- with at least one completed order in the label window [$cutoff, $cutoff + $horizon_days days):
-- the customer purchased in the horizon after the cutoff. Customers absent from this result did not.
-- Inputs: marts.customer_identity, staging.crm_orders. Parameters: $cutoff (date), $horizon_days.

select distinct identity.customer_key
from marts.customer_identity identity
join staging.crm_orders o on identity.source = 'crm_orders' and identity.record_key = o.order_id
where not identity.is_anonymous
  and o.status = 'completed'
  and o.ordered_at >= $cutoff::date
  and o.ordered_at < $cutoff::date + to_days($horizon_days::integer)
order by identity.customer_key
