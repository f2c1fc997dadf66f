-- Segment action inputs (read by marts.segment_actions): one row per segmentation and segment with the
-- columns the playbook conditions (config/playbook.yaml) are written over.
--   consented_customers  customers with marketing opt-in (marts.customer_features.marketing_opt_in;
--                        to be replaced by marts.customer_consent)
--   mean_propensity      mean P(purchase in the next horizon) (marts.customer_scores)
--   expected_value_usd   sum of propensity x predicted CLV over the consented customers
--   shares               repeat buyers (2+ completed orders), new (first order within 90 days of the
--                        run date), cart abandoners (an add-to-cart session without purchase in 90 days),
--                        prospects (no completed order), slipping (marts.customer_scores.slipping)
-- Inputs: marts.customer_segments, marts.customer_features, marts.customer_scores, marts.customer_trends.
-- Parameter: $as_of.

select
    s.segmentation,
    s.segment,
    count(*)                                                                              as customers,
    count(*) filter (where f.marketing_opt_in)                                            as consented_customers,
    avg(c.propensity order by customer_key)                                               as mean_propensity,
    avg(c.churn_risk order by customer_key)                                               as mean_churn_risk,
    avg(c.slipping::int)                                                                  as slipping_share,
    avg(c.predicted_clv_usd order by customer_key)                                        as mean_clv_usd,
    avg((f.frequency >= 2)::int)                                                          as repeat_buyer_share,
    avg(coalesce(f.first_order_at >= $as_of::date - interval 90 day, false)::int)        as new_customer_share,
    avg(coalesce(t.abandoned_cart_sessions_90d > 0, false)::int)                          as cart_abandoner_share,
    avg((f.frequency = 0)::int)                                                           as prospect_share,
    coalesce(sum(c.expected_value_usd) filter (where f.marketing_opt_in), 0)              as expected_value_usd
from marts.customer_segments s
join marts.customer_features f using (customer_key)
left join marts.customer_scores c using (customer_key)
left join marts.customer_trends t using (customer_key)
group by s.segmentation, s.segment
order by s.segmentation, s.segment
