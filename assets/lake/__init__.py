"""Assets that write the lake (pipelines/lake.py): per-day Parquet files that several workers write at once."""
