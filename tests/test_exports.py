"""Audience exports: one CSV and one Parquet file per segment with customer key, email and segment."""
import polars as pl

from assets.exports.audiences import EXPORT_COLUMNS, file_stem, write_exports


def exports_root(run):
    return run.output / "exports"


def test_one_csv_and_parquet_file_per_segment(pipeline_run):
    root = exports_root(pipeline_run)
    audience = pl.DataFrame(pipeline_run.query("select segmentation, segment, count(*) from marts.audience group by all"),
                            schema=["segmentation", "segment", "n"], orient="row")
    assert audience.height > 10
    for segmentation, segment, n in audience.iter_rows():
        csv = root / file_stem(segmentation) / f"{file_stem(segment)}.csv"
        parquet = csv.with_suffix(".parquet")
        from_csv = pl.read_csv(csv, schema_overrides={"customer_key": pl.String, "email": pl.String, "segment": pl.String})
        from_parquet = pl.read_parquet(parquet)
        assert tuple(from_csv.columns) == tuple(from_parquet.columns) == EXPORT_COLUMNS
        assert from_csv.height == from_parquet.height == n
        assert from_csv.equals(from_parquet)
        assert from_parquet["segment"].unique().to_list() == [segment]
        assert from_parquet["customer_key"].is_unique().all()
    manifest = pl.read_csv(root / "manifest.csv")
    assert manifest.height == audience.height
    files = list(root.rglob("*.csv"))
    assert len(files) == audience.height + 1  # plus the manifest


def test_exported_rows_match_segments_and_usable_emails(pipeline_run):
    bad = pipeline_run.query(
        r"""
        select count(*) filter (where s.customer_key is null),
               count(*) filter (where not regexp_full_match(a.email, '[^@\s]+@[^@\s]+\.[^@\s]+')),
               count(*) filter (where a.email in (select value from ref.blocked_identifiers))
        from (select a.*, p.email from marts.audience a join pii.customer_contacts p using (customer_key)) a
        left join marts.customer_segments s using (customer_key, segmentation, segment)
        """
    )[0]
    assert bad == (0, 0, 0)
    # one row per customer and segmentation; customers with a usable CRM email get that email
    dupes, = pipeline_run.query("select count(*) - count(distinct (customer_key, segmentation)) from marts.audience")[0]
    assert dupes == 0
    mismatched, checked = pipeline_run.query(
        """
        with crm as (
            select i.customer_key, arg_max(c.email, c.created_at) as email
            from staging.crm_contacts c
            join marts.customer_identity i on i.source = 'crm_contacts' and i.record_key = c.contact_id::varchar
            where c.email is not null and c.email not in (select value from ref.blocked_identifiers)
            group by i.customer_key
        )
        select count(*) filter (where a.email != crm.email), count(*)
        from (select distinct customer_key, p.email from marts.audience join pii.customer_contacts p using (customer_key)) a
             join crm using (customer_key)
        """
    )[0]
    assert checked > 100 and mismatched == 0


def test_write_exports_names_files_safely(tmp_path):
    audience = pl.DataFrame({"customer_key": ["b", "a", "c"], "email": ["b@x.io", "a@x.io", "c@x.io"],
                             "segmentation": ["rfm", "rfm", "rfm"], "segment": ["(unreached)", "(unreached)", "Top 10%"]})
    manifest = write_exports(audience, tmp_path / "exports")
    assert sorted(manifest["csv"].to_list()) == ["rfm/top_10.csv", "rfm/unreached.csv"]
    first = pl.read_csv(tmp_path / "exports" / "rfm" / "unreached.csv")
    assert first["customer_key"].to_list() == ["a", "b"]
