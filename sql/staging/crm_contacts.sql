-- staging.crm_contacts: one row per CRM contact record (key contact_id), typed, email normalized,
-- timestamps in UTC.
-- Input: raw.crm_contacts, ref.countries, ref.blocked_identifiers. Parameter: $as_of (date).
-- Quarantined (whole row): no parseable Record ID, a repeated Record ID, no parseable Create Date.
-- Defects (value nulled, row kept): missing, placeholder (ref.blocked_identifiers) or invalid email,
-- unknown country code, implausible birth date (age < 13 or > 110), unparseable income / opt-in,
-- create date in the future.
-- Flagged (value kept, defect recorded): duplicate_contact, a contact whose normalized email already
-- belongs to an earlier-created contact (a second CRM record of one person; identity merges them).

with raw_contacts as (
    select * from raw.crm_contacts
),

countries as (
    select distinct alpha2 from ref.countries
),

blocked as (
    select value from ref.blocked_identifiers
),

typed as (
    select
        -- lineage
        _row_id,
        _source_file,
        _load_id,
        contact_id                                   as _record_key,
        -- ids
        try_cast(trim(contact_id) as bigint)         as contact_id,
        blank_to_null(web_user_id)                   as web_user_id,
        -- person (PII)
        blank_to_null(first_name)                    as first_name,
        blank_to_null(last_name)                     as last_name,
        email                                        as email_as_exported,
        normalize_email(email)                       as email_normalized,
        blank_to_null(phone)                         as phone,
        birth_date                                   as birth_date_as_exported,
        try_cast(trim(birth_date) as date)           as birth_date_parsed,
        -- demographics and geography
        lower(blank_to_null(gender))                 as gender,
        annual_income                                as annual_income_as_exported,
        try_cast(trim(annual_income) as double)      as annual_income_parsed,
        blank_to_null(city)                          as city,
        upper(blank_to_null(country_code))           as country_code_as_exported,
        blank_to_null(company_name)                  as company_name,
        lower(blank_to_null(lifecycle_stage))        as lifecycle_stage,
        -- consent
        marketing_opt_in                             as marketing_opt_in_as_exported,
        try_cast(trim(marketing_opt_in) as boolean)  as marketing_opt_in_parsed,
        utc_timestamp(opt_in_changed_at)             as opt_in_changed_at,
        -- dates
        created_at                                   as created_at_as_exported,
        utc_timestamp(created_at)                    as created_at_parsed
    from raw_contacts
),

checked as (
    select
        typed.*,
        row_number() over (partition by contact_id order by _row_id) > 1           as is_repeat,
        is_valid_email(email_normalized)                                             as email_ok,
        email_normalized in (select value from blocked)                              as email_placeholder,
        -- a later record (by create date, then file order) of a valid email seen on another contact
        row_number() over (
            partition by case when is_valid_email(email_normalized) and email_normalized not in (select value from blocked)
                              then email_normalized end
            order by utc_timestamp(created_at_as_exported) nulls last, _row_id
        ) > 1 and is_valid_email(email_normalized) and email_normalized not in (select value from blocked)
                                                                                     as is_duplicate_contact,
        country_code_as_exported in (select alpha2 from countries)                   as country_ok,
        date_diff('year', birth_date_parsed, $as_of::date) between 13 and 110       as age_ok,
        created_at_parsed > $as_of::date + interval 1 day                            as created_in_future
    from typed
)

select
    -- ids
    contact_id,
    web_user_id,
    -- person (PII)
    first_name,
    last_name,
    case when email_ok and not email_placeholder then email_normalized end          as email,
    phone,
    case when age_ok then birth_date_parsed end                                      as birth_date,
    -- demographics and geography
    case when gender in ('female', 'male', 'non-binary') then gender end             as gender,
    case when annual_income_parsed >= 0 then annual_income_parsed end                as annual_income,
    city,
    case when country_ok then country_code_as_exported end                           as country_code,
    company_name,
    lifecycle_stage,
    -- consent
    marketing_opt_in_parsed                                                          as marketing_opt_in,
    opt_in_changed_at,
    -- dates
    case when not created_in_future then created_at_parsed end                       as created_at,
    -- quality bookkeeping
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when contact_id is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when created_at_parsed is null then 'invalid_timestamp'
    end                                                                              as _reject_rule,
    case
        when contact_id is null then 'Record ID is empty or not an integer'
        when is_repeat then 'Record ID ' || contact_id || ' appears earlier in the file'
        when created_at_parsed is null then 'Create Date is empty or not a timestamp: ' || coalesce(created_at_as_exported, 'NULL')
    end                                                                              as _reject_reason,
    list_filter([
        case when email_normalized is null then defect('email', 'missing_email', email_as_exported) end,
        case when email_placeholder then defect('email', 'placeholder_email', email_as_exported) end,
        case when email_normalized is not null and not email_placeholder and not email_ok then defect('email', 'invalid_email', email_as_exported) end,
        case when is_duplicate_contact then defect('email', 'duplicate_contact', email_as_exported) end,
        case when country_code_as_exported is not null and not country_ok then defect('country_code', 'unknown_country', country_code_as_exported) end,
        case when birth_date_as_exported is not null and birth_date_parsed is null then defect('birth_date', 'invalid_date', birth_date_as_exported) end,
        case when not age_ok then defect('birth_date', 'implausible_age', birth_date_as_exported) end,
        case when gender is not null and gender not in ('female', 'male', 'non-binary') then defect('gender', 'unknown_gender', gender) end,
        case when annual_income_as_exported is not null and annual_income_parsed is null then defect('annual_income', 'invalid_number', annual_income_as_exported) end,
        case when annual_income_parsed < 0 then defect('annual_income', 'negative_amount', annual_income_as_exported) end,
        case when marketing_opt_in_as_exported is not null and marketing_opt_in_parsed is null then defect('marketing_opt_in', 'invalid_boolean', marketing_opt_in_as_exported) end,
        case when created_in_future then defect('created_at', 'future_timestamp', created_at_as_exported) end
    ], lambda d: d is not null)                                                            as _defects
from checked
