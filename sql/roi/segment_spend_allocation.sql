-- marts.segment_spend_allocation: one row per segmentation, segment, campaign and channel: the
-- campaign's spend in the ROI window allocated to the segment.
-- Rule: in proportion to the segment's customers the campaign reached in the window
-- ($allocation = 'reached': email sends or paid visits) or clicked ($allocation = 'clicks': email
-- clicks or paid visits). Cents are allocated by the largest-remainder method (ties by segment
-- name), so for every segmentation the allocated spend sums to the total spend to the cent. Spend
-- of a campaign that reached nobody goes to the segment '(unreached)'.
-- Inputs: staging.ad_spend, staging.campaign_touches, marts.customer_segments.
-- Parameters: $as_of, $window_days, $allocation.

with spend as (
    select campaign_id, channel, (sum(spend_usd) * 100)::hugeint as spend_cents
    from staging.ad_spend
    where spend_date >= $as_of::date - to_days($window_days::integer) and spend_date <= $as_of::date
    group by campaign_id, channel
),

touched as (
    select distinct customer_key, campaign_id
    from staging.campaign_touches
    where touched_at >= $as_of::date - to_days($window_days::integer)
      and touched_at < $as_of::date + interval 1 day
      and (($allocation = 'reached' and touch_type in ('email_send', 'paid_visit'))
        or ($allocation = 'clicks' and touch_type in ('email_click', 'paid_visit')))
),

segmentations as (
    select distinct segmentation from marts.customer_segments
),

reach as (
    select s.segmentation, s.segment, touched.campaign_id, count(*) as customers
    from touched
    join marts.customer_segments s using (customer_key)
    group by all
),

shares as (
    -- every (segmentation, campaign) pair: reached segments, or '(unreached)' with all of the spend
    select segmentation, segment, campaign_id, customers from reach
    union all
    select segmentations.segmentation, '(unreached)', spend.campaign_id, 1
    from segmentations
    cross join (select distinct campaign_id from spend) spend
    where not exists (
        select 1 from reach where reach.segmentation = segmentations.segmentation and reach.campaign_id = spend.campaign_id
    )
),

base as (
    select
        spend.campaign_id,
        spend.channel,
        shares.segmentation,
        shares.segment,
        shares.customers,
        spend.spend_cents,
        spend.spend_cents * shares.customers // sum(shares.customers) over w   as floor_cents,
        spend.spend_cents * shares.customers % sum(shares.customers) over w    as remainder
    from spend
    join shares using (campaign_id)
    window w as (partition by spend.campaign_id, spend.channel, shares.segmentation)
),

allocated as (
    select
        *,
        spend_cents - sum(floor_cents) over w                                  as leftover_cents,
        row_number() over (w order by remainder desc, segment)                 as remainder_rank
    from base
    window w as (partition by campaign_id, channel, segmentation)
)

select
    segmentation,
    segment,
    campaign_id,
    channel,
    customers                                                                  as customers_reached,
    ((floor_cents + (remainder_rank <= leftover_cents)::int) / 100)::decimal(18, 2) as allocated_spend_usd
from allocated
order by segmentation, segment, campaign_id, channel
