"""Jobs. Steps run in one process: DuckDB allows one writing process per file, and per-step process
overhead (about 1.7 s with spawn on 2 cores) would dominate a graph of small SQL steps."""

import dagster as dg

segmentation_job = dg.define_asset_job(
    "segmentation_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest every landed source, check quality, resolve identities, build features, segments and ROI.",
)
