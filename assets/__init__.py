"""Dagster assets, one subpackage per stage: ingest, staging, identity, features, segments, roi."""
