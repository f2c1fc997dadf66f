"""The segment report: one self-contained HTML file (plots embedded as base64 PNG) that marketers
and analysts open without any tool: segment sizes, ROI and CAC, CLV distribution, A/B lifts with
confidence intervals, segment transitions and the data-quality summary."""

import base64
import datetime as dt
import html
import io

import dagster as dg
import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from assets.sql_model import comment_table  # noqa: E402
from pipelines.resources import PipelineSettings, Warehouse  # noqa: E402

#: Plot ids, in report order, with their titles. The tests check that each is in the report.
PLOTS = {
    "segment_sizes": "Segment sizes (customers per segment, run date)",
    "roi_cac": "ROI and CAC per segment (ROI window)",
    "expected_value": "Expected value (propensity x predicted CLV) vs past window revenue, and mean propensity, per segment",
    "clv_distribution": "Predicted CLV distribution per segment (buyers)",
    "ab_lifts": "A/B lifts per pre-treatment segment (absolute lift in conversion rate, 95% CI)",
    "segment_transitions": "Segment transitions between the two latest runs",
    "quality_summary": "Data-quality summary (quarantined rows and value defects)",
}
#: Segmentations shown in per-segment plots (when present).
REPORT_SEGMENTATIONS = ("rfm", "lifecycle")
METADATA_PLOTS = ("roi_cac", "ab_lifts", "quality_summary")


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(
        "select count(*) from duckdb_tables() where schema_name = $s and table_name = $t", {"s": schema, "t": table}
    ).fetchall()[0][0] > 0


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where schema_name = $s and table_name = $t", {"s": schema, "t": table}
    ).fetchall()}


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def plot_segment_sizes(roi: pl.DataFrame) -> str:
    segmentations = roi.filter(pl.col("segment") != "(unreached)")["segmentation"].unique().sort().to_list()
    fig, axes = plt.subplots(len(segmentations) or 1, 1, figsize=(8, 2.2 * max(len(segmentations), 1)), squeeze=False)
    for ax, segmentation in zip(axes[:, 0], segmentations):
        part = roi.filter((pl.col("segmentation") == segmentation) & (pl.col("segment") != "(unreached)")).sort("customers")
        ax.barh(part["segment"].to_list(), part["customers"].to_list(), color="#4c72b0")
        ax.set_title(segmentation, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
    if not segmentations:
        _empty(axes[0, 0], "no segments")
    axes[-1, 0].set_xlabel("customers")
    fig.tight_layout()
    return _png(fig)


def _two_panels_per_segmentation(roi: pl.DataFrame, draw) -> str:
    """One row of two panels per report segmentation; draw(axes_row, segment_rows, segmentation)."""
    shown = [s for s in REPORT_SEGMENTATIONS if s in roi["segmentation"].to_list()]
    fig, axes = plt.subplots(len(shown) or 1, 2, figsize=(11, 3.2 * max(len(shown), 1)), squeeze=False)
    for row, segmentation in enumerate(shown):
        draw(axes[row], roi.filter(pl.col("segmentation") == segmentation), segmentation)
        for ax in axes[row]:
            ax.tick_params(labelsize=7)
    if not shown:
        _empty(axes[0, 0], "no ROI rows")
        _empty(axes[0, 1], "")
    fig.tight_layout()
    return _png(fig)


def plot_roi_cac(roi: pl.DataFrame) -> str:
    def draw(axes, part: pl.DataFrame, segmentation: str) -> None:
        part = part.sort("segment")
        labels = part["segment"].to_list()
        axes[0].barh(labels, part["roi"].fill_null(0).to_list(), color="#55a868")
        axes[0].axvline(0, color="black", lw=0.8)
        axes[0].set_title(f"{segmentation}: ROI = (attributed revenue - spend) / spend", fontsize=9, loc="left")
        axes[1].barh(labels, part["cac_usd"].fill_null(0).to_list(), color="#c44e52")
        axes[1].set_title(f"{segmentation}: CAC (USD per new customer; 0 = none acquired)", fontsize=9, loc="left")

    return _two_panels_per_segmentation(roi, draw)


def plot_clv(clv: pl.DataFrame) -> str:
    shown = [s for s in REPORT_SEGMENTATIONS if s in clv["segmentation"].to_list()]
    fig, axes = plt.subplots(len(shown) or 1, 1, figsize=(10, 3.2 * max(len(shown), 1)), squeeze=False)
    for ax, segmentation in zip(axes[:, 0], shown):
        part = clv.filter(pl.col("segmentation") == segmentation)
        segments = part["segment"].unique().sort().to_list()
        data = [part.filter(pl.col("segment") == s)["predicted_clv_usd"].to_numpy() for s in segments]
        ax.boxplot(data, tick_labels=segments, showfliers=False)
        ax.set_title(f"{segmentation}: predicted CLV (USD), outliers hidden", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    if not shown:
        _empty(axes[0, 0], "no CLV predictions")
    fig.tight_layout()
    return _png(fig)


def plot_ab_lifts(ab: pl.DataFrame) -> str:
    experiments = ab["experiment_id"].unique().sort().to_list()
    fig, axes = plt.subplots(1, len(experiments) or 1, figsize=(5 * max(len(experiments), 1), 7), squeeze=False)
    for ax, experiment in zip(axes[0], experiments):
        part = ab.filter(pl.col("experiment_id") == experiment).sort(["segmentation", "segment"], descending=True)
        labels = [f"{a}: {b} ({c})" for a, b, c in zip(part["segmentation"], part["segment"], part["variant"])]
        lift = part["abs_lift"].to_numpy()
        lower = lift - part["abs_lift_ci_lower"].to_numpy()
        upper = part["abs_lift_ci_upper"].to_numpy() - lift
        colors = ["#c44e52" if s else "#4c72b0" for s in part["significant"].to_list()]
        y = list(range(len(labels)))
        ax.errorbar(lift, y, xerr=[lower, upper], fmt="none", ecolor="grey", lw=1)
        ax.scatter(lift, y, c=colors, s=14, zorder=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, labels, fontsize=6)
        ax.set_title(f"{experiment} (red: significant at the FDR)", fontsize=9, loc="left")
        ax.set_xlabel("absolute lift (variant - control)")
    if not experiments:
        _empty(axes[0, 0], "no experiments")
    fig.tight_layout()
    return _png(fig)


def transitions_frame(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, str]:
    """(segmentation, from_segment, to_segment, customers) between the two latest runs, and its source:
    marts.segment_transitions (its latest run pair per segmentation) when it has rows, else computed from
    marts.segment_history (the first run shows every customer as '(new)')."""
    if _table_exists(con, "marts", "segment_transitions"):
        cols = _columns(con, "marts", "segment_transitions")
        if {"segmentation", "from_segment", "to_segment"} <= cols:
            count = "sum(customers)" if "customers" in cols else "count(*)"
            latest = ("where to_run_date = (select max(to_run_date) from marts.segment_transitions t"
                      " where t.segmentation = segment_transitions.segmentation)" if "to_run_date" in cols else "")
            frame = con.sql(f"select segmentation, from_segment, to_segment, {count}::bigint as customers "
                            f"from marts.segment_transitions {latest} group by all").pl()
            if frame.height:
                return frame, "marts.segment_transitions"
    frame = con.sql(
        """
        with runs as (select distinct run_date from marts.segment_history order by run_date desc limit 2),
        latest as (select max(run_date) as d from runs), previous as (select min(run_date) as d from runs)
        select cur.segmentation, coalesce(prev.segment, '(new)') as from_segment, cur.segment as to_segment,
               count(*)::bigint as customers
        from marts.segment_history cur
        left join marts.segment_history prev
            on prev.customer_key = cur.customer_key and prev.segmentation = cur.segmentation
            and prev.run_date = (select d from previous) and (select d from previous) < (select d from latest)
        where cur.run_date = (select d from latest)
        group by all
        """
    ).pl()
    return frame, "marts.segment_history"


def plot_transitions(transitions: pl.DataFrame, source: str) -> str:
    shown = [s for s in REPORT_SEGMENTATIONS if s in transitions["segmentation"].to_list()]
    fig, axes = plt.subplots(1, len(shown) or 1, figsize=(6 * max(len(shown), 1), 5.5), squeeze=False)
    for ax, segmentation in zip(axes[0], shown):
        part = transitions.filter(pl.col("segmentation") == segmentation)
        matrix = part.pivot(on="to_segment", index="from_segment", values="customers", aggregate_function="sum",
                            sort_columns=True).sort("from_segment").fill_null(0)
        values = matrix.drop("from_segment").to_numpy()
        ax.imshow(values, cmap="Blues")
        ax.set_xticks(range(values.shape[1]), matrix.columns[1:], rotation=60, fontsize=6)
        ax.set_yticks(range(values.shape[0]), matrix["from_segment"].to_list(), fontsize=6)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if values[i, j]:
                    ax.text(j, i, int(values[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if values[i, j] > values.max() / 2 else "black")
        ax.set_xlabel("segment now")
        ax.set_ylabel("segment at the previous run")
        ax.set_title(f"{segmentation} (from {source})", fontsize=9, loc="left")
    if not shown:
        _empty(axes[0, 0], "no segment history")
    fig.tight_layout()
    return _png(fig)


def plot_quality(quality: pl.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(9, 0.3 * max(quality.height, 4) + 1))
    if quality.height:
        labels = [f"{k}: {t}.{r}" for k, t, r in zip(quality["kind"], quality["table_name"], quality["rule"])]
        ax.barh(labels, quality["rows"].to_list(), color=["#c44e52" if k == "quarantine" else "#dd8452"
                                                          for k in quality["kind"]])
        ax.set_xlabel("rows")
        ax.tick_params(labelsize=7)
    else:
        _empty(ax, "no quarantined rows and no defects")
    ax.set_title("quarantine = row set aside; defect = value nulled, row kept", fontsize=9, loc="left")
    fig.tight_layout()
    return _png(fig)


def plot_expected_value(roi: pl.DataFrame) -> str:
    """Segments ranked by what they are expected to bring (propensity x CLV), next to past revenue."""
    def draw(axes, part: pl.DataFrame, segmentation: str) -> None:
        part = part.filter(pl.col("expected_value_usd").is_not_null()).sort("expected_value_usd")
        labels = part["segment"].to_list()
        axes[0].barh(labels, part["expected_value_usd"].to_list(), color="#8172b2", label="expected value")
        axes[0].barh(labels, part["revenue_usd"].cast(pl.Float64).to_list(), color="#cccccc", alpha=0.6,
                     label="past window revenue")
        axes[0].set_title(f"{segmentation}: expected value vs past revenue (USD)", fontsize=9, loc="left")
        axes[0].legend(fontsize=7)
        axes[1].barh(labels, part["mean_propensity"].to_list(), color="#64b5cd")
        axes[1].set_title(f"{segmentation}: mean propensity to buy (next horizon)", fontsize=9, loc="left")

    return _two_panels_per_segmentation(roi, draw)


def build_report(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[str, dict[str, str]]:
    """The HTML text and the base64 PNG of every plot (keys of PLOTS)."""
    roi = con.sql("select segmentation, segment, customers, roi, cac_usd, revenue_usd, allocated_spend_usd,"
                  " mean_propensity, expected_value_usd from marts.segment_roi").pl()
    clv = con.sql("select s.segmentation, s.segment, c.predicted_clv_usd from marts.customer_segments s"
                  " join marts.customer_clv c using (customer_key) where c.predicted_clv_usd is not null").pl()
    ab = con.sql("select experiment_id, segmentation, segment, variant, abs_lift, abs_lift_ci_lower,"
                 " abs_lift_ci_upper, significant from marts.ab_test_results where abs_lift is not null"
                 " and n_control >= 20 and n_variant >= 20").pl()
    transitions, source = transitions_frame(con)
    quality = con.sql(
        "select 'quarantine' as kind, table_name, rule, count(*)::bigint as rows from quality.quarantine group by all"
        " union all select 'defect', table_name, rule, count(*)::bigint from quality.defects group by all"
        " order by kind, table_name, rule").pl()
    images = {
        "segment_sizes": plot_segment_sizes(roi),
        "roi_cac": plot_roi_cac(roi),
        "expected_value": plot_expected_value(roi),
        "clv_distribution": plot_clv(clv),
        "ab_lifts": plot_ab_lifts(ab),
        "segment_transitions": plot_transitions(transitions, source),
        "quality_summary": plot_quality(quality),
    }
    sections = "\n".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>'
        f'<img alt="{key}" src="data:image/png;base64,{images[key]}"/></section>'
        for key, title in PLOTS.items()
    )
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        f"<title>Segment report {as_of.isoformat()}</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}img{max-width:100%}</style></head><body>"
        f"<h1>Segments, ROI and experiments - run date {as_of.isoformat()}</h1>"
        "<p>ROI window, attribution model and spend allocation: see config/pipeline.yaml (roi) and the "
        "COMMENTs of marts.segment_roi. A/B segments are computed as of each customer's assignment date.</p>"
        f"{sections}</body></html>\n"
    )
    return page, images


@dg.asset(key=["marts", "segment_report"], group_name="report", kinds={"html", "duckdb"},
          deps=[["marts", "segment_roi"], ["marts", "customer_segments"], ["marts", "customer_clv"],
                ["marts", "ab_test_results"], ["marts", "segment_history"], ["marts", "segment_transitions"],
                ["marts", "customer_scores"]])
def segment_report(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """HTML report (one self-contained file, <output>/report/segment_report.html): segment sizes, ROI and
    CAC per segment, CLV distribution per segment, A/B lifts with CIs per pre-treatment segment, segment
    transitions (marts.segment_transitions when it has rows, else marts.segment_history) and the quality summary
    (quality.quarantine, quality.defects). The table marts.segment_report lists the plots of the latest report
    (one row per plot: id, title, file). Inputs: those tables."""
    folder = settings.output_path / "report"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "segment_report.html"
    with warehouse.connect() as con:
        page, images = build_report(con, settings.as_of_date)
        path.write_text(page, encoding="utf-8")
        plots = pl.DataFrame({"plot": list(PLOTS), "title": list(PLOTS.values()), "report_path": str(path),
                              "png_bytes": [len(base64.b64decode(images[k])) for k in PLOTS]})
        con.register("plots_frame", plots.to_arrow())
        con.execute("create or replace table marts.segment_report as"
                    " select *, $as_of::date as run_date from plots_frame", {"as_of": settings.as_of_date})
        con.unregister("plots_frame")
        comment_table(con, "marts.segment_report", "roi/segment_report.yml")
    metadata = {"path": dg.MetadataValue.path(str(path)), "plots": len(images)}
    for key in METADATA_PLOTS:
        metadata[key] = dg.MetadataValue.md(f"![{key}](data:image/png;base64,{images[key]})")
    return dg.MaterializeResult(metadata=metadata)
