-- marts.customer_segments: one row per customer and segmentation, with the segment and the run date.
-- Segmentations: rfm (named RFM segments; no_purchase for customers without a completed order),
-- lifecycle (prospect: no completed order; new: tenure <= 90 days; churned: recency > 365 days or
-- P(alive) < 0.2; at_risk: recency > 180 days or P(alive) < 0.5; else active; first match wins),
-- demographic (age band), geographic (marketing region), plus the analyst-defined and ML
-- segmentations of marts.analyst_segments and marts.ml_segments.
-- Inputs: marts.customer_features, marts.rfm_scores, marts.analyst_segments, marts.ml_segments.
-- Parameter: $as_of (the run date).

with features as (
    select * from marts.customer_features
),

rfm as (
    select features.customer_key, 'rfm' as segmentation, coalesce(rfm_scores.rfm_segment, 'no_purchase') as segment
    from features
    left join marts.rfm_scores rfm_scores using (customer_key)
),

lifecycle as (
    select
        customer_key,
        'lifecycle' as segmentation,
        case
            when frequency = 0 then 'prospect'
            when tenure_days <= 90 then 'new'
            when recency_days > 365 or p_alive < 0.2 then 'churned'
            when recency_days > 180 or p_alive < 0.5 then 'at_risk'
            else 'active'
        end as segment
    from features
),

demographic as (
    select customer_key, 'demographic' as segmentation, coalesce(age_band, 'unknown_age') as segment
    from features
),

geographic as (
    select customer_key, 'geographic' as segmentation, coalesce(region, 'unknown_region') as segment
    from features
),

analyst as (
    select customer_key, segmentation, segment from marts.analyst_segments
),

ml as (
    select customer_key, 'ml_cluster' as segmentation, segment from marts.ml_segments
),

all_segments as (
    select * from rfm
    union all select * from lifecycle
    union all select * from demographic
    union all select * from geographic
    union all select * from analyst
    union all select * from ml
)

select customer_key, segmentation, segment, $as_of::date as run_date
from all_segments
order by segmentation, customer_key
