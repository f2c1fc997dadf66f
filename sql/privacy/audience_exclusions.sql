-- marts.audience_exclusions: why customers in a segmentation are NOT in the audience exports.
-- Grain: one row per segmentation and reason, with the number of customers left out:
--   no_usable_email (nothing to upload), no_consent_record (never granted the export purpose),
--   unsubscribed (latest event an email unsubscribe), withdrawn_crm (CRM opt-out),
--   withdrawn_consent_file (withdrawn in the consent file).
-- The export purpose is config/pipeline.yaml privacy.audience_purpose ($audience_purpose).
-- Inputs: marts.customer_segments, pii.customer_contacts (only whether an email exists),
-- marts.customer_consent. Parameter: $audience_purpose.

with segments as (
    select customer_key, segmentation from marts.customer_segments
),

consent as (
    select customer_key, status, decided_by from marts.customer_consent where purpose = $audience_purpose
),

reasons as (
    select
        segments.segmentation,
        case
            when contacts.email is null then 'no_usable_email'
            when consent.status is null then 'no_consent_record'
            when consent.status = 'granted' then null
            when consent.decided_by = 'email_unsubscribe' then 'unsubscribed'
            when consent.decided_by = 'crm_opt_out' then 'withdrawn_crm'
            else 'withdrawn_consent_file'
        end as reason
    from segments
    left join pii.customer_contacts contacts using (customer_key)
    left join consent using (customer_key)
)

select segmentation, reason, count(*) as customers
from reasons
where reason is not null
group by segmentation, reason
order by segmentation, reason
