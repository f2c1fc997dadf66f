"""When the pipeline runs: every day for the day before, and whenever files land or change."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.contract import load_contract
from pipelines.jobs import segmentation_job
from pipelines.partitions import DayRange, file_day, range_tags
from pipelines.resources import PipelineSettings

daily_schedule = dg.build_schedule_from_partitioned_job(
    segmentation_job,
    hour_of_day=6,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC, after the overnight exports land: loads the previous day's web and email "
                "events (one partition) and the current CRM, survey and marketing exports, then refreshes every mart.",
)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def landed_files(landing: Path, previous: dict[str, list]) -> dict[str, list]:
    """Every landed file: relative path -> [size, mtime_ns, sha256]. The hash is reused from
    `previous` when size and modification time are unchanged."""
    files = {}
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        stat, key = path.stat(), str(path.relative_to(landing))
        old = previous.get(key)
        same = old is not None and old[:2] == [stat.st_size, stat.st_mtime_ns]
        files[key] = [stat.st_size, stat.st_mtime_ns, old[2] if same else _sha256(path)]
    return files


def changed_days(landing: Path, changed: list[str]) -> list:
    """The partition days of changed files of daily-partitioned sources."""
    days = set()
    for source in load_contract().values():
        if not source.partitioned:
            continue
        for rel in changed:
            if (landing / rel).match(str(landing / source.file)):
                day = file_day(source, landing / rel)
                if day is not None:
                    days.add(day)
    return sorted(days)


@dg.sensor(job=segmentation_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts a run when files in the landing folder are added or their content changes (SHA-256; "
                       "a file landed again with the same bytes starts nothing). The run covers the days of new or "
                       "changed web-event and email-event files, or the newest landed day when only other exports changed.")
def landing_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    landing = settings.landing_path
    if not landing.exists():
        return dg.SkipReason(f"landing folder {landing} does not exist")
    previous = json.loads(context.cursor) if context.cursor else {}
    current = landed_files(landing, previous)
    changed = [rel for rel, (_, _, digest) in current.items() if rel not in previous or previous[rel][2] != digest]
    context.update_cursor(json.dumps(current))
    if not changed:
        return dg.SkipReason("no new or changed files (same content hashes)")
    days = changed_days(landing, changed) or changed_days(landing, list(current))[-1:]
    if not days:
        return dg.SkipReason("no file of a daily-partitioned source has landed yet; a run needs at least one day")
    run_key = hashlib.sha256(json.dumps({rel: current[rel][2] for rel in changed}, sort_keys=True).encode()).hexdigest()
    return dg.RunRequest(run_key=run_key, tags=range_tags(DayRange(days[0], days[-1])))
