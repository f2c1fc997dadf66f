"""`make demo`: generate demo source data, materialize the whole asset graph, print a summary.

    python -m pipelines.demo [--customers N] [--events-per-customer E] [--seed S]

Outputs go to data/ (landing files, ground truth, the DuckDB warehouse); the run is recorded in the
local Dagster instance (.dagster_home), so `make ui` shows it with the lineage of every asset.
"""
import argparse
import datetime as dt
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.contract import REPO_ROOT, load_contract
from pipelines.partitions import DayRange, full_run_tags, range_tags
from pipelines.resources import PipelineSettings

DATA = REPO_ROOT / "data"


@dataclass(frozen=True)
class PipelineResult:
    """The Dagster runs of one pipeline run, read like one ExecuteInProcessResult."""

    runs: list[dg.ExecuteInProcessResult]

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)

    @property
    def run_id(self) -> str:
        return self.runs[-1].run_id

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    @property
    def all_events(self) -> list:
        return [e for r in self.runs for e in r.all_events]

    def get_asset_check_evaluations(self) -> list:
        return [e for r in self.runs for e in r.get_asset_check_evaluations()]

    def get_asset_materialization_events(self) -> list:
        return [e for r in self.runs for e in r.get_asset_materialization_events()]

    def asset_materializations_for_node(self, node_name: str) -> list:
        return [m for r in self.runs if node_name in {n.name for n in r.job_def.nodes}
                for m in r.asset_materializations_for_node(node_name)]


def run_pipeline(instance: dg.DagsterInstance | None = None, days: DayRange | None = None,
                 asset_selection: list[dg.AssetKey] | None = None,
                 definitions: dg.Definitions | None = None) -> PipelineResult:
    """Materialize every asset (and run every check) with the job's in-process executor, for `days`
    of the daily-partitioned sources (default: every landed day, a full run).

    Up to three Dagster runs: what the partitioned assets read (reference tables), the partitioned
    assets for the days (a single-run backfill), then every other asset once. One run over a range
    would also work, but Dagster 1.13 records a "planned" event per asset and partition of a
    partitioned run (73 assets x 365 days = 26,645 events: about 6 minutes on a SQLite instance
    before the first step), not per partitioned asset only.

    `definitions` (default: the code location's) must hold a job named segmentation_job."""
    if definitions is None:
        from pipelines.definitions import defs as definitions

    job = definitions.resolve_job_def("segmentation_job")
    graph = definitions.resolve_asset_graph()
    instance = instance or dg.DagsterInstance.ephemeral()
    keys = asset_selection or sorted(graph.get_all_asset_keys())
    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    upstream = dg.AssetSelection.assets(*partitioned).upstream().resolve(graph) if partitioned else set()
    stages = [
        ([k for k in keys if k in upstream and k not in partitioned], None),
        (partitioned, range_tags(days) if days else full_run_tags(PipelineSettings().landing_path)),
        ([k for k in keys if k not in upstream], None),
    ]
    # the console shows warnings and errors only; every event stays in the run's log (make ui)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    runs = []
    for selection, tags in stages:
        if selection and all(r.success for r in runs):
            runs.append(job.execute_in_process(run_config=quiet, instance=instance, raise_on_error=False,
                                               asset_selection=selection, tags=tags))
    return PipelineResult(runs)


def source_counts_sql(sources: dict) -> str:
    """One row per source: raw, staged, quarantined rows and value defects."""
    parts = [
        f"""select '{name}' as source,
                   (select count(*) from raw.{name}) as raw_rows,
                   (select count(*) from staging.{name}) as staged_rows,
                   (select count(*) from quality.quarantine where table_name = '{name}') as quarantined_rows,
                   (select count(*) from quality.defects where table_name = '{name}') as value_defects"""
        for name in sources
    ]
    return "\nunion all\n".join(parts) + "\norder by source"


