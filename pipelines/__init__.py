"""Dagster definitions, resources, jobs, schedules and sensors of the segmentation pipeline."""
