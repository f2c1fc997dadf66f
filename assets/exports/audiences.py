"""Audience exports: one CSV and one Parquet file per segmentation and segment, ready for a CRM or
ad-platform upload, written from marts.audience (the one place where eligibility, consent included,
is decided). The files are the one sanctioned place where emails leave the restricted layers: the
email is read from pii.customer_contacts at export time (docs/PRIVACY.md)."""

import re
import shutil

import dagster as dg
import polars as pl

from assets.sql_model import comment_table, standard_params
from pipelines.resources import PipelineSettings, Warehouse

EXPORT_COLUMNS = ("customer_key", "email", "segment")


def file_stem(name: str) -> str:
    """A file-system-safe name for a segmentation or segment ('(unreached)' -> 'unreached')."""
    stem = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_")
    return stem or "unnamed"


def write_exports(audience: pl.DataFrame, root) -> pl.DataFrame:
    """Write <root>/<segmentation>/<segment>.csv and .parquet; returns the manifest (one row per file pair)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    manifest = []
    for (segmentation, segment), part in audience.sort("customer_key").partition_by(
        ["segmentation", "segment"], as_dict=True, maintain_order=True
    ).items():
        folder = root / file_stem(segmentation)
        folder.mkdir(exist_ok=True)
        rows = part.select(*EXPORT_COLUMNS)
        stem = file_stem(segment)
        rows.write_csv(folder / f"{stem}.csv")
        rows.write_parquet(folder / f"{stem}.parquet")
        manifest.append({"segmentation": segmentation, "segment": segment, "customers": rows.height,
                         "csv": f"{file_stem(segmentation)}/{stem}.csv",
                         "parquet": f"{file_stem(segmentation)}/{stem}.parquet"})
    frame = pl.DataFrame(manifest, schema={"segmentation": pl.String, "segment": pl.String, "customers": pl.Int64,
                                           "csv": pl.String, "parquet": pl.String})
    frame.write_csv(root / "manifest.csv")
    return frame


@dg.asset(key=["marts", "audience_exports"], group_name="exports", kinds={"csv", "parquet", "duckdb"},
          deps=[["marts", "audience"], ["pii", "customer_contacts"], ["marts", "audience_exclusions"]])
def audience_exports(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """Audience files: one CSV and one Parquet file per segmentation and segment under
    <output>/exports/<segmentation>/<segment>.{csv,parquet}, columns customer_key, email, segment, plus
    exports/manifest.csv; the same manifest is the table marts.audience_exports (one row per segmentation and
    segment: customers, file paths). Inputs: marts.audience (customers with a usable email and consent
    granted for config privacy.audience_purpose; eligibility rules live in sql/roi/audience.sql), the email
    from pii.customer_contacts, and marts.audience_exclusions for the metadata (customers left out, by reason)."""
    root = settings.output_path / "exports"
    with warehouse.connect() as con:
        audience = con.sql(
            "select a.customer_key, c.email, a.segmentation, a.segment"
            " from marts.audience a join pii.customer_contacts c using (customer_key)"
        ).pl()
        excluded = con.execute(
            "select reason, sum(customers)::bigint from marts.audience_exclusions group by reason order by reason"
        ).fetchall()
        manifest = write_exports(audience, root)
        con.register("manifest_frame", manifest.with_columns(pl.lit(str(root)).alias("export_root")).to_arrow())
        con.execute("create or replace table marts.audience_exports as select * from manifest_frame order by all")
        con.unregister("manifest_frame")
        comment_table(con, "marts.audience_exports", "roi/audience_exports.yml")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": int(manifest["customers"].sum() or 0),
        "files": manifest.height * 2,
        "path": dg.MetadataValue.path(str(root)),
        # summed over segmentations (a customer counts once per segmentation, like the file rows)
        "left_out_total": int(sum(n for _, n in excluded)),
        "left_out_by_reason": dg.MetadataValue.json({reason: int(n) for reason, n in excluded}),
        "consent_purpose": standard_params(settings)["audience_purpose"],
    })
