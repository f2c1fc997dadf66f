-- staging.campaigns: one row per marketing campaign (key campaign_id).
-- Input: raw.campaigns.
-- Quarantined: no Campaign ID, repeated Campaign ID, unknown channel, no parseable start date.
-- Defects (value nulled, row kept): unparseable end date, end before start, unknown objective.

with raw_campaigns as (
    select * from raw.campaigns
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        campaign_id                                     as _record_key,
        blank_to_null(campaign_id)                      as campaign_id,
        blank_to_null(campaign_name)                    as campaign_name,
        lower(blank_to_null(channel))                   as channel,
        try_cast(trim(start_date) as date)              as start_date,
        end_date                                        as end_date_as_exported,
        try_cast(trim(end_date) as date)                as end_date_parsed,
        lower(blank_to_null(objective))                 as objective_as_exported,
        row_number() over (partition by blank_to_null(campaign_id) order by _row_id) > 1 as is_repeat
    from raw_campaigns
)

select
    campaign_id,
    campaign_name,
    channel,
    start_date,
    case when end_date_parsed >= start_date then end_date_parsed end                as end_date,
    case when objective_as_exported in ('acquisition', 'retention', 'reactivation')
        then objective_as_exported end                                              as objective,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when campaign_id is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when channel is null or channel not in ('email', 'paid_search', 'paid_social', 'display') then 'unknown_channel'
        when start_date is null then 'invalid_date'
    end                                                                             as _reject_rule,
    case
        when campaign_id is null then 'Campaign ID is empty'
        when is_repeat then 'Campaign ID ' || campaign_id || ' appears earlier in the file'
        when channel is null or channel not in ('email', 'paid_search', 'paid_social', 'display')
            then 'Channel ' || coalesce(channel, 'NULL') || ' is not one of email, paid_search, paid_social, display'
        when start_date is null then 'Start Date is empty or not a date'
    end                                                                             as _reject_reason,
    list_filter([
        case when end_date_as_exported is not null and trim(end_date_as_exported) != '' and end_date_parsed is null
             then defect('end_date', 'invalid_date', end_date_as_exported) end,
        case when end_date_parsed < start_date then defect('end_date', 'end_before_start', end_date_as_exported) end,
        case when objective_as_exported not in ('acquisition', 'retention', 'reactivation')
             then defect('objective', 'unknown_option', objective_as_exported) end
    ], lambda d: d is not null)                                                          as _defects
from typed
