-- staging.identity_nodes: one row per distinct identifier (id_type, id_value) with an integer node id.
-- Input: staging.identity_links.

select
    row_number() over (order by id_type, id_value) as node_id,
    id_type,
    id_value
from (select distinct id_type, id_value from staging.identity_links)
