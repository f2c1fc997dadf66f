"""Benchmark: generate a dataset, run the full graph through Dagster, and run the same asset code
directly against DuckDB without orchestration (the floor). Prints per-asset and total wall time,
peak RSS, and the orchestrated/floor ratio. A script that prints numbers, not a timed test.

    python bench/run.py --customers 100000 --events-per-customer 100
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 20)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dagster() -> dict:
    """The segmentation job in process (assets and checks), timed per step from the event log."""
    import dagster as dg

    from pipelines.demo import run_pipeline

    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = run_pipeline(instance)
    total = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"run failed: {[e.step_key for e in result.all_events if e.is_step_failure]}")
    starts, steps = {}, {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            steps[event.step_key] = entry.timestamp - starts[event.step_key]
    return {"total_s": total, "steps": steps, "peak_rss_mib": peak_rss_mib()}


def run_direct() -> dict:
    """Every asset's own code, in topological order, called directly: no executor, no event log."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.resources import PipelineSettings, Warehouse

    graph = defs.resolve_asset_graph()
    resources = {"settings": PipelineSettings(), "warehouse": Warehouse()}
    seen, steps = set(), {}
    started = time.perf_counter()
    for key in graph.toposorted_asset_keys:
        assets_def = graph.assets_def_for_key(key)
        if id(assets_def) in seen:
            continue
        seen.add(id(assets_def))
        kwargs = {name: resources[name] for name in assets_def.required_resource_keys if name in resources}
        step_started = time.perf_counter()
        with dg.build_asset_context() as context:
            params = assets_def.op.compute_fn.decorated_fn.__code__.co_varnames
            out = assets_def(context, **kwargs) if "context" in params else assets_def(**kwargs)
            if hasattr(out, "__iter__") and not isinstance(out, dg.MaterializeResult):
                list(out)
        steps[assets_def.node_def.name] = time.perf_counter() - step_started
    return {"total_s": time.perf_counter() - started, "steps": steps, "peak_rss_mib": peak_rss_mib()}


def child(mode: str, landing: Path, output: Path) -> dict:
    env = {**os.environ, "SEG_LANDING_DIR": str(landing), "SEG_OUTPUT_DIR": str(output),
           "SEG_AS_OF": AS_OF.isoformat(), "SEG_DATABASE": str(output / "warehouse.duckdb")}
    proc = subprocess.run([sys.executable, __file__, "--child", mode], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events-per-customer", type=float, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep data here (default: a temp dir)")
    parser.add_argument("--child", choices=["dagster", "direct"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_dagster() if args.child == "dagster" else run_direct()))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="seg-bench-"))
    landing = work / "landing"
    started = time.perf_counter()
    if not landing.exists():
        subprocess.run([sys.executable, "-m", "datagen", "--out", str(landing), "--truth", str(work / "truth"),
                        "--customers", str(args.customers), "--events-per-customer", str(args.events_per_customer),
                        "--seed", str(args.seed), "--as-of", AS_OF.isoformat()], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    generate_s = time.perf_counter() - started
    events = json.loads((work / "truth" / "summary.json").read_text())["sources"]["web_events"]["rows"]

    results = {}
    for mode in ("direct", "dagster"):
        output = work / f"output-{mode}"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        results[mode] = child(mode, landing, output)

    dagster, direct = results["dagster"], results["direct"]
    print(f"\nDataset: {args.customers:,} customers, {events:,} web events (generated in {generate_s:.1f} s) at {work}")
    print(f"\n{'asset step':<48}{'dagster s':>10}{'direct s':>10}")
    for step in sorted(direct["steps"], key=lambda s: -direct["steps"][s]):
        print(f"{step:<48}{dagster['steps'].get(step, float('nan')):>10.2f}{direct['steps'][step]:>10.2f}")
    checks_s = sum(v for k, v in dagster["steps"].items() if k not in direct["steps"])
    print(f"\n{'checks (dagster only)':<48}{checks_s:>10.2f}")
    print(f"{'TOTAL wall time':<48}{dagster['total_s']:>10.2f}{direct['total_s']:>10.2f}")
    print(f"{'peak RSS MiB':<48}{dagster['peak_rss_mib']:>10.0f}{direct['peak_rss_mib']:>10.0f}")
    print(f"\nOrchestrated / floor (same SQL and models, no orchestration): {dagster['total_s'] / direct['total_s']:.2f}x")


if __name__ == "__main__":
    main()
