-- staging.deletion_requests: one row per erasure request of the deletion-request file (optional
-- source). Only the salted hash of the identifier exists: raw.deletion_requests already holds
-- '<id_type>:<hash>' (assets/ingest/raw.py, pipelines/privacy.py); the request is matched against the
-- identity graph by hash (assets/privacy/erasure.py) and the audit never sees the identifier itself.
-- Input: raw.deletion_requests.
-- Columns: identifier_hash, id_type (email or crm_contact), requested_at (UTC).
-- Quarantined: an identifier that is neither a valid email nor an integer Record ID, no parseable
-- request time. A request dated after the run date is processed anyway (erasure never waits).

with raw_requests as (
    select * from raw.deletion_requests
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        identifier                                         as _record_key,
        nullif(split_part(identifier, ':', 2), '')         as identifier_hash,
        case when split_part(identifier, ':', 1) in ('email', 'crm_contact')
             then split_part(identifier, ':', 1) end       as id_type,
        requested_at                                       as requested_at_as_exported,
        utc_timestamp(requested_at)                        as requested_at
    from raw_requests
)

select
    identifier_hash,
    id_type,
    requested_at,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when id_type is null or identifier_hash is null then 'invalid_identifier'
        when requested_at is null then 'invalid_timestamp'
    end                                                    as _reject_rule,
    case
        when id_type is null or identifier_hash is null then 'Customer Identifier is neither a valid email nor a CRM Record ID'
        when requested_at is null then 'Requested At is empty or not a timestamp: ' || coalesce(requested_at_as_exported, 'NULL')
    end                                                    as _reject_reason,
    []::struct(column_name varchar, rule varchar, original_value varchar)[] as _defects
from typed
