-- staging.email_events: one row per email event (key event_id): send, open, click, unsubscribe or
-- bounce of one campaign email to one recipient, time in UTC.
-- recipient_key: salted hash of the normalized recipient email (pipelines/privacy.py), the record key of
-- email events in marts.customer_identity, so no email is needed to join events to customers.
-- Daily-partitioned like the export (one file per day): a run stages the days
-- $partition_start..$partition_end (_partition_date, the file's day), replacing exactly those days.
-- Input: raw.email_events, staging.campaigns. Parameters: $as_of (date), $pii_salt, $partition_start,
-- $partition_end (dates).
-- Quarantined: no Event ID, repeated Event ID (seen on an earlier day or earlier in the same file; the
-- first occurrence is kept), unknown event type, no usable recipient email (the event cannot be tied
-- to anyone), no parseable or a future timestamp.
-- Flagged (value kept, defect recorded): orphan_campaign, a campaign id not in staging.campaigns; the
-- row stays and the referential-integrity check measures the orphan rate.

with run_rows as (
    select * from raw.email_events
    where _partition_date between $partition_start and $partition_end
),

repeats as (
    -- the run's rows whose Event ID occurs before them, in file order over every loaded day up to the
    -- run's last (only the run's Event IDs are looked up; a later day cannot hold an earlier occurrence)
    select _source_file, _row_id
    from (
        select
            _source_file,
            _row_id,
            _partition_date,
            row_number() over (partition by blank_to_null(event_id) order by _partition_date, _source_file, _row_id) as occurrence
        from raw.email_events
        where _partition_date <= $partition_end
          and blank_to_null(event_id) in (select blank_to_null(event_id) from run_rows)
    )
    where occurrence > 1 and _partition_date between $partition_start and $partition_end
),

typed as (
    select
        run_rows._row_id,
        run_rows._source_file,
        _load_id,
        _partition_date,
        event_id                                        as _record_key,
        blank_to_null(event_id)                         as event_id,
        blank_to_null(campaign_id)                      as campaign_id,
        email                                           as email_as_exported,
        normalize_email(email)                          as email,
        lower(blank_to_null(event_type))                as event_type,
        occurred_at                                     as occurred_at_as_exported,
        utc_timestamp(occurred_at)                      as occurred_at,
        repeats._row_id is not null                     as is_repeat
    from run_rows
    left join repeats using (_source_file, _row_id)
)

select
    event_id,
    campaign_id,
    email,
    pii_hash(email, $pii_salt)                          as recipient_key,
    event_type,
    occurred_at,
    _record_key,
    _row_id,
    _source_file,
    _load_id,
    _partition_date,
    case
        when event_id is null or campaign_id is null then 'missing_key'
        when is_repeat then 'duplicate_key'
        when event_type is null or event_type not in ('send', 'open', 'click', 'unsubscribe', 'bounce') then 'unknown_event_type'
        when email is null or not is_valid_email(email) then 'invalid_email'
        when occurred_at is null then 'invalid_timestamp'
        when occurred_at > $as_of::date + interval 1 day then 'future_timestamp'
    end                                                 as _reject_rule,
    case
        when event_id is null or campaign_id is null then 'Event ID or Campaign ID is empty'
        when is_repeat then 'Event ID ' || event_id || ' appears earlier (an earlier day, or earlier in the file)'
        when event_type is null or event_type not in ('send', 'open', 'click', 'unsubscribe', 'bounce')
            then 'Event Type ' || coalesce(event_type, 'NULL') || ' is not send, open, click, unsubscribe or bounce'
        when email is null or not is_valid_email(email) then 'Recipient Email is not a valid address: ' || coalesce(email_as_exported, 'NULL')
        when occurred_at is null then 'Timestamp is empty or not a timestamp: ' || coalesce(occurred_at_as_exported, 'NULL')
        when occurred_at > $as_of::date + interval 1 day then 'Timestamp ' || occurred_at_as_exported || ' is after the run date'
    end                                                 as _reject_reason,
    case when campaign_id is not null and campaign_id not in (select campaign_id from staging.campaigns)
         then [defect('campaign_id', 'orphan_campaign', campaign_id)]
         else []::struct(column_name varchar, rule varchar, original_value varchar)[] end as _defects
from typed