def print_summary(database: str) -> None:
    con = duckdb.connect(database, read_only=True)
    print("\nSources loaded (raw rows = staged rows + quarantined rows; value defects are nulled, rows kept):")
    print(con.sql(source_counts_sql(load_contract())))
    customers, anonymous = con.execute(
        "select count(distinct customer_key) filter (where not is_anonymous),"
        " count(distinct customer_key) filter (where is_anonymous) from marts.customer_identity"
    ).fetchall()[0]
    print(f"Customers resolved: {customers} (plus {anonymous} anonymous web visitors)")
    print("\nSegments per segmentation:")
    print(con.sql("select segmentation, count(distinct segment) as segments, count(*) as customers "
                  "from marts.customer_segments group by all order by all"))
    print("ROI per RFM segment (last window; USD):")
    print(con.sql(
        "select segment, customers, converters, conversion_rate, revenue_usd, allocated_spend_usd, cac_usd, roi "
        "from marts.segment_roi where segmentation = 'rfm' order by revenue_usd desc"
    ))
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--events-per-customer", type=float, default=30)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    from datagen import generate

    os.environ.setdefault("SEG_LANDING_DIR", str(DATA / "landing"))
    os.environ.setdefault("SEG_OUTPUT_DIR", str(DATA / "output"))
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
    instance_config = os.path.join(os.environ["DAGSTER_HOME"], "dagster.yaml")
    if not os.path.exists(instance_config):  # the local instance: run queue and the DuckDB writer pool
        shutil.copyfile(REPO_ROOT / "deploy" / "local" / "dagster.yaml", instance_config)
    as_of = dt.datetime.now(dt.UTC).date()
    os.environ.setdefault("SEG_AS_OF", as_of.isoformat())

    started = time.perf_counter()
    print(f"Generating demo data: {args.customers} customers, seed {args.seed} -> {os.environ['SEG_LANDING_DIR']}")
    generate(os.environ["SEG_LANDING_DIR"], str(DATA / "truth"), args.customers, args.events_per_customer,
             args.seed, dt.date.fromisoformat(os.environ["SEG_AS_OF"]), 365)
    # The demo regenerates its sources, so it starts from a fresh warehouse: the first run after a
    # switch to a different dataset on an existing warehouse has failed a blocking check once (open
    # finding, see the issue notes); production reruns on the same sources are tested idempotent.
    for stale in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        Path(os.environ["SEG_OUTPUT_DIR"], stale).unlink(missing_ok=True)
    print(f"Materializing the asset graph (as of {os.environ['SEG_AS_OF']}) ...")
    with dg.DagsterInstance.get() as instance:
        result = run_pipeline(instance)
    database = os.path.join(os.environ["SEG_OUTPUT_DIR"], "warehouse.duckdb")
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"Run {result.run_id} FAILED at steps {failed}; see `make ui` for the logs.", file=sys.stderr)
        return 1
    print_summary(database)
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Outputs:")
    print(f"  DuckDB warehouse : {database}")
    print(f"  Serving copy     : {os.path.join(os.environ['SEG_OUTPUT_DIR'], 'serving', 'serving.duckdb')}  (analysts: marts + ref, no PII)")
    print(f"  Segment report   : {os.path.join(os.environ['SEG_OUTPUT_DIR'], 'report', 'segment_report.html')}")
    print(f"  Audience exports : {os.path.join(os.environ['SEG_OUTPUT_DIR'], 'exports')}")
    print(f"  Data Docs        : {os.path.join(os.environ['SEG_OUTPUT_DIR'], 'data_docs', '<staged table>', 'index.html')}")
    print(f"  Landing files    : {os.environ['SEG_LANDING_DIR']}")
    print(f"  Query it         : duckdb {database}  (or python -c \"import duckdb; duckdb.connect('{database}', read_only=True)\")")
    print("  Lineage and runs : make ui  ->  http://127.0.0.1:3000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
