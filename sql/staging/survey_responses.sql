-- staging.survey_responses: one row per survey response (key response_id), answers typed.
-- Input: raw.survey_responses, ref.blocked_identifiers. Parameter: $as_of (date).
-- Quarantined: no Response ID, repeated Response ID, no parseable or a future submission time.
-- Defects (value nulled, row kept): Likert answers outside 1-5, NPS outside 0-10, unparseable
-- answers, an unknown multiple-choice option, a placeholder (ref.blocked_identifiers) or invalid email.

with raw_responses as (
    select * from raw.survey_responses
),

typed as (
    select
        raw_responses.*,
        response_id                                  as _record_key,
        blank_to_null(response_id)                   as response_id_clean,
        utc_timestamp(submitted_at)                  as submitted_at_utc,
        normalize_email(email)                       as email_normalized,
        normalize_email(email) in (select value from ref.blocked_identifiers) as email_placeholder,
        lower(blank_to_null(main_interest))          as main_interest_clean,
        row_number() over (partition by blank_to_null(response_id) order by _row_id) > 1 as is_repeat
    from raw_responses
)

select
    -- ids
    response_id_clean                                                   as response_id,
    submitted_at_utc                                                    as submitted_at,
    case when is_valid_email(email_normalized) and not email_placeholder then email_normalized end as email,
    -- values, interests and lifestyle (Likert 1-5)
    score_in_range(value_sustainability, 1, 5)                          as value_sustainability,
    score_in_range(value_price, 1, 5)                                   as value_price,
    score_in_range(value_prestige, 1, 5)                                as value_prestige,
    score_in_range(interest_novelty, 1, 5)                              as interest_novelty,
    score_in_range(lifestyle_active, 1, 5)                              as lifestyle_active,
    score_in_range(lifestyle_digital, 1, 5)                             as lifestyle_digital,
    case when main_interest_clean in ('outdoors', 'technology', 'fashion', 'home', 'wellness')
        then main_interest_clean end                                    as main_interest,
    -- loyalty (Net Promoter Score answer 0-10)
    score_in_range(nps_score, 0, 10)                                    as nps_score,
    -- quality bookkeeping
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    case
        when response_id_clean is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when submitted_at_utc is null then 'invalid_timestamp'
        when submitted_at_utc > $as_of::date + interval 1 day then 'future_timestamp'
    end                                                                 as _reject_rule,
    case
        when response_id_clean is null then 'Response ID is empty'
        when is_repeat then 'Response ID ' || response_id_clean || ' appears earlier in the file'
        when submitted_at_utc is null then 'Submitted At is empty or not a timestamp: ' || coalesce(submitted_at, 'NULL')
        when submitted_at_utc > $as_of::date + interval 1 day then 'Submitted At ' || submitted_at || ' is after the run date'
    end                                                                 as _reject_reason,
    list_filter([
        score_defect('value_sustainability', value_sustainability, 1, 5, 'likert_out_of_range'),
        score_defect('value_price', value_price, 1, 5, 'likert_out_of_range'),
        score_defect('value_prestige', value_prestige, 1, 5, 'likert_out_of_range'),
        score_defect('interest_novelty', interest_novelty, 1, 5, 'likert_out_of_range'),
        score_defect('lifestyle_active', lifestyle_active, 1, 5, 'likert_out_of_range'),
        score_defect('lifestyle_digital', lifestyle_digital, 1, 5, 'likert_out_of_range'),
        score_defect('nps_score', nps_score, 0, 10, 'nps_out_of_range'),
        case when email_placeholder then defect('email', 'placeholder_email', email) end,
        case when email_normalized is not null and not email_placeholder and not is_valid_email(email_normalized)
             then defect('email', 'invalid_email', email) end,
        case when main_interest_clean is not null
                  and main_interest_clean not in ('outdoors', 'technology', 'fashion', 'home', 'wellness')
             then defect('main_interest', 'unknown_option', main_interest) end
    ], lambda d: d is not null)                                              as _defects
from typed
