-- staging.crm_orders: one row per order (key order_id), typed, amounts converted to USD with the
-- rate of the order day (original amount and currency kept), timestamps in UTC.
-- Input: raw.crm_orders, staging.fx_rates, ref.currencies, ref.blocked_identifiers. Parameter: $as_of (date).
-- Quarantined (whole row): no Order ID, repeated Order ID, no parseable Order Date, an order date in
-- the future, an amount that is missing, not a number or negative, a currency that is not ISO-4217
-- or has no exchange rate.
-- Defects (value nulled, row kept): missing (blank), placeholder (ref.blocked_identifiers) or invalid
-- email, unparseable contact id, unknown status/channel.
-- Flagged (value kept, defect recorded): a currency written in non-canonical case ('eur'), upper-cased.

with raw_orders as (
    select * from raw.crm_orders
),

fx_rates as (
    select * from staging.fx_rates
),

currencies as (
    select code from ref.currencies
),

blocked as (
    select value from ref.blocked_identifiers
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        order_id                                     as _record_key,
        -- ids
        blank_to_null(order_id)                      as order_id,
        contact_id                                   as contact_id_as_exported,
        try_cast(trim(contact_id) as bigint)         as contact_id_parsed,
        email                                        as email_as_exported,
        normalize_email(email)                       as email_normalized,
        -- when
        ordered_at                                   as ordered_at_as_exported,
        utc_timestamp(ordered_at)                    as ordered_at,
        -- amounts
        amount                                       as amount_as_exported,
        try_cast(trim(amount) as decimal(18, 2))     as amount,
        blank_to_null(currency)                      as currency_as_exported,
        upper(blank_to_null(currency))               as currency,
        lower(blank_to_null(status))                 as status_as_exported,
        lower(blank_to_null(sales_channel))          as sales_channel_as_exported
    from raw_orders
),

with_rates as (
    -- rate of the latest day on or before the order day
    select typed.*, fx_rates.usd_per_unit
    from typed
    asof left join fx_rates
        on typed.currency = fx_rates.currency
        and typed.ordered_at::date >= fx_rates.rate_date
),

checked as (
    select
        with_rates.*,
        row_number() over (partition by order_id order by _row_id) > 1  as is_repeat,
        is_valid_email(email_normalized)                                 as email_ok,
        email_normalized in (select value from blocked)                  as email_placeholder,
        currency in (select code from currencies)                        as currency_ok
    from with_rates
)

select
    -- ids
    order_id,
    contact_id_parsed                                                           as contact_id,
    case when email_ok and not email_placeholder then email_normalized end      as email,
    -- when
    ordered_at,
    -- amounts
    amount,
    currency,
    round(amount * usd_per_unit, 2)::decimal(18, 2)                             as amount_usd,
    case when status_as_exported in ('completed', 'refunded', 'cancelled') then status_as_exported end as status,
    case when sales_channel_as_exported in ('web', 'store', 'phone') then sales_channel_as_exported end as sales_channel,
    -- quality bookkeeping
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when order_id is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when ordered_at is null then 'invalid_timestamp'
        when ordered_at > $as_of::date + interval 1 day then 'future_timestamp'
        when amount is null then 'invalid_amount'
        when amount < 0 then 'negative_amount'
        when not currency_ok or currency is null then 'unknown_currency'
        when usd_per_unit is null then 'missing_fx_rate'
    end                                                                         as _reject_rule,
    case
        when order_id is null then 'Order ID is empty'
        when is_repeat then 'Order ID ' || order_id || ' appears earlier in the file'
        when ordered_at is null then 'Order Date is empty or not a timestamp: ' || coalesce(ordered_at_as_exported, 'NULL')
        when ordered_at > $as_of::date + interval 1 day then 'Order Date ' || ordered_at_as_exported || ' is after the run date ' || $as_of::varchar
        when amount is null then 'Amount is empty or not a number: ' || coalesce(amount_as_exported, 'NULL')
        when amount < 0 then 'Amount ' || amount_as_exported || ' is negative (refunds carry status refunded, not a negative amount)'
        when not currency_ok or currency is null then 'Currency ' || coalesce(currency, 'NULL') || ' is not an ISO-4217 code'
        when usd_per_unit is null then 'no exchange rate for ' || currency || ' on or before ' || ordered_at::date::varchar
    end                                                                         as _reject_reason,
    list_filter([
        case when email_normalized is null then defect('email', 'missing_email', email_as_exported) end,
        case when email_placeholder then defect('email', 'placeholder_email', email_as_exported) end,
        case when email_normalized is not null and not email_placeholder and not email_ok then defect('email', 'invalid_email', email_as_exported) end,
        case when currency_ok and currency_as_exported != currency then defect('currency', 'noncanonical_currency', currency_as_exported) end,
        case when contact_id_as_exported is not null and trim(contact_id_as_exported) != '' and contact_id_parsed is null then defect('contact_id', 'invalid_id', contact_id_as_exported) end,
        case when status_as_exported is not null and status_as_exported not in ('completed', 'refunded', 'cancelled') then defect('status', 'unknown_status', status_as_exported) end,
        case when sales_channel_as_exported is not null and sales_channel_as_exported not in ('web', 'store', 'phone') then defect('sales_channel', 'unknown_channel', sales_channel_as_exported) end
    ], lambda d: d is not null)                                                       as _defects
from checked
