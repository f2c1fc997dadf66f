"""Benchmark: generate a dataset, run the full graph through Dagster, and run the same asset code
directly against DuckDB without orchestration (the floor). Prints per-asset and total wall time,
peak RSS, and the orchestrated/floor ratio. A script that prints numbers, not a timed test.

    python bench/run.py --customers 100000 --events-per-customer 100
    python bench/run.py --customers 1000000 --events-per-customer 100 --workdir /data/bench --only dagster

Peak RSS is the child process's high-water mark plus that of any process it started (RUSAGE_SELF and
RUSAGE_CHILDREN). Per step, a sampler thread records the highest resident set size seen while the
step ran (sampled every 0.1 s, so a spike shorter than that can be missed).
"""
import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 20)


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


class RssSampler:
    """Samples this process's resident set size; `peak_since(mark)` is the highest since `mark()`."""

    def __init__(self, interval_s: float = 0.1):
        self.interval_s, self.samples, self._stop = interval_s, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def rss_mib() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append((time.time(), self.rss_mib()))

    def peak_between(self, start: float, end: float) -> float:
        return max((mib for t, mib in self.samples if start <= t <= end + self.interval_s), default=float("nan"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def step_windows(instance, run_ids: list[str]) -> dict[str, tuple[float, float]]:
    """(start, end) wall-clock timestamps of every successful step of the runs, from their event logs."""
    starts, windows = {}, {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                windows[event.step_key] = (starts[event.step_key], entry.timestamp)
    return windows


def run_dagster() -> dict:
    """The segmentation job in process (assets and checks), timed per step from the event log."""
    import dagster as dg

    from pipelines.demo import run_pipeline

    instance = dg.DagsterInstance.ephemeral()
    sampler = RssSampler()
    started = time.perf_counter()
    result = run_pipeline(instance)
    total = time.perf_counter() - started
    sampler.stop()
    if not result.success:
        raise SystemExit(f"run failed: {[e.step_key for e in result.all_events if e.is_step_failure]}")
    windows = step_windows(instance, result.run_ids)
    steps = {step: end - start for step, (start, end) in windows.items()}
    step_rss = {step: sampler.peak_between(start, end) for step, (start, end) in windows.items()}
    return {"total_s": total, "steps": steps, "step_rss_mib": step_rss, "peak_rss_mib": peak_rss_mib()}


def run_direct() -> dict:
    """Every asset's own code, in topological order, called directly: no executor, no event log."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.partitions import landed_range
    from pipelines.resources import PipelineSettings, Warehouse

    graph = defs.resolve_asset_graph()
    resources = {"settings": PipelineSettings(), "warehouse": Warehouse()}
    days = landed_range(PipelineSettings().landing_path)  # partitioned assets: every landed day
    every_day = dg.PartitionKeyRange(str(days.first), str(days.last))
    seen, steps, step_rss = set(), {}, {}
    sampler = RssSampler()
    started = time.perf_counter()
    for key in graph.toposorted_asset_keys:
        assets_def = graph.assets_def_for_key(key)
        if id(assets_def) in seen:
            continue
        seen.add(id(assets_def))
        kwargs = {name: resources[name] for name in assets_def.required_resource_keys if name in resources}
        step_started, step_wall = time.perf_counter(), time.time()
        with dg.build_asset_context(partition_key_range=every_day if assets_def.partitions_def else None) as context:
            params = assets_def.op.compute_fn.decorated_fn.__code__.co_varnames
            out = assets_def(context, **kwargs) if "context" in params else assets_def(**kwargs)
            if hasattr(out, "__iter__") and not isinstance(out, dg.MaterializeResult):
                list(out)
        steps[assets_def.node_def.name] = time.perf_counter() - step_started
        step_rss[assets_def.node_def.name] = sampler.peak_between(step_wall, time.time())
    total = time.perf_counter() - started
    sampler.stop()
    return {"total_s": total, "steps": steps, "step_rss_mib": step_rss, "peak_rss_mib": peak_rss_mib()}


def child(mode: str, landing: Path, output: Path) -> dict:
    env = {**os.environ, "SEG_LANDING_DIR": str(landing), "SEG_OUTPUT_DIR": str(output),
           "SEG_AS_OF": AS_OF.isoformat(), "SEG_DATABASE": str(output / "warehouse.duckdb")}
    proc = subprocess.run([sys.executable, __file__, "--child", mode], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dataset_parser(description: str) -> argparse.ArgumentParser:
    """Arguments of the generated benchmark dataset (shared by the bench scripts)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events-per-customer", type=float, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep data here, reusing <workdir>/landing if it exists (default: a temp dir)")
    return parser


def ensure_dataset(args: argparse.Namespace, prefix: str) -> Path:
    """The work folder, with the generated landing files in <work>/landing (generated once)."""
    work = args.workdir or Path(tempfile.mkdtemp(prefix=prefix))
    if not (work / "landing").exists():
        subprocess.run([sys.executable, "-m", "datagen", "--out", str(work / "landing"), "--truth", str(work / "truth"),
                        "--customers", str(args.customers), "--events-per-customer", str(args.events_per_customer),
                        "--seed", str(args.seed), "--as-of", AS_OF.isoformat()], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    return work


def main() -> None:
    parser = dataset_parser(__doc__)
    parser.add_argument("--only", choices=["dagster", "direct"], default=None,
                        help="run one mode only (no ratio): a 100M-event run takes half as long")
    parser.add_argument("--top", type=int, default=None, help="print only the N slowest steps")
    parser.add_argument("--child", choices=["dagster", "direct"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_dagster() if args.child == "dagster" else run_direct()))
        return

    started = time.perf_counter()
    work = ensure_dataset(args, "seg-bench-")
    landing = work / "landing"
    generate_s = time.perf_counter() - started
    summary = json.loads((work / "truth" / "summary.json").read_text())
    events = summary["sources"]["web_events"]["rows"]

    modes = [args.only] if args.only else ["direct", "dagster"]
    results = {}
    for mode in modes:
        output = work / f"output-{mode}"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        results[mode] = child(mode, landing, output)
    (work / "bench-result.json").write_text(json.dumps(results, indent=1))

    customers = summary["params"]["customers"]  # of the landed dataset, which may predate these arguments
    print(f"\nDataset: {customers:,} customers, {events:,} web events (generated in {generate_s:.1f} s) at {work}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)")
    header = "".join(f"{mode + ' s':>10}{mode + ' MiB':>12}" for mode in modes)
    print(f"\n{'asset step':<48}{header}")
    first = results[modes[0]]
    asset_steps = set(results["direct"]["steps"]) if "direct" in results else None
    listed = [s for s in first["steps"] if asset_steps is None or s in asset_steps or modes[0] == "direct"]
    listed = sorted(listed, key=lambda s: -first["steps"][s])[: args.top]
    for step in listed:
        cells = "".join(f"{results[m]['steps'].get(step, float('nan')):>10.2f}"
                        f"{results[m].get('step_rss_mib', {}).get(step, float('nan')):>12.0f}" for m in modes)
        print(f"{step:<48}{cells}")
    if "dagster" in results and "direct" in results:
        dagster, direct = results["dagster"], results["direct"]
        checks_s = sum(v for k, v in dagster["steps"].items() if k not in direct["steps"])
        print(f"\n{'checks (dagster only)':<48}{checks_s:>10.2f}")
    print(f"\n{'TOTAL wall time s':<48}" + "".join(f"{results[m]['total_s']:>10.2f}{'':>12}" for m in modes))
    print(f"{'peak RSS MiB (process and its children)':<48}"
          + "".join(f"{'':>10}{results[m]['peak_rss_mib']:>12.0f}" for m in modes))
    if "dagster" in results and "direct" in results:
        ratio = results["dagster"]["total_s"] / results["direct"]["total_s"]
        print(f"\nOrchestrated / floor (same SQL and models, no orchestration): {ratio:.2f}x")


if __name__ == "__main__":
    main()
