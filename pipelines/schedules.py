"""When the pipeline runs: daily, and whenever new or changed files land."""

import hashlib
from pathlib import Path

import dagster as dg

from pipelines.jobs import segmentation_job
from pipelines.resources import PipelineSettings

daily_schedule = dg.ScheduleDefinition(
    job=segmentation_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC, after the overnight exports land.",
)


def landing_fingerprint(landing: Path) -> str:
    """A digest of every landed file's path, size and modification time."""
    digest = hashlib.sha256()
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(landing)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=segmentation_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts a run when files in the landing folder are added or changed.")
def landing_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    landing = settings.landing_path
    if not landing.exists():
        return dg.SkipReason(f"landing folder {landing} does not exist")
    fingerprint = landing_fingerprint(landing)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)
