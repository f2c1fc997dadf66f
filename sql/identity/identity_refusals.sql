-- quality.identity_refusals: one row per identifier value that was NOT used to merge records, and why.
-- Rules:
--   cap          a value linked to more than $max_links distinct identifiers of one other type (an
--                email on many CRM contacts, a cookie shared by many logins) is a shared value, not a
--                person; its records keep their other identifiers.
--   placeholder  a placeholder value (ref.blocked_identifiers, or only zeros) found in the staged
--                sources: it never reaches staging.identity_links (staging nulls placeholder emails and
--                records them in quality.defects); linked_type 'record' counts the records carrying it.
-- Input: staging.identity_links, quality.defects, staging.crm_contacts, staging.web_session_days,
-- ref.blocked_identifiers. Parameter: $max_links.

with web_identifiers as materialized (
    -- the distinct cookie / login pairs of the web events: a record is a cookie, so the pairs carry
    -- every (value, record) combination the events do
    select distinct user_pseudo_id, user_id from staging.web_session_days
),

pairs as (
    -- identifiers that appear together on one record
    select distinct a.id_type, a.id_value, b.id_type as linked_type, b.id_value as linked_value
    from staging.identity_links a
    join staging.identity_links b
        on a.source = b.source and a.record_key = b.record_key and a.id_type != b.id_type
),

capped as (
    select
        id_type,
        id_value,
        linked_type,
        count(*)                                                        as linked_values,
        'cap'                                                           as rule,
        'linked to ' || count(*) || ' distinct ' || linked_type || ' values (cap ' || $max_links || ')' as reason
    from pairs
    group by id_type, id_value, linked_type
    having count(*) > $max_links
),

placeholder_values as (
    select 'email' as id_type, lower(trim(coalesce(original_value, ''))) as id_value, table_name || ':' || record_key as record
    from quality.defects
    where rule = 'placeholder_email'
    union all
    select 'web_user', lower(trim(web_user_id)), 'crm_contacts:' || contact_id from staging.crm_contacts
    where web_user_id is not null
    union all
    select 'web_user', lower(trim(user_id)), 'web_events:' || user_pseudo_id from web_identifiers where user_id is not null
    union all
    select distinct 'cookie', lower(trim(user_pseudo_id)), 'web_events:' || user_pseudo_id from web_identifiers
),

placeholders as (
    select
        id_type,
        id_value,
        'record'                                                        as linked_type,
        count(distinct record)                                          as linked_values,
        'placeholder'                                                   as rule,
        'placeholder value on ' || count(distinct record) || ' records: never used to link (identity.blocked_values)' as reason
    from placeholder_values
    where id_value in (select value from ref.blocked_identifiers) or regexp_full_match(id_value, '[0\s._-]*')
    group by id_type, id_value
)

select id_type, id_value, linked_type, linked_values, rule, reason from capped
union all
select id_type, id_value, linked_type, linked_values, rule, reason from placeholders
order by rule, id_type, id_value
