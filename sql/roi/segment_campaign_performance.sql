-- marts.segment_campaign_performance: one row per segmentation, segment and campaign (with its
-- channel): delivery, engagement, conversions, revenue, spend and ROI over the ROI window (the last
-- $window_days days before the run date; events, orders and spend all use this window).
--   sends, recipients         email sends of the campaign to the segment; distinct customers sent to
--   opens, openers            email opens; distinct customers who opened
--   clicks, clickers          email clicks (email campaigns) or sessions started from the ad (paid
--                             campaigns); distinct customers who clicked
--   open_rate                 openers / recipients (email campaigns; NULL for paid channels)
--   click_through_rate        clickers / recipients (email campaigns; NULL for paid channels, whose
--                             impressions are not known per segment)
--   conversions, converters   window orders attributed to the campaign (last touch,
--                             marts.order_attribution); distinct customers who placed them
--   revenue_usd               USD value of those orders (attributed revenue)
--   spend_usd                 the campaign's spend allocated to the segment (marts.segment_spend_allocation)
--   roi                       (revenue_usd - spend_usd) / spend_usd
--   romi                      (revenue_usd * $gross_margin - spend_usd) / spend_usd
-- Inputs: marts.customer_segments, staging.email_events, marts.customer_identity,
-- staging.campaign_touches, staging.campaigns, marts.order_attribution, marts.segment_spend_allocation.
-- Parameters: $as_of, $window_days, $gross_margin.

with segments as (
    select customer_key, segmentation, segment from marts.customer_segments
),

campaigns as (
    select campaign_id, campaign_name, channel from staging.campaigns
),

opens as (
    select identity.customer_key, e.campaign_id, 'email_open' as touch_type
    from staging.email_events e
    join marts.customer_identity identity on identity.source = 'email_events' and identity.record_key = e.recipient_key
    join campaigns using (campaign_id)
    where e.event_type = 'open'
      and not identity.is_anonymous
      and e.occurred_at >= $as_of::date - to_days($window_days::integer)
      and e.occurred_at < $as_of::date + interval 1 day
),

touches as (
    select customer_key, campaign_id, touch_type
    from staging.campaign_touches
    where touched_at >= $as_of::date - to_days($window_days::integer)
      and touched_at < $as_of::date + interval 1 day
    union all
    select customer_key, campaign_id, touch_type from opens
),

engagement as (
    select
        customer_key,
        campaign_id,
        count(*) filter (where touch_type = 'email_send')                       as sends,
        count(*) filter (where touch_type = 'email_open')                       as opens,
        count(*) filter (where touch_type in ('email_click', 'paid_visit'))     as clicks
    from touches
    group by customer_key, campaign_id
),

attributed as (
    select customer_key, campaign_id, count(*) as orders, sum(amount_usd) as revenue_usd
    from marts.order_attribution
    where campaign_id is not null
    group by customer_key, campaign_id
),

customer_campaign as (
    select
        customer_key,
        campaign_id,
        coalesce(engagement.sends, 0)           as sends,
        coalesce(engagement.opens, 0)           as opens,
        coalesce(engagement.clicks, 0)          as clicks,
        coalesce(attributed.orders, 0)          as orders,
        coalesce(attributed.revenue_usd, 0)     as revenue_usd
    from engagement
    full outer join attributed using (customer_key, campaign_id)
),

by_segment as (
    select
        segments.segmentation,
        segments.segment,
        customer_campaign.campaign_id,
        sum(sends)::bigint                      as sends,
        count(*) filter (where sends > 0)       as recipients,
        sum(opens)::bigint                      as opens,
        count(*) filter (where opens > 0)       as openers,
        sum(clicks)::bigint                     as clicks,
        count(*) filter (where clicks > 0)      as clickers,
        sum(orders)::bigint                     as conversions,
        count(*) filter (where orders > 0)      as converters,
        sum(revenue_usd)                        as revenue_usd
    from customer_campaign
    join segments using (customer_key)
    group by all
),

spend as (
    select segmentation, segment, campaign_id, sum(allocated_spend_usd) as spend_usd
    from marts.segment_spend_allocation
    group by all
),

joined as (
    select
        segmentation,
        segment,
        campaign_id,
        coalesce(by_segment.sends, 0)           as sends,
        coalesce(by_segment.recipients, 0)      as recipients,
        coalesce(by_segment.opens, 0)           as opens,
        coalesce(by_segment.openers, 0)         as openers,
        coalesce(by_segment.clicks, 0)          as clicks,
        coalesce(by_segment.clickers, 0)        as clickers,
        coalesce(by_segment.conversions, 0)     as conversions,
        coalesce(by_segment.converters, 0)      as converters,
        coalesce(by_segment.revenue_usd, 0)     as revenue_usd,
        coalesce(spend.spend_usd, 0)            as spend_usd
    from by_segment
    full outer join spend using (segmentation, segment, campaign_id)
)

select
    joined.segmentation,
    joined.segment,
    joined.campaign_id,
    campaigns.campaign_name,
    campaigns.channel,
    joined.sends,
    joined.recipients,
    joined.opens,
    joined.openers,
    joined.clicks,
    joined.clickers,
    case when campaigns.channel = 'email' then round(joined.openers / nullif(joined.recipients, 0), 6) end  as open_rate,
    case when campaigns.channel = 'email' then round(joined.clickers / nullif(joined.recipients, 0), 6) end as click_through_rate,
    joined.conversions,
    joined.converters,
    joined.revenue_usd::decimal(18, 2)                                                         as revenue_usd,
    joined.spend_usd::decimal(18, 2)                                                           as spend_usd,
    round((joined.revenue_usd - joined.spend_usd) / nullif(joined.spend_usd, 0), 4)            as roi,
    round((joined.revenue_usd * $gross_margin::decimal(9, 6) - joined.spend_usd)
          / nullif(joined.spend_usd, 0), 4)                                                    as romi
from joined
left join campaigns using (campaign_id)
order by joined.segmentation, joined.segment, joined.campaign_id
