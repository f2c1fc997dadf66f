-- staging.identity_links: one row per staged source record and identifier it carries.
-- Identifier types: crm_contact (Record ID), email (normalized), web_user (website login id,
-- GA4 user_id), cookie (GA4 user_pseudo_id), record (a record carrying no usable identifier, so it
-- still becomes a customer of its own: orphans are customers too).
-- Record keys: the source's key (contact id, order id, response id, cookie); for email events the salted
-- hash of the recipient email, for A/B assignments experiment id || '|' || that hash. Parameter: $pii_salt.
-- Inputs: staging.crm_contacts, crm_orders, survey_responses, email_events, ab_assignments,
-- web_session_days (the web events' cookies and logins); ref.blocked_identifiers (placeholders that never link; values made only of zeros and
-- separators never link either).

with web_identifiers as materialized (
    -- the distinct cookie / login pairs of the web events (one scan of their session days for both link types)
    select distinct user_pseudo_id, user_id from staging.web_session_days
),

links as (
    -- CRM contacts: the contact id, its email and its website login
    select 'crm_contacts' as source, contact_id::varchar as record_key, 'crm_contact' as id_type, contact_id::varchar as id_value
    from staging.crm_contacts
    union all
    select 'crm_contacts', contact_id::varchar, 'email', email from staging.crm_contacts
    union all
    select 'crm_contacts', contact_id::varchar, 'web_user', web_user_id from staging.crm_contacts

    -- orders: the buyer's contact id (if any) and checkout email
    union all
    select 'crm_orders', order_id, 'crm_contact', contact_id::varchar from staging.crm_orders
    union all
    select 'crm_orders', order_id, 'email', email from staging.crm_orders

    -- surveys, email events and A/B assignments: the email
    union all
    select 'survey_responses', response_id, 'email', email from staging.survey_responses
    union all
    -- (their record keys carry the salted hash of the email, never the email, hashed once per distinct email: marts.customer_identity
    -- is analyst-facing; staging.email_events.recipient_key / ab_assignments.assignment_key match them)
    select 'email_events', pii_hash(email, $pii_salt), 'email', email from (select distinct email from staging.email_events)
    union all
    select 'ab_assignments', experiment_id || '|' || pii_hash(email, $pii_salt), 'email', email from staging.ab_assignments

    -- web: a cookie is a record; it links to the logins seen on it
    union all
    select distinct 'web_events', user_pseudo_id, 'cookie', user_pseudo_id from web_identifiers
    union all
    select distinct 'web_events', user_pseudo_id, 'web_user', user_id from web_identifiers where user_id is not null
),

usable as (
    select *
    from links
    where id_value is not null
      and lower(trim(id_value)) not in (select value from ref.blocked_identifiers)
      and not regexp_full_match(lower(trim(id_value)), '[0\s._-]*')   -- empty or all zeros ('0000', '0.0')
),

records_without_identifier as (
    select distinct links.source, links.record_key, 'record' as id_type, links.source || ':' || links.record_key as id_value
    from links
    anti join usable on usable.source = links.source and usable.record_key = links.record_key
)

select source, record_key, id_type, id_value from usable
union all
select source, record_key, id_type, id_value from records_without_identifier
