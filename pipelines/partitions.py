"""Daily partitions of the time-stamped, file-per-day sources (web_events, email_events).

A partition is one UTC day (key YYYY-MM-DD). A source is partitioned when its contract entry names
`daily_partition_file`: a regular expression whose first group is the file's day (YYYYMMDD). A run
materializes the days it is asked for: one day (the daily schedule), a range (a backfill from the UI
or CLI, or the whole landed history; BackfillPolicy.single_run makes a range one run and one step).
"""
from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines.config import pipeline_config
from pipelines.contract import LandingFileError, Source, load_contract

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def start_date() -> str:
    return str(pipeline_config()["partitions"]["start_date"])


def max_days_per_transaction() -> int:
    return int(pipeline_config()["partitions"]["max_days_per_transaction"])


# single-run backfills are what make a range of days one set-based step; the policy is marked beta
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")

daily_partitions = dg.DailyPartitionsDefinition(start_date=start_date(), timezone="UTC")
backfill_policy = dg.BackfillPolicy.single_run()


@dataclass(frozen=True)
class DayRange:
    """Inclusive range of days."""

    first: dt.date
    last: dt.date

    @classmethod
    def of(cls, context: dg.AssetExecutionContext) -> DayRange:
        """The days of the run (one partition key, or a range)."""
        if not (context.has_partition_key_range or context.has_partition_key):
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} is daily-partitioned: launch it for a day or a range of days "
                "(UI partition picker; CLI --partition / --partition-range; tags from pipelines.partitions.range_tags)"
            )
        keys = context.partition_key_range
        return cls(dt.date.fromisoformat(keys.start), dt.date.fromisoformat(keys.end))

    @classmethod
    def of_run(cls, context: dg.AssetCheckExecutionContext) -> DayRange | None:
        """The days the check's run was launched for (a partition or a range), None for an unpartitioned run."""
        return cls.of(context) if context.has_partition_key_range or context.has_partition_key else None

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def chunks(self, size: int) -> list[DayRange]:
        """The range cut into consecutive ranges of at most `size` days."""
        days = self.days
        return [DayRange(days[i], days[min(i + size, len(days)) - 1]) for i in range(0, len(days), size)]

    def sql(self, column: str) -> str:
        """A predicate selecting the range on a date column."""
        return f"{column} between date '{self.first}' and date '{self.last}'"

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def file_day(source: Source, path: Path) -> dt.date | None:
    """The day a partitioned source's file holds, from its name; None if the name does not say."""
    match = re.search(source.daily_partition_file or "", path.name)
    return dt.datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def files_by_day(source: Source, files: list[Path]) -> dict[dt.date, list[Path]]:
    """Landed files grouped by day. A file whose name carries no day, or a day before the first
    partition, is an error naming the file: it would otherwise never be loaded."""
    first = dt.date.fromisoformat(start_date())
    grouped: dict[dt.date, list[Path]] = {}
    for path in files:
        day = file_day(source, path)
        if day is None:
            raise LandingFileError(
                f"{path}: source '{source.name}' is daily-partitioned and its file names must match "
                f"'{source.daily_partition_file}' (the day as YYYYMMDD); rename the file or move it out of the landing folder"
            )
        if day < first:
            raise LandingFileError(
                f"{path}: day {day} is before the first partition {first}; set partitions.start_date in "
                "config/pipeline.yaml to an earlier day to load it"
            )
        grouped.setdefault(day, []).append(path)
    return grouped


def files_for(source: Source, files: list[Path], days: DayRange) -> list[Path]:
    """The landed files of a range of days; every day of the range must have landed."""
    grouped = files_by_day(source, files)
    missing = [d for d in days.days if d not in grouped]
    if missing:
        shown = ", ".join(str(d) for d in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise LandingFileError(
            f"{Path(source.file).parent}: no '{source.name}' file for {shown} (run for {days}); the export for "
            f"those days has not landed. Land it, or run only the days that have."
        )
    return [f for d in days.days for f in grouped[d]]


def landed_range(landing: Path) -> DayRange | None:
    """First and last landed day over the partitioned sources that have landed (the range of a full run;
    a source with no file at all fails in its own raw asset, naming the file pattern)."""
    days = [
        day
        for source in load_contract().values() if source.partitioned
        for day in files_by_day(source, sorted(landing.glob(source.file)))
    ]
    return DayRange(min(days), max(days)) if days else None


def range_tags(days: DayRange) -> dict[str, str]:
    """Run tags that make one run materialize a range of partitions."""
    return {RANGE_START_TAG: days.first.isoformat(), RANGE_END_TAG: days.last.isoformat()}


def full_run_tags(landing: Path) -> dict[str, str]:
    """Run tags for every landed day (a full run)."""
    days = landed_range(landing)
    if days is None:
        raise LandingFileError(f"{landing}: no file of a daily-partitioned source has landed; nothing to run")
    return range_tags(days)
