"""quality.silo_coverage and its warning checks (thresholds: config/pipeline.yaml quality.silo_coverage)."""

import dagster as dg

from assets.sql_model import sql_table_asset
from pipelines.config import pipeline_config
from pipelines.resources import Warehouse

silo_coverage = sql_table_asset(
    "quality.silo_coverage", "quality/silo_coverage.sql",
    deps=[["marts", "customer_identity"], ["marts", "customers"], ["staging", "crm_contacts"],
          ["staging", "crm_orders"], ["staging", "web_session_days"]],
    group="quality",
)


def _rate_check(name: str, measure: str, threshold_key: str, minimum: bool, description: str):
    @dg.asset_check(asset=["quality", "silo_coverage"], name=name, description=description)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        threshold = float(pipeline_config()["quality"]["silo_coverage"][threshold_key])
        with warehouse.connect() as con:
            rows = con.execute(
                "select item, numerator, denominator, rate from quality.silo_coverage where measure = $m order by item",
                {"m": measure},
            ).fetchall()
        breaches = {item: rate for item, _, _, rate in rows
                    if rate is not None and (rate < threshold if minimum else rate > threshold)}
        return dg.AssetCheckResult(
            passed=not breaches,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "threshold": threshold,
                "rates": dg.MetadataValue.json({item: {"numerator": n, "denominator": d, "rate": r} for item, n, d, r in rows}),
                "breaches": dg.MetadataValue.json(breaches),
            },
        )

    return _check


silo_coverage_checks = [
    _rate_check("match_rates", "match_rate", "min_match_rate", True,
                "Per source, the share of records resolved to a customer with a CRM contact is at least "
                "quality.silo_coverage.min_match_rate (warns)."),
    _rate_check("orphan_customers", "orphan_customers", "max_orphan_customer_share", False,
                "Per source, the share of its customers with no CRM contact is at most "
                "quality.silo_coverage.max_orphan_customer_share (warns)."),
    _rate_check("attribute_conflicts", "attribute_conflict", "max_attribute_conflict_rate", False,
                "CRM country vs web geo country and checkout email vs CRM email disagree for at most "
                "quality.silo_coverage.max_attribute_conflict_rate of the comparable customers / orders (warns)."),
]
