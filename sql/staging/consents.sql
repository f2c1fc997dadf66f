-- staging.consents: one row per consent event of the consent file (optional source): a person, by
-- email or CRM Record ID, granting or withdrawing one purpose at a time (UTC).
-- Input: raw.consents, ref.blocked_identifiers. Parameter: $as_of (date).
-- Columns: identifier (normalized: trimmed, lower-cased), id_type (email or crm_contact), purpose
-- (email_marketing, ad_targeting, analytics), status (granted, withdrawn), consented_at.
-- Quarantined: an identifier that is neither a valid email nor an integer Record ID (or a placeholder),
-- an unknown purpose or status, no parseable or a future timestamp.

with raw_consents as (
    select * from raw.consents
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        concat_ws('|', identifier, purpose, consented_at)  as _record_key,
        lower(trim(identifier))                            as identifier,
        case
            when is_valid_email(lower(trim(identifier))) then 'email'
            when regexp_full_match(trim(identifier), '[0-9]+') then 'crm_contact'
        end                                                as id_type,
        lower(blank_to_null(purpose))                      as purpose,
        lower(blank_to_null(status))                       as status,
        consented_at                                       as consented_at_as_exported,
        utc_timestamp(consented_at)                        as consented_at
    from raw_consents
)

select
    identifier,
    id_type,
    purpose,
    status,
    consented_at,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when id_type is null or identifier in (select value from ref.blocked_identifiers) then 'invalid_identifier'
        when purpose is null or purpose not in ('email_marketing', 'ad_targeting', 'analytics') then 'unknown_purpose'
        when status is null or status not in ('granted', 'withdrawn') then 'unknown_status'
        when consented_at is null then 'invalid_timestamp'
        when consented_at > $as_of::date + interval 1 day then 'future_timestamp'
    end                                                    as _reject_rule,
    case
        when id_type is null or identifier in (select value from ref.blocked_identifiers)
            then 'Customer Identifier is neither a valid email nor a CRM Record ID: ' || coalesce(identifier, 'NULL')
        when purpose is null or purpose not in ('email_marketing', 'ad_targeting', 'analytics')
            then 'Purpose ' || coalesce(purpose, 'NULL') || ' is not email_marketing, ad_targeting or analytics'
        when status is null or status not in ('granted', 'withdrawn')
            then 'Status ' || coalesce(status, 'NULL') || ' is not granted or withdrawn'
        when consented_at is null then 'Timestamp is empty or not a timestamp: ' || coalesce(consented_at_as_exported, 'NULL')
        when consented_at > $as_of::date + interval 1 day then 'Timestamp ' || consented_at_as_exported || ' is after the run date'
    end                                                    as _reject_reason,
    []::struct(column_name varchar, rule varchar, original_value varchar)[] as _defects
from typed
