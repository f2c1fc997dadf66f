-- staging.ab_assignments: one row per experiment and assigned customer (key experiment_id, email).
-- Input: raw.ab_assignments. Parameter: $as_of (date).
-- Quarantined: experiment or variant missing, no valid customer email (the assignment cannot be
-- tied to anyone), repeated assignment of the same customer, no parseable or a future time.
-- Orphans (experiment not in experiments) stay here and are measured by a referential check.

with raw_assignments as (
    select * from raw.ab_assignments
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        concat_ws('|', experiment_id, email)            as _record_key,
        blank_to_null(experiment_id)                    as experiment_id,
        lower(blank_to_null(variant))                   as variant,
        email                                           as email_as_exported,
        normalize_email(email)                          as email,
        assigned_at                                     as assigned_at_as_exported,
        utc_timestamp(assigned_at)                      as assigned_at
    from raw_assignments
),

checked as (
    select
        typed.*,
        row_number() over (partition by experiment_id, email order by _row_id) > 1 as is_repeat
    from typed
)

select
    experiment_id,
    variant,
    email,
    assigned_at,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when experiment_id is null or variant is null then 'missing_key'
        when email is null or not is_valid_email(email) then 'invalid_email'
        when is_repeat then 'duplicate_key'
        when assigned_at is null then 'invalid_timestamp'
        when assigned_at > $as_of::date + interval 1 day then 'future_timestamp'
    end                                                 as _reject_rule,
    case
        when experiment_id is null or variant is null then 'Experiment ID or Variant is empty'
        when email is null or not is_valid_email(email) then 'Customer Email is not a valid address: ' || coalesce(email_as_exported, 'NULL')
        when is_repeat then email || ' is assigned to ' || experiment_id || ' earlier in the file'
        when assigned_at is null then 'Assigned At is empty or not a timestamp: ' || coalesce(assigned_at_as_exported, 'NULL')
        when assigned_at > $as_of::date + interval 1 day then 'Assigned At ' || assigned_at_as_exported || ' is after the run date'
    end                                                 as _reject_reason,
    []::struct(column_name varchar, rule varchar, original_value varchar)[] as _defects
from checked
