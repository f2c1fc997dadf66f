"""The identity graph: records -> identifiers -> connected components -> customer keys."""

import dagster as dg

from assets.sql_model import create_table, model_description, sql_table_asset
from assets.lake.web_events import SOURCE as LAKE_SOURCE
from assets.privacy.erasure import process_erasure, purge_lake
from pipelines.lake import lake_enabled
from pipelines.config import pipeline_config
from pipelines.privacy import pii_salt
from pipelines.resources import PipelineSettings, Warehouse, read_sql

# staged tables the identifiers come from (web cookies and logins: the session-day aggregate of the events)
LINKED_SOURCES = ["crm_contacts", "crm_orders", "survey_responses", "email_events", "ab_assignments", "web_session_days"]
MAX_LABEL_ITERATIONS = 100


def propagate_components(con) -> int:
    """Connected components by min-label propagation, each step one set-based query; returns steps."""
    con.execute("create or replace temp table _labels as select node_id, node_id as component from staging.identity_nodes")
    step_sql = read_sql("identity/identity_components.sql")
    for step in range(1, MAX_LABEL_ITERATIONS + 1):
        con.execute(f"create or replace temp table _next as {step_sql}")
        changed = con.execute(
            "select count(*) from _next join _labels using (node_id) where _next.component != _labels.component"
        ).fetchall()[0][0]
        con.execute("drop table _labels")
        con.execute("alter table _next rename to _labels")  # no copy of every label per step
        if changed == 0:
            break
    else:
        raise RuntimeError(f"identity graph did not converge in {MAX_LABEL_ITERATIONS} steps")
    con.execute("create or replace table staging.identity_components as select * from _labels order by node_id")
    con.execute("drop table _labels")
    return step


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["staging", "identity_links"], description=model_description("identity/identity_links.sql"),
                     deps=[["staging", s] for s in LINKED_SOURCES] + [["ref", "blocked_identifiers"]]
                     + [["staging", "deletion_requests"], ["staging", "consents"]], kinds={"duckdb"}),
        dg.AssetSpec(["quality", "identity_refusals"], description=model_description("identity/identity_refusals.sql"),
                     deps=[["staging", "identity_links"]], kinds={"duckdb"}),
        dg.AssetSpec(["staging", "identity_nodes"], description=model_description("identity/identity_nodes.sql"),
                     deps=[["staging", "identity_links"]], kinds={"duckdb"}),
        dg.AssetSpec(["staging", "identity_edges"], description=model_description("identity/identity_edges.sql"),
                     deps=[["staging", "identity_nodes"], ["quality", "identity_refusals"]], kinds={"duckdb"}),
        dg.AssetSpec(["staging", "identity_components"],
                     description="staging.identity_components: one row per identifier node with its connected "
                                 "component label (min-label propagation over staging.identity_edges, in DuckDB).",
                     deps=[["staging", "identity_edges"]], kinds={"duckdb"}),
        dg.AssetSpec(["marts", "customer_identity"], description=model_description("identity/customer_identity.sql"),
                     deps=[["staging", "identity_components"]], kinds={"duckdb"}),
    ],
    group_name="identity",
)
def identity_graph(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse):
    """Resolve one customer key per person across all sources (grain of the mart: one row per source
    record). Inputs: the staged tables that carry identifiers. Then process erasure requests
    (staging.deletion_requests): the requested people are resolved through the graph and purged from
    every layer (assets/privacy/erasure.py), inside the same transaction; then from the lake's files."""
    max_links = int(pipeline_config()["identity"]["max_links_per_value"])
    with warehouse.connect() as con:
        con.execute("begin transaction")
        salt = pii_salt()
        links = create_table(con, "staging.identity_links", "identity/identity_links.sql", {"pii_salt": salt})
        refusals = create_table(con, "quality.identity_refusals", "identity/identity_refusals.sql", {"max_links": max_links})
        nodes = create_table(con, "staging.identity_nodes", "identity/identity_nodes.sql")
        edges = create_table(con, "staging.identity_edges", "identity/identity_edges.sql")
        steps = propagate_components(con)
        records = create_table(con, "marts.customer_identity", "identity/customer_identity.sql")
        # erasure requests: resolved through the graph just built, purged everywhere (assets/privacy)
        erasure = process_erasure(con, salt, context.run_id)
        records = con.execute("select count(*) from marts.customer_identity").fetchall()[0][0]
        customers, anonymous = con.execute(
            "select count(distinct customer_key) filter (where not is_anonymous),"
            " count(distinct customer_key) filter (where is_anonymous) from marts.customer_identity"
        ).fetchall()[0]
        con.execute("commit")
        # files cannot join the transaction: purged after it, and again by the next run if cut short
        lake_rows_removed = purge_lake(con, settings.lake_path, salt, (LAKE_SOURCE,)) if lake_enabled() else 0
    yield dg.MaterializeResult(asset_key=["staging", "identity_links"], metadata={"dagster/row_count": links})
    yield dg.MaterializeResult(asset_key=["quality", "identity_refusals"], metadata={"dagster/row_count": refusals})
    yield dg.MaterializeResult(asset_key=["staging", "identity_nodes"], metadata={"dagster/row_count": nodes})
    yield dg.MaterializeResult(asset_key=["staging", "identity_edges"], metadata={"dagster/row_count": edges})
    yield dg.MaterializeResult(asset_key=["staging", "identity_components"],
                               metadata={"dagster/row_count": nodes, "propagation_steps": steps})
    yield dg.MaterializeResult(
        asset_key=["marts", "customer_identity"],
        metadata={"dagster/row_count": records, "customers": customers, "anonymous_visitors": anonymous,
                  "erasure_requests": erasure["requests"], "erasure_customers_removed": erasure["customers_erased"],
                  "erasure_rows_removed": erasure["rows_removed"], "erasure_lake_rows_removed": lake_rows_removed},
    )


customers = sql_table_asset(
    "marts.customers", "identity/customers.sql", deps=[["marts", "customer_identity"]], group="identity"
)
