-- staging.ad_spend: one row per day, campaign and channel (key spend_date, campaign_id, channel):
-- spend in the original currency and in USD (rate of that day), impressions and clicks.
-- Input: raw.ad_spend, staging.fx_rates, ref.currencies. Parameter: $as_of (date).
-- Quarantined: a key part missing, repeated key, spend missing / not a number / negative,
-- a non-ISO currency or one without a rate, a day in the future.
-- Defects (value nulled, row kept): negative or unparseable impressions / clicks.

with raw_spend as (
    select * from raw.ad_spend
),

fx_rates as (
    select * from staging.fx_rates
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        concat_ws('|', spend_date, campaign_id, channel)   as _record_key,
        try_cast(trim(spend_date) as date)                 as spend_date,
        blank_to_null(campaign_id)                         as campaign_id,
        lower(blank_to_null(channel))                      as channel,
        spend                                              as spend_as_exported,
        try_cast(trim(spend) as decimal(18, 2))            as spend,
        upper(blank_to_null(currency))                     as currency,
        impressions                                        as impressions_as_exported,
        try_cast(trim(impressions) as bigint)              as impressions_parsed,
        clicks                                             as clicks_as_exported,
        try_cast(trim(clicks) as bigint)                   as clicks_parsed
    from raw_spend
),

with_rates as (
    select typed.*, fx_rates.usd_per_unit
    from typed
    asof left join fx_rates
        on typed.currency = fx_rates.currency
        and typed.spend_date >= fx_rates.rate_date
),

checked as (
    select
        with_rates.*,
        row_number() over (partition by spend_date, campaign_id, channel order by _row_id) > 1 as is_repeat
    from with_rates
)

select
    spend_date,
    campaign_id,
    channel,
    spend,
    currency,
    round(spend * usd_per_unit, 2)::decimal(18, 2)                   as spend_usd,
    case when impressions_parsed >= 0 then impressions_parsed end   as impressions,
    case when clicks_parsed >= 0 then clicks_parsed end             as clicks,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when spend_date is null or campaign_id is null or channel is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when spend_date > $as_of::date then 'future_timestamp'
        when spend is null then 'invalid_amount'
        when spend < 0 then 'negative_amount'
        when currency is null or currency not in (select code from ref.currencies) then 'unknown_currency'
        when usd_per_unit is null then 'missing_fx_rate'
    end                                                             as _reject_rule,
    case
        when spend_date is null or campaign_id is null or channel is null then 'Date, Campaign ID or Channel is empty or unparseable'
        when is_repeat then 'spend for ' || _record_key || ' appears earlier in the file'
        when spend_date > $as_of::date then 'Date ' || spend_date::varchar || ' is after the run date'
        when spend is null then 'Spend is empty or not a number: ' || coalesce(spend_as_exported, 'NULL')
        when spend < 0 then 'Spend ' || spend_as_exported || ' is negative'
        when currency is null or currency not in (select code from ref.currencies) then 'Currency ' || coalesce(currency, 'NULL') || ' is not an ISO-4217 code'
        when usd_per_unit is null then 'no exchange rate for ' || currency || ' on or before ' || spend_date::varchar
    end                                                             as _reject_reason,
    list_filter([
        case when impressions_as_exported is not null and trim(impressions_as_exported) != '' and (impressions_parsed is null or impressions_parsed < 0)
             then defect('impressions', 'invalid_count', impressions_as_exported) end,
        case when clicks_as_exported is not null and trim(clicks_as_exported) != '' and (clicks_parsed is null or clicks_parsed < 0)
             then defect('clicks', 'invalid_count', clicks_as_exported) end
    ], lambda d: d is not null)                                          as _defects
from checked
