-- staging.experiments: one row per A/B experiment (key experiment_id).
-- Input: raw.experiments.
-- Quarantined: no Experiment ID, repeated ID, no parseable start date, no control variant, a
-- conversion window that is missing or not a positive integer.
-- Defects (value nulled, row kept): unparseable end date or end before start.

with raw_experiments as (
    select * from raw.experiments
),

typed as (
    select
        _row_id,
        _source_file,
        _load_id,
        experiment_id                                         as _record_key,
        blank_to_null(experiment_id)                          as experiment_id,
        blank_to_null(experiment_name)                        as experiment_name,
        blank_to_null(campaign_id)                            as campaign_id,
        try_cast(trim(start_date) as date)                    as start_date,
        end_date                                              as end_date_as_exported,
        try_cast(trim(end_date) as date)                      as end_date_parsed,
        lower(blank_to_null(control_variant))                 as control_variant,
        try_cast(trim(conversion_window_days) as integer)     as conversion_window_days,
        row_number() over (partition by blank_to_null(experiment_id) order by _row_id) > 1 as is_repeat
    from raw_experiments
)

select
    experiment_id,
    experiment_name,
    campaign_id,
    start_date,
    case when end_date_parsed >= start_date then end_date_parsed end  as end_date,
    control_variant,
    conversion_window_days,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when experiment_id is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when start_date is null then 'invalid_date'
        when control_variant is null then 'missing_control'
        when conversion_window_days is null or conversion_window_days <= 0 then 'invalid_window'
    end                                                               as _reject_rule,
    case
        when experiment_id is null then 'Experiment ID is empty'
        when is_repeat then 'Experiment ID ' || experiment_id || ' appears earlier in the file'
        when start_date is null then 'Start Date is empty or not a date'
        when control_variant is null then 'Control Variant is empty'
        when conversion_window_days is null or conversion_window_days <= 0 then 'Conversion Window (days) must be a positive integer'
    end                                                               as _reject_reason,
    list_filter([
        case when end_date_as_exported is not null and trim(end_date_as_exported) != '' and end_date_parsed is null
             then defect('end_date', 'invalid_date', end_date_as_exported) end,
        case when end_date_parsed < start_date then defect('end_date', 'end_before_start', end_date_as_exported) end
    ], lambda d: d is not null)                                            as _defects
from typed
