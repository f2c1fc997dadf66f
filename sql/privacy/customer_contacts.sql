-- pii.customer_contacts: RESTRICTED. One row per resolved (non-anonymous) customer with a usable email or
-- a CRM contact: the direct identifiers of the person, keyed by customer_key. The only table outside
-- raw/staging/quality that holds PII; analysts use marts (customer_key, email_hash) instead, and the
-- audience exports read the email from here (docs/PRIVACY.md).
-- Email: the CRM contact email (latest created contact with a valid email), else an email seen in
-- another source (order checkout, survey, email recipient, A/B assignment; latest first, ties by
-- email). Invalid emails and placeholders (ref.blocked_identifiers) are never used.
-- Names, phone, birth date: from the customer's latest created CRM contact that has them.
-- email_hash: salted hash of the normalized email (macro pii_hash, salt from pipelines/privacy.py).
-- Inputs: marts.customer_identity, staging.crm_contacts, crm_orders, survey_responses, email_events,
-- ab_assignments, ref.blocked_identifiers. Parameter: $pii_salt.

with identity as (
    select source, record_key, customer_key from marts.customer_identity where not is_anonymous
),

contacts as (
    select identity.customer_key, c.*
    from staging.crm_contacts c
    join identity on identity.source = 'crm_contacts' and identity.record_key = c.contact_id::varchar
),

candidate_emails as (
    select customer_key, 1 as priority, created_at as seen_at, email from contacts
    union all
    select identity.customer_key, 2, o.ordered_at, o.email
    from staging.crm_orders o
    join identity on identity.source = 'crm_orders' and identity.record_key = o.order_id
    union all
    select identity.customer_key, 2, s.submitted_at, s.email
    from staging.survey_responses s
    join identity on identity.source = 'survey_responses' and identity.record_key = s.response_id
    union all
    select identity.customer_key, 2, max(e.occurred_at), e.email
    from staging.email_events e
    join identity on identity.source = 'email_events' and identity.record_key = e.recipient_key
    group by identity.customer_key, e.email
    union all
    select identity.customer_key, 2, a.assigned_at, a.email
    from staging.ab_assignments a
    join identity on identity.source = 'ab_assignments' and identity.record_key = a.assignment_key
),

usable_emails as (
    select *
    from candidate_emails
    where email is not null
      and is_valid_email(email)
      and lower(trim(email)) not in (select value from ref.blocked_identifiers)
),

contact_email as (
    select
        customer_key,
        arg_min(email, (priority, -epoch(coalesce(seen_at, '1970-01-01'::timestamp)), email)) as email,
        arg_min(case priority when 1 then 'crm_contact' else 'other_source' end,
                (priority, -epoch(coalesce(seen_at, '1970-01-01'::timestamp)), email))        as email_source
    from usable_emails
    group by customer_key
),

person as (
    select
        customer_key,
        arg_max(first_name, created_at) filter (where first_name is not null) as first_name,
        arg_max(last_name, created_at) filter (where last_name is not null)   as last_name,
        arg_max(phone, created_at) filter (where phone is not null)           as phone,
        arg_max(birth_date, created_at) filter (where birth_date is not null) as birth_date
    from contacts
    group by customer_key
)

select
    -- key
    coalesce(contact_email.customer_key, person.customer_key)  as customer_key,
    -- contact
    contact_email.email,
    pii_hash(contact_email.email, $pii_salt)                   as email_hash,
    contact_email.email_source,
    -- person
    person.first_name,
    person.last_name,
    person.phone,
    person.birth_date
from contact_email
full join person using (customer_key)
order by customer_key
