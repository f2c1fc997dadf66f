"""Reference tables (schema ref) that staging validates against."""

import dagster as dg
import polars as pl
import pycountry

from pipelines.config import pipeline_config
from pipelines.resources import Warehouse


def countries_frame() -> pl.DataFrame:
    rows = []
    for c in pycountry.countries:
        names = {c.name, getattr(c, "common_name", c.name), getattr(c, "official_name", c.name)}
        rows += [{"alpha2": c.alpha_2, "alpha3": c.alpha_3, "name": c.name, "lookup_name": n.lower()} for n in names]
    return pl.DataFrame(rows)


@dg.asset(key=["ref", "countries"], group_name="reference", kinds={"duckdb"})
def ref_countries(warehouse: Warehouse) -> dg.MaterializeResult:
    """ISO-3166 countries from pycountry. Grain: one row per country and known name
    (official, common and short names, lower-cased in lookup_name, so GA4 geo names map to codes).
    Inputs: none."""
    frame = countries_frame()
    with warehouse.connect() as con:
        con.execute("create or replace table ref.countries as select * from frame order by alpha2, lookup_name")
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "countries": frame["alpha2"].n_unique()})


@dg.asset(key=["ref", "currencies"], group_name="reference", kinds={"duckdb"})
def ref_currencies(warehouse: Warehouse) -> dg.MaterializeResult:
    """ISO-4217 currencies from pycountry. Grain: one row per currency code. Inputs: none."""
    frame = pl.DataFrame([{"code": c.alpha_3, "name": c.name} for c in pycountry.currencies])
    with warehouse.connect() as con:
        con.execute("create or replace table ref.currencies as select * from frame order by code")
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


@dg.asset(key=["ref", "blocked_identifiers"], group_name="reference", kinds={"duckdb"})
def ref_blocked_identifiers(warehouse: Warehouse) -> dg.MaterializeResult:
    """Placeholder identifier values that must never link records (config/pipeline.yaml
    identity.blocked_values), normalized (trimmed, lower-cased). Grain: one row per value. Inputs: config."""
    values = sorted({str(v).strip().lower() for v in pipeline_config()["identity"]["blocked_values"]})
    frame = pl.DataFrame({"value": values})
    with warehouse.connect() as con:
        con.execute("create or replace table ref.blocked_identifiers as select * from frame")
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


@dg.asset(key=["ref", "regions"], group_name="reference", kinds={"duckdb"})
def ref_regions(warehouse: Warehouse) -> dg.MaterializeResult:
    """Marketing regions (config/pipeline.yaml segments.regions): one row per country code and its
    region; countries not listed fall in segments.default_region. Inputs: config."""
    regions = pipeline_config()["segments"]["regions"]
    frame = pl.DataFrame(
        [{"country_code": code, "region": region} for region, codes in regions.items() for code in codes],
        schema={"country_code": pl.String, "region": pl.String},
    )
    with warehouse.connect() as con:
        con.execute("create or replace table ref.regions as select * from frame order by country_code")
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "regions": len(regions)})
