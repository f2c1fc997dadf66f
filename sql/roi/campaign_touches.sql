-- staging.campaign_touches: one row per marketing touch of a customer by a campaign:
--   email_send   an email of the campaign was sent to the customer (reach)
--   email_click  the customer clicked a link in the campaign's email (attributable touch)
--   paid_visit   a web session started from the campaign's paid ad (reach and attributable touch)
-- Inputs: staging.email_events, staging.web_events, staging.campaigns, marts.customer_identity.

with identity as (
    select source, record_key, customer_key from marts.customer_identity where not is_anonymous
),

campaigns as (
    select campaign_id, campaign_name, channel from staging.campaigns
),

email_touches as (
    select
        identity.customer_key,
        e.campaign_id,
        'email' as channel,
        case e.event_type when 'send' then 'email_send' else 'email_click' end as touch_type,
        e.occurred_at as touched_at
    from staging.email_events e
    join identity on identity.source = 'email_events' and identity.record_key = e.recipient_key
    join campaigns on campaigns.campaign_id = e.campaign_id
    where e.event_type in ('send', 'click')
),

paid_touches as (
    select
        identity.customer_key,
        campaigns.campaign_id,
        campaigns.channel,
        'paid_visit' as touch_type,
        w.event_at as touched_at
    from staging.web_events w
    join identity on identity.source = 'web_events' and identity.record_key = w.user_pseudo_id
    join campaigns on campaigns.campaign_name = w.traffic_campaign and campaigns.channel != 'email'
    where w.event_name = 'session_start'
)

select * from email_touches
union all
select * from paid_touches
order by customer_key, touched_at, campaign_id, touch_type
