-- quality.identity_refusals: one row per identifier value that was NOT used to merge records, and why.
-- Rule: a value linked to more than $max_links distinct identifiers of one other type (an email on
-- many CRM contacts, a cookie shared by many logins) is a shared or placeholder value, not a person.
-- (Blocked placeholder values never reach the links; see ref.blocked_identifiers.)
-- Input: staging.identity_links. Parameter: $max_links.

with pairs as (
    -- identifiers that appear together on one record
    select distinct a.id_type, a.id_value, b.id_type as linked_type, b.id_value as linked_value
    from staging.identity_links a
    join staging.identity_links b
        on a.source = b.source and a.record_key = b.record_key and a.id_type != b.id_type
)

select
    id_type,
    id_value,
    linked_type,
    count(*)                                                            as linked_values,
    'linked to ' || count(*) || ' distinct ' || linked_type || ' values (cap ' || $max_links || ')' as reason
from pairs
group by id_type, id_value, linked_type
having count(*) > $max_links
