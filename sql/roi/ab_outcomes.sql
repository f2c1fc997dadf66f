-- marts.ab_outcomes: one row per experiment, assigned customer and segmentation: the arm, the
-- customer's PRE-TREATMENT segment and the outcome. Input of marts.ab_test_results.
-- Pre-treatment (analytics note 4): every segment is computed from data dated before the customer's
-- assignment, never from the outcome period, so the breakdown cannot be formed by the treatment:
--   all          everyone ('all')
--   rfm          RFM segment from completed orders placed before assignment: recency in days to the
--                assignment date, frequency, USD monetary value; quintile scores per experiment with
--                the tie rule of marts.rfm_scores (1 + floor(5 * (rank - 1) / n)) and the names of
--                ref.rfm_segment_map; no_purchase without an earlier order
--   lifecycle    prospect (no earlier order), new (first order within 90 days before assignment),
--                churned (last order more than 365 days before), at_risk (more than 180), else active.
--                The run-date lifecycle also uses the BG/NBD P(alive), which is fitted on later data
--                and so is not used here.
--   demographic  age band at the assignment date (birth date of the latest CRM contact created
--                before assignment); unknown_age without one
--   geographic   marketing region of the CRM country of that contact, else the country the customer
--                browsed from before assignment; unknown_region without either
-- Segmentations built from run-date features (ml_cluster, analyst segmentations) use later data
-- and are deliberately absent.
-- Assignment: the earliest assignment of the customer (resolved via marts.customer_identity) to the
-- experiment; customers assigned to more than one arm of an experiment are excluded (contaminated).
-- Outcome: converted = at least one completed order in [assigned_at, assigned_at +
-- conversion_window_days); revenue_usd = USD value of those orders (0 without). window_complete is
-- false when the conversion window ends after the run date (the outcome is still accruing).
-- Inputs: staging.experiments, staging.ab_assignments, staging.crm_orders, staging.crm_contacts,
-- staging.web_events, marts.customer_identity, ref.rfm_segment_map, ref.regions.
-- Parameters: $as_of, $age_bands, $default_region.

with experiments as (
    select experiment_id, control_variant, conversion_window_days from staging.experiments
),

identity as (
    select source, record_key, customer_key from marts.customer_identity where not is_anonymous
),

assigned as (
    select
        a.experiment_id,
        identity.customer_key,
        min(a.assigned_at)                                      as assigned_at,
        arg_min(a.variant, (a.assigned_at, a.variant))          as variant,
        count(distinct a.variant)                               as arms
    from staging.ab_assignments a
    join identity on identity.source = 'ab_assignments' and identity.record_key = a.assignment_key
    join experiments using (experiment_id)
    group by a.experiment_id, identity.customer_key
),

assignments as (
    select
        assigned.experiment_id,
        assigned.customer_key,
        assigned.assigned_at,
        assigned.variant,
        assigned.variant = experiments.control_variant                                  as is_control,
        assigned.assigned_at + to_days(experiments.conversion_window_days)             as window_end
    from assigned
    join experiments using (experiment_id)
    where assigned.arms = 1
),

orders as (
    select identity.customer_key, o.order_id, o.ordered_at, o.amount_usd
    from staging.crm_orders o
    join identity on identity.source = 'crm_orders' and identity.record_key = o.order_id
    where o.status = 'completed'
),

-- history before assignment (pre-treatment)
history as (
    select
        assignments.experiment_id,
        assignments.customer_key,
        count(orders.order_id)                                          as frequency,
        coalesce(sum(orders.amount_usd), 0)                             as monetary_usd,
        date_diff('day', min(orders.ordered_at), assignments.assigned_at) as days_since_first_order,
        date_diff('day', max(orders.ordered_at), assignments.assigned_at) as recency_days
    from assignments
    left join orders
        on orders.customer_key = assignments.customer_key
        and orders.ordered_at < assignments.assigned_at
    group by assignments.experiment_id, assignments.customer_key, assignments.assigned_at
),

