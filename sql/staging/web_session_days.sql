-- staging.web_session_days: one row per web session (cookie and GA4 session id), UTC day of its events,
-- login (GA4 user_id; NULL for the events before a login) and geo country, within one partition day:
-- the web events aggregated once, so identity, features, trends and the silo report read a fraction
-- of the rows. Re-aggregate by (user_pseudo_id, ga_session_id) for sessions. Windows that end at
-- midnight UTC (the run date, a cutoff) select whole rows by event_day, so every figure equals the
-- one computed from the events. The login is part of the grain so that an erasure removes exactly
-- the rows of the events it removes; the country, so that events per country add up exactly.
-- Daily-partitioned like staging.web_events: a run rebuilds the days $partition_start..$partition_end.
-- Input: staging.web_events. Parameters: $partition_start, $partition_end (dates).

with events as (
    select
        *,
        case when event_name = 'page_view'
             then nullif(regexp_extract(page_location, '^https?://[^/]+/(outdoor|tech|fashion|home|wellness)(/|$)', 1), '')
        end                                                             as category
    from staging.web_events
    where _partition_date between $partition_start and $partition_end
)

select
    -- grain
    _partition_date,
    user_pseudo_id,
    ga_session_id,
    event_at::date                                                      as event_day,
    user_id,
    geo_country_code,
    -- when
    min(event_at)                                                       as first_event_at,
    max(event_at)                                                       as last_event_at,
    -- device and traffic medium of the first event (ties: the smallest value)
    arg_min(device_category, (event_at, device_category))              as device_category,
    arg_min(traffic_medium, (event_at, traffic_medium))                as traffic_medium,
    -- event counts
    count(*)                                                            as events,
    count(*) filter (where event_name = 'page_view')                    as page_views,
    count(*) filter (where event_name = 'view_item')                    as product_views,
    count(*) filter (where event_name = 'add_to_cart')                  as add_to_carts,
    count(*) filter (where event_name = 'purchase')                     as purchases,
    -- page views per site category (the path's first segment: /outdoor/..., /tech/..., ...)
    count(*) filter (where category = 'outdoor')                        as outdoor_views,
    count(*) filter (where category = 'tech')                           as tech_views,
    count(*) filter (where category = 'fashion')                        as fashion_views,
    count(*) filter (where category = 'home')                           as home_views,
    count(*) filter (where category = 'wellness')                       as wellness_views
from events
group by _partition_date, user_pseudo_id, ga_session_id, event_at::date, user_id, geo_country_code
