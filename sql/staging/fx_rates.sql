-- staging.fx_rates: one row per day and currency (key rate_date, currency): USD value of one unit.
-- Input: raw.fx_rates, ref.currencies.
-- Quarantined: unparseable date, non-ISO currency, rate missing or not positive, repeated key.

with raw_rates as (
    select * from raw.fx_rates
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        rate_date || '|' || currency                 as _record_key,
        try_cast(trim(rate_date) as date)            as rate_date,
        upper(blank_to_null(currency))               as currency,
        try_cast(trim(usd_per_unit) as double)       as usd_per_unit
    from raw_rates
),

checked as (
    select
        typed.*,
        row_number() over (partition by rate_date, currency order by _row_id) > 1  as is_repeat
    from typed
)

select
    rate_date,
    currency,
    usd_per_unit,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when rate_date is null or currency is null then 'missing_key'
        when currency not in (select code from ref.currencies) then 'unknown_currency'
        when usd_per_unit is null or usd_per_unit <= 0 then 'invalid_amount'
        when is_repeat then 'duplicate_key'
    end                                                           as _reject_rule,
    case
        when rate_date is null or currency is null then 'Date or Currency is empty or unparseable'
        when currency not in (select code from ref.currencies) then 'Currency ' || currency || ' is not an ISO-4217 code'
        when usd_per_unit is null or usd_per_unit <= 0 then 'USD per Unit is missing or not positive'
        when is_repeat then 'rate for ' || currency || ' on ' || rate_date::varchar || ' appears earlier in the file'
    end                                                           as _reject_reason,
    []::struct(column_name varchar, rule varchar, original_value varchar)[] as _defects
from checked