rfm_scored as (
    select
        experiment_id,
        customer_key,
        1 + (5 * (rank() over (partition by experiment_id order by recency_days desc) - 1))
            // count(*) over (partition by experiment_id)                  as r_score,
        1 + (5 * (rank() over (partition by experiment_id order by frequency asc) - 1))
            // count(*) over (partition by experiment_id)                  as f_score,
        1 + (5 * (rank() over (partition by experiment_id order by monetary_usd asc) - 1))
            // count(*) over (partition by experiment_id)                  as m_score
    from history
    where frequency > 0
),

rfm as (
    select history.experiment_id, history.customer_key, coalesce(map.rfm_segment, 'no_purchase') as segment
    from history
    left join rfm_scored using (experiment_id, customer_key)
    left join ref.rfm_segment_map map
        on map.r_score = rfm_scored.r_score and map.f_score = rfm_scored.f_score and map.m_score = rfm_scored.m_score
),

lifecycle as (
    select
        experiment_id,
        customer_key,
        case
            when frequency = 0 then 'prospect'
            when days_since_first_order <= 90 then 'new'
            when recency_days > 365 then 'churned'
            when recency_days > 180 then 'at_risk'
            else 'active'
        end as segment
    from history
),

contacts as (
    select
        assignments.experiment_id,
        assignments.customer_key,
        arg_max(c.birth_date, c.created_at)     as birth_date,
        arg_max(c.country_code, c.created_at)   as country_code
    from assignments
    join identity on identity.customer_key = assignments.customer_key and identity.source = 'crm_contacts'
    join staging.crm_contacts c on c.contact_id::varchar = identity.record_key
    where c.created_at < assignments.assigned_at
    group by assignments.experiment_id, assignments.customer_key
),

web_country as (
    select
        assignments.experiment_id,
        assignments.customer_key,
        most_frequent(w.geo_country_code)                as country_code
    from assignments
    join identity on identity.customer_key = assignments.customer_key and identity.source = 'web_events'
    join staging.web_events w on w.user_pseudo_id = identity.record_key
    where w.event_at < assignments.assigned_at and w.geo_country_code is not null
    group by assignments.experiment_id, assignments.customer_key
),

profile as (
    select
        assignments.experiment_id,
        assignments.customer_key,
        coalesce(band(date_diff('year', contacts.birth_date, assignments.assigned_at::date), $age_bands),
                 'unknown_age')                                                        as age_band,
        case when coalesce(contacts.country_code, web_country.country_code) is not null
             then coalesce(regions.region, $default_region) else 'unknown_region' end  as region
    from assignments
    left join contacts using (experiment_id, customer_key)
    left join web_country using (experiment_id, customer_key)
    left join ref.regions regions on regions.country_code = coalesce(contacts.country_code, web_country.country_code)
),

segments as (
    select experiment_id, customer_key, 'all' as segmentation, 'all' as segment from assignments
    union all select experiment_id, customer_key, 'rfm', segment from rfm
    union all select experiment_id, customer_key, 'lifecycle', segment from lifecycle
    union all select experiment_id, customer_key, 'demographic', age_band from profile
    union all select experiment_id, customer_key, 'geographic', region from profile
),

-- outcome: orders in the conversion window after assignment
outcomes as (
    select
        assignments.experiment_id,
        assignments.customer_key,
        count(orders.order_id) > 0                      as converted,
        coalesce(sum(orders.amount_usd), 0)             as revenue_usd
    from assignments
    left join orders
        on orders.customer_key = assignments.customer_key
        and orders.ordered_at >= assignments.assigned_at
        and orders.ordered_at < assignments.window_end
    group by assignments.experiment_id, assignments.customer_key
)

select
    assignments.experiment_id,
    assignments.customer_key,
    segments.segmentation,
    segments.segment,
    assignments.variant,
    assignments.is_control,
    assignments.assigned_at,
    outcomes.converted,
    outcomes.revenue_usd::decimal(18, 2)                                as revenue_usd,
    assignments.window_end <= $as_of::date + interval 1 day            as window_complete
from assignments
join segments using (experiment_id, customer_key)
join outcomes using (experiment_id, customer_key)
order by assignments.experiment_id, segments.segmentation, assignments.customer_key
