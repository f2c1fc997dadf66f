"""Serialize DuckDB writers: every asset and asset check of the code location runs in one Dagster
concurrency pool, `duckdb_writer`.

DuckDB allows one writing process per database file, and a second process that tries to open the
file fails with a lock error. The pool's limit (1, set in the instance's dagster.yaml:
`concurrency.pools.default_limit` or `dagster instance concurrency set duckdb_writer 1`) is enforced
by the instance across runs and executors, so two overlapping runs (a schedule tick and a UI
materialization, say) take turns step by step instead of failing, and the multiprocess executor runs
at most one warehouse step at a time.

The pool is applied here, once, to every definition, so an asset module cannot forget it. Dagster
1.13 has no public "set pool on an existing AssetsDefinition" (`with_attributes`/`map_asset_specs`
change specs, not the op), so `in_pool` rebuilds the op the way OpDefinition.with_replaced_properties
does, adding the pool; tests/test_ops_concurrency.py asserts every step of the job carries it.
"""
import dagster as dg
from dagster import In, Out

WRITER_POOL = "duckdb_writer"


def _op_in_pool(op: dg.OpDefinition, pool: str) -> dg.OpDefinition:
    return dg.OpDefinition.dagster_internal_init(
        name=op.name,
        ins={d.name: In.from_definition(d) for d in op.input_defs},
        outs={d.name: Out.from_definition(d) for d in op.output_defs},
        compute_fn=op.compute_fn,
        config_schema=op.config_schema,
        description=op.description,
        tags=op.tags,
        required_resource_keys=op.required_resource_keys,
        code_version=op.version,
        retry_policy=op.retry_policy,
        version=None,
        pool=pool,
    )


def in_pool(definition: dg.AssetsDefinition, pool: str = WRITER_POOL) -> dg.AssetsDefinition:
    """The same assets (or asset checks) whose op runs in `pool`. A definition that already names a
    pool keeps it; one that is not executable (external assets) is returned unchanged."""
    if not definition.is_executable or not isinstance(definition.node_def, dg.OpDefinition):
        return definition
    if definition.op.pool:
        return definition
    attributes = {**definition.get_attributes_dict(), "node_def": _op_in_pool(definition.op, pool)}
    return definition.__class__.dagster_internal_init(**attributes)


def all_in_pool(definitions: list, pool: str = WRITER_POOL) -> list:
    """Every assets or checks definition of the list, in the pool."""
    return [in_pool(d, pool) if isinstance(d, dg.AssetsDefinition) else d for d in definitions]
