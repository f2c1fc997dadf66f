-- staging.ab_assignments: one row per experiment and assigned customer (key experiment_id, email).
-- assignment_key: experiment id || '|' || salted hash of the normalized email (pipelines/privacy.py), the
-- record key of assignments in marts.customer_identity (no email in the mart).
-- Input: raw.ab_assignments, staging.experiments. Parameters: $as_of (date), $pii_salt.
-- Quarantined: experiment or variant missing, no valid customer email (the assignment cannot be
-- tied to anyone), repeated assignment of the same customer, no parseable or a future time.
-- Flagged (value kept, defect recorded): unknown_experiment, an experiment id not in
-- staging.experiments; the row stays and the referential-integrity check measures the orphan rate.

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
    experiment_id || '|' || pii_hash(email, $pii_salt)  as assignment_key,
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
    case when experiment_id is not null and experiment_id not in (select experiment_id from staging.experiments)
         then [defect('experiment_id', 'unknown_experiment', experiment_id)]
         else []::struct(column_name varchar, rule varchar, original_value varchar)[] end as _defects
from checked
