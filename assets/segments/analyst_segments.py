"""Analyst-defined segments: SQL predicates over marts.customer_features from a config file."""

import os
from pathlib import Path

import dagster as dg
import yaml

from assets.sql_model import comment_table
from pipelines.contract import REPO_ROOT
from pipelines.resources import Warehouse


def analyst_config() -> dict:
    path = Path(os.environ.get("SEG_ANALYST_SEGMENTS") or REPO_ROOT / "config" / "analyst_segments.yaml")
    return yaml.safe_load(path.read_text())["segmentations"]


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def analyst_segments_sql(segmentations: dict) -> str:
    """One SELECT per segmentation: a CASE over the predicates in priority order."""
    selects = []
    for name, spec in segmentations.items():
        whens = []
        for segment in spec["segments"]:
            predicate = segment["where"]
            if ";" in predicate:
                raise ValueError(f"analyst segment {name}.{segment['name']}: predicate may not contain ';'")
            whens.append(f"when ({predicate}) then {_literal(segment['name'])}")
        selects.append(
            f"select customer_key, {_literal(name)} as segmentation, "
            f"case {' '.join(whens)} else {_literal(spec.get('default', 'other'))} end as segment "
            "from marts.customer_features"
        )
    if not selects:
        return "select null::varchar as customer_key, null::varchar as segmentation, null::varchar as segment where false"
    return "\nunion all\n".join(selects)


@dg.asset(key=["marts", "analyst_segments"], group_name="segments", kinds={"duckdb", "sql"},
          deps=[["marts", "customer_features"]])
def analyst_segments(warehouse: Warehouse) -> dg.MaterializeResult:
    """Analyst-defined segments (config/analyst_segments.yaml): SQL predicates over
    marts.customer_features, first match wins. Grain: one row per customer and analyst segmentation.
    Inputs: marts.customer_features, the config file."""
    segmentations = analyst_config()
    with warehouse.connect() as con:
        for name, spec in segmentations.items():  # validate each predicate alone for a precise error
            for segment in spec["segments"]:
                try:
                    con.execute(f"select count(*) from marts.customer_features where ({segment['where']})").fetchall()
                except Exception as e:
                    raise ValueError(
                        f"config/analyst_segments.yaml: segment {name}.{segment['name']}: predicate "
                        f"{segment['where']!r} is not valid SQL over marts.customer_features: {e}"
                    ) from e
        con.execute(f"create or replace table marts.analyst_segments as {analyst_segments_sql(segmentations)}")
        comment_table(con, "marts.analyst_segments", "segments/analyst_segments.yml")
        sizes = con.execute(
            "select segmentation || '.' || segment, count(*) from marts.analyst_segments group by all order by 1"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={"dagster/row_count": sum(n for _, n in sizes), "segment_sizes": dg.MetadataValue.json(dict(sizes))}
    )
