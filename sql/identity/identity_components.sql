-- One step of connected-components label propagation over staging.identity_edges: every node takes
-- the smallest label among itself and its neighbours. The identity asset repeats this step until no
-- label changes (at most the graph's diameter), then stores staging.identity_components.
-- Input: _labels (node_id, component), staging.identity_edges.

select
    labels.node_id,
    least(labels.component, coalesce(min(neighbours.component), labels.component)) as component
from _labels labels
left join staging.identity_edges edges on edges.a = labels.node_id
left join _labels neighbours on neighbours.node_id = edges.b
group by labels.node_id, labels.component
