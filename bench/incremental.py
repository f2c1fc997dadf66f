"""Benchmark: a daily (incremental) run against a full run, on one warehouse, in one process.

1. full run: every landed day of web and email events and every other source, on a fresh warehouse;
2. daily run: the last landed day only (the other days stay as they are; unchanged CSV exports are
   found unchanged in the load ledger and not reloaded), then every downstream mart;
3. the same daily run restricted to ingest (raw + staging of that day's web events, their session days and
   that day's email events).

Prints wall times, their ratio to the full run, and the slowest steps of each. A script that prints
numbers, not a timed test.

    python bench/incremental.py --workdir /path/with/landing   # or --customers N --events-per-customer E
"""
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import AS_OF, dataset_parser, ensure_dataset, step_windows  # noqa: E402  (bench/ is a folder of scripts)


def timed(label: str, instance, **kwargs) -> tuple[float, dict[str, float]]:
    from pipelines.demo import run_pipeline

    started = time.perf_counter()
    result = run_pipeline(instance, **kwargs)
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"{label} failed at {[e.step_key for e in result.all_events if e.is_step_failure]}")
    return seconds, {step: end - start for step, (start, end) in step_windows(instance, result.run_ids).items()}


def main() -> None:
    args = dataset_parser(__doc__).parse_args()
    work = ensure_dataset(args, "seg-incremental-")
    landing, output = work / "landing", work / "output-incremental"
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob("warehouse.duckdb*"):
        stale.unlink()
    os.environ.update({"SEG_LANDING_DIR": str(landing), "SEG_OUTPUT_DIR": str(output), "SEG_AS_OF": AS_OF.isoformat(),
                       "SEG_DATABASE": str(output / "warehouse.duckdb")})

    import dagster as dg

    from pipelines.partitions import DayRange, landed_range
    from pipelines.resources import PipelineSettings

    every_day = landed_range(PipelineSettings().landing_path)
    last_day = DayRange(every_day.last, every_day.last)
    daily_ingest = [dg.AssetKey(["raw", "web_events"]), dg.AssetKey(["staging", "web_events"]),
                    dg.AssetKey(["staging", "web_session_days"]),
                    dg.AssetKey(["raw", "email_events"]), dg.AssetKey(["staging", "email_events"])]
    instance = dg.DagsterInstance.ephemeral()
    runs = {
        "full run": timed("full run", instance, days=every_day),
        f"daily run ({last_day})": timed("daily run", instance, days=last_day),
        "daily ingest only (web, email events)": timed("daily ingest", instance, days=last_day,
                                                       asset_selection=daily_ingest),
    }
    full = runs["full run"][0]
    events = sum(1 for _ in (landing / "web_events").iterdir())
    print(f"\n{events} daily web-event files ({every_day}) at {landing}")
    print(f"{'run':<40}{'seconds':>10}{'/ full':>9}   slowest steps")
    for label, (seconds, steps) in runs.items():
        slowest = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:3])
        print(f"{label:<40}{seconds:>10.1f}{seconds / full:>9.3f}   {slowest}")
    print(f"peak RSS MiB: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
