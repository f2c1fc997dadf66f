-- marts.customer_identity: one row per source record -> resolved customer_key.
-- A customer is a connected component of the identity graph; its key is a hash of the component's
-- highest-priority identifier (crm_contact, then email, web_user, cookie, record; ties by value), so
-- keys are stable across reruns. Components made only of cookies are anonymous visitors.
-- Inputs: staging.identity_links, staging.identity_nodes, staging.identity_components
-- (node -> component label), quality.identity_refusals.

with node_components as (
    select nodes.node_id, nodes.id_type, nodes.id_value, components.component
    from staging.identity_nodes nodes
    join staging.identity_components components using (node_id)
),

component_keys as (
    select
        component,
        'cus_' || left(md5(arg_min(id_type || ':' || id_value,
            [list_position(['crm_contact', 'email', 'web_user', 'cookie', 'record'], id_type)::varchar, id_value])), 16) as customer_key,
        bool_and(id_type = 'cookie')                                    as is_anonymous
    from node_components
    group by component
),

record_components as (
    -- a record belongs to the component of its highest-priority identifier that was not refused;
    -- a record whose identifiers were all refused becomes a customer of its own (never merged on them)
    select
        links.source,
        links.record_key,
        arg_min(node_components.component,
                (list_position(['crm_contact', 'email', 'web_user', 'cookie', 'record'], links.id_type), links.id_value))
            filter (where refused.id_value is null)                     as component,
        -- the identifier types it matched on, alphabetically (flags per type: no per-record sort)
        list_concat(
            case when bool_or(links.id_type = 'cookie' and refused.id_value is null) then ['cookie'] else [] end,
            case when bool_or(links.id_type = 'crm_contact' and refused.id_value is null) then ['crm_contact'] else [] end,
            case when bool_or(links.id_type = 'email' and refused.id_value is null) then ['email'] else [] end,
            case when bool_or(links.id_type = 'record' and refused.id_value is null) then ['record'] else [] end,
            case when bool_or(links.id_type = 'web_user' and refused.id_value is null) then ['web_user'] else [] end
        )                                                               as matched_on
    from staging.identity_links links
    join node_components using (id_type, id_value)
    left join quality.identity_refusals refused
        on refused.id_type = links.id_type and refused.id_value = links.id_value
    group by links.source, links.record_key
)

select
    record_components.source,
    record_components.record_key,
    coalesce(component_keys.customer_key,
             'cus_' || left(md5('record:' || record_components.source || ':' || record_components.record_key), 16)) as customer_key,
    coalesce(component_keys.is_anonymous, false)                        as is_anonymous,
    coalesce(record_components.matched_on, [])                          as matched_on
from record_components
left join component_keys using (component)
order by source, record_key
