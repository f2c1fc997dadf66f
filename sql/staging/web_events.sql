-- staging.web_events: one row per GA4 event, flattened: event time in UTC, the event parameters
-- used downstream as columns, geo country mapped to ISO-3166 alpha-2.
-- Daily-partitioned: one run stages the days $partition_start..$partition_end (the day of the export
-- file, _partition_date), replacing exactly those days.
-- Input: raw.web_events (view over the GA4 Parquet export), ref.countries. Parameters: $as_of (date),
-- $partition_start, $partition_end (dates), $load_id (the run).
-- With config lake.web_events it runs in lake.web_events instead, in a worker's own in-memory DuckDB
-- (assets/lake/), which writes each day's rows to a Parquet file; staging.web_events loads those files.
-- Quarantined: no event_timestamp or user_pseudo_id or event_name, event time in the future.
-- Defects (value nulled, row kept): a geo country name that is not an ISO-3166 country.

with raw_events as (
    select * from raw.web_events
    where _partition_date between $partition_start and $partition_end
),

country_names as (
    select distinct lookup_name, alpha2 from ref.countries
),

flattened as (
    select
        _row_id,
        _source_file,
        _partition_date,
        user_pseudo_id || ':' || event_timestamp               as _record_key,
        -- who
        nullif(user_id, '')                                    as user_id,
        nullif(user_pseudo_id, '')                             as user_pseudo_id,
        -- what and when
        event_name,
        make_timestamp(event_timestamp)                        as event_at,
        strptime(event_date, '%Y%m%d')::date                   as event_date,
        event_params,
        -- context
        geo.country                                            as geo_country_name,
        geo.region                                             as geo_region,
        geo.city                                               as geo_city,
        device.category                                        as device_category,
        traffic_source.source                                  as traffic_source,
        traffic_source.medium                                  as traffic_medium,
        traffic_source.name                                    as traffic_campaign,
        ecommerce.transaction_id                               as transaction_id,
        ecommerce.purchase_revenue                             as purchase_revenue_usd
    from raw_events
)

select
    -- who
    user_id,
    user_pseudo_id,
    -- what and when
    event_name,
    event_at,
    event_date,
    param(event_params, 'ga_session_id').int_value           as ga_session_id,
    param(event_params, 'page_location').string_value        as page_location,
    param(event_params, 'engagement_time_msec').int_value    as engagement_time_msec,
    -- context
    country_names.alpha2                                       as geo_country_code,
    geo_region,
    geo_city,
    device_category,
    traffic_source,
    traffic_medium,
    traffic_campaign,
    transaction_id,
    purchase_revenue_usd,
    -- quality bookkeeping
    _record_key,
    _row_id,
    _source_file,
    $load_id                                                   as _load_id,
    _partition_date,
    case
        when event_at is null or user_pseudo_id is null or event_name is null then 'missing_key'
        when event_at > $as_of::date + interval 1 day then 'future_timestamp'
    end                                                        as _reject_rule,
    case
        when event_at is null or user_pseudo_id is null or event_name is null then 'event_timestamp, user_pseudo_id or event_name is empty'
        when event_at > $as_of::date + interval 1 day then 'event time ' || event_at::varchar || ' is after the run date'
    end                                                        as _reject_reason,
    case
        when geo_country_name is not null and geo_country_name != '' and country_names.alpha2 is null
            then [defect('geo_country_code', 'unknown_country', geo_country_name)]
        else []
    end                                                        as _defects
from flattened
left join country_names
    on lower(flattened.geo_country_name) = country_names.lookup_name
