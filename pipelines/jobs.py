"""Jobs. Steps run in one process: DuckDB allows one writing process per file, and per-step process
overhead (about 1.7 s with spawn on 2 cores) would dominate a graph of small SQL steps.

Runs of the job carry the run tag `warehouse: duckdb`; the instance's run queue (deploy/dagster.yaml,
`tag_concurrency_limits`) lets one such run at a time proceed, so a schedule tick that overlaps a
manual run waits in the queue. Inside and across runs every step also takes a slot of the
`duckdb_writer` pool (pipelines/concurrency.py). See docs/OPERATIONS.md.
"""

import dagster as dg

from pipelines.partitions import daily_partitions

WAREHOUSE_RUN_TAG = {"warehouse": "duckdb"}

segmentation_job = dg.define_asset_job(
    "segmentation_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    run_tags=WAREHOUSE_RUN_TAG,
    partitions_def=daily_partitions,
    description="Ingest every landed source, check quality, resolve identities, build features, segments and ROI, "
                "then publish marts and ref to the read-only serving file. Daily-partitioned sources (web and email events) "
                "load the run's day, or its range of days (a backfill; the whole landed history for a full run).",
)

segmentation_job_multiprocess = dg.define_asset_job(
    "segmentation_job_multiprocess",
    selection=dg.AssetSelection.all(),
    executor_def=dg.multiprocess_executor.configured(
        {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["pipelines.definitions"]}}}),
    run_tags=WAREHOUSE_RUN_TAG,
    partitions_def=daily_partitions,
    description="The same graph with each step in its own process (Dagster's multiprocess executor). Warehouse "
                "steps still take the duckdb_writer pool one at a time (DuckDB has one writer process per file); "
                "use it when steps spend their time in Python (model fits, reports) rather than in DuckDB.",
)

lake_job = dg.define_asset_job(
    "lake_job",
    selection=dg.AssetSelection.key_prefixes(["lake"]),
    executor_def=dg.multiprocess_executor.configured(
        {"max_concurrent": 4, "start_method": {"forkserver": {"preload_modules": ["pipelines.definitions"]}}}),
    partitions_def=daily_partitions,
    description="Only the lake.* steps (per-day Parquet files, pool lake_writer): no warehouse connection and no "
                "`warehouse` run tag, so a backfill of it runs as many runs at once as the run queue and the "
                "lake_writer pool allow (on several hosts with the Kubernetes or Celery executor and a shared "
                "SEG_LAKE_DIR). segmentation_job then loads the days into staging.web_events.",
)
