-- marts.customer_consent: the consent in force per customer and purpose on the run date.
-- Grain: one row per resolved customer and purpose (email_marketing, ad_targeting, analytics) that has
-- at least one consent event; a customer/purpose without a row has NO consent (never assume consent).
-- Consent events, each resolved to a customer through the identity graph:
--   crm_opt_in / crm_opt_out: a CRM contact's Marketing Opt-In (email_marketing) at its Opt-In Date
--     (an opt-in without a date counts from the contact's create date; an opt-out without a date is
--     not an event: the contact simply never opted in);
--   email_unsubscribe: an unsubscribe in the email events (email_marketing withdrawn at that time);
--   consent_file: a row of the optional consent file (any purpose, granted or withdrawn).
-- Precedence: the latest event wins; at the same timestamp a withdrawal beats a grant, then the consent
-- file beats an email unsubscribe, which beats the CRM (the CRM records an unsubscribe as an opt-out
-- at the same time). Events after the run date are ignored.
-- Inputs: marts.customer_identity, staging.identity_links, staging.crm_contacts, staging.email_events,
-- staging.consents. Parameter: $as_of (date).

with identity as (
    select source, record_key, customer_key from marts.customer_identity where not is_anonymous
),

crm_events as (
    select
        identity.customer_key,
        'email_marketing'                                             as purpose,
        case when c.marketing_opt_in then 'granted' else 'withdrawn' end as status,
        coalesce(c.opt_in_changed_at, c.created_at)                   as decided_at,
        case when c.marketing_opt_in then 'crm_opt_in' else 'crm_opt_out' end as decided_by
    from staging.crm_contacts c
    join identity on identity.source = 'crm_contacts' and identity.record_key = c.contact_id::varchar
    where c.marketing_opt_in or (not c.marketing_opt_in and c.opt_in_changed_at is not null)
),

unsubscribe_events as (
    select identity.customer_key, 'email_marketing', 'withdrawn', e.occurred_at, 'email_unsubscribe'
    from staging.email_events e
    join identity on identity.source = 'email_events' and identity.record_key = e.recipient_key
    where e.event_type = 'unsubscribe'
),

identifier_customers as (
    -- identifier (email or CRM Record ID) -> customer, through the records that carry it
    select distinct links.id_type, links.id_value, identity.customer_key
    from staging.identity_links links
    join identity using (source, record_key)
    where links.id_type in ('email', 'crm_contact')
),

file_events as (
    select ic.customer_key, f.purpose, f.status, f.consented_at, 'consent_file'
    from staging.consents f
    join identifier_customers ic on ic.id_type = f.id_type and ic.id_value = f.identifier
),

events as (
    select * from crm_events
    union all select * from unsubscribe_events
    union all select * from file_events
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_key, purpose
            order by decided_at desc,
                     case status when 'withdrawn' then 0 else 1 end,
                     list_position(['consent_file', 'email_unsubscribe', 'crm_opt_out', 'crm_opt_in'], decided_by)
        )                                                              as recency_rank,
        count(*) over (partition by customer_key, purpose)              as events
    from events
    where decided_at < $as_of::date + interval 1 day
)

select
    customer_key,
    purpose,
    status,
    decided_at,
    decided_by,
    events
from ranked
where recency_rank = 1
order by customer_key, purpose
