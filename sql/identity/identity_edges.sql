-- staging.identity_edges: one row per pair of identifiers that the same record links (star from the
-- record's first identifier), after refusing capped values. Both directions, integer node ids.
-- Inputs: staging.identity_nodes, staging.identity_links, quality.identity_refusals.

with usable_links as (
    select links.source, links.record_key, nodes.node_id
    from staging.identity_links links
    join staging.identity_nodes nodes using (id_type, id_value)
    anti join quality.identity_refusals refused
        on refused.id_type = links.id_type and refused.id_value = links.id_value
),

stars as (
    select node_id, min(node_id) over (partition by source, record_key) as hub
    from usable_links
)

select distinct node_id as a, hub as b from stars where node_id != hub
union
select distinct hub as a, node_id as b from stars where node_id != hub
