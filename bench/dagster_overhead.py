"""Benchmark: what Dagster itself costs a daily run of this graph, with no work in any step.

Every asset and every asset check of the code location is replaced by a no-op twin (same keys,
dependencies, partitions, pool and in-process job), and a daily run goes through `run_pipeline`'s
three runs as the real one does. Each check gets its own step, so the figure is an upper bound of the
framework's share (the real graph runs several checks inside their asset's step). Compare it with a
real daily run (bench/incremental.py): the difference is the steps' own work. Needs no data.

    python bench/dagster_overhead.py [--repeat 3]
"""
import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).parent))
from run import AS_OF, step_windows  # noqa: E402  (bench/ is a folder of scripts)


def noop_asset(key: dg.AssetKey, parents: list[dg.AssetKey], partitions_def, pool: str) -> dg.AssetsDefinition:
    @dg.asset(key=key, deps=parents, partitions_def=partitions_def, pool=pool)
    def twin() -> None:
        return None

    return twin


def noop_check(check_key: dg.AssetCheckKey, pool: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=check_key.asset_key, name=check_key.name, pool=pool)
    def twin() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return twin


def noop_twin(defs: dg.Definitions) -> dg.Definitions:
    """The code location's graph with a no-op in every step, and its segmentation_job."""
    from pipelines.concurrency import WRITER_POOL

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("segmentation_job")
    assets = [noop_asset(key, sorted(graph.get(key).parent_keys), graph.get(key).partitions_def, WRITER_POOL)
              for key in sorted(graph.get_all_asset_keys()) if graph.get(key).is_executable]
    checks = [noop_check(key, WRITER_POOL) for key in sorted(graph.asset_check_keys)]
    twin_job = dg.define_asset_job("segmentation_job", selection=dg.AssetSelection.all(),
                                   executor_def=dg.in_process_executor, partitions_def=job.partitions_def)
    return dg.Definitions(assets=assets, asset_checks=checks, jobs=[twin_job])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pipelines.definitions import defs
    from pipelines.demo import run_pipeline
    from pipelines.partitions import DayRange

    twin = noop_twin(defs)
    day = AS_OF - dt.timedelta(days=1)
    instance = dg.DagsterInstance.ephemeral()
    for attempt in range(1, args.repeat + 1):
        started = time.perf_counter()
        result = run_pipeline(instance, days=DayRange(day, day), definitions=twin)
        seconds = time.perf_counter() - started
        if not result.success:
            raise SystemExit("the no-op twin failed")
        steps = step_windows(instance, result.run_ids)
        print(f"no-op daily run {attempt}: {seconds:.2f} s for {len(steps)} steps "
              f"({sum(e - s for s, e in steps.values()):.2f} s inside steps)")


if __name__ == "__main__":
    main()
