"""One Great Expectations suite per staged table, each in the module named after the table.

Every module defines ``SCHEMA`` (column -> DuckDB type of the staged table) and
``expectations(ctx: SuiteContext) -> list[Expectation]``. Each expectation carries ``meta``:
``dimension`` (schema, keys, accuracy, referential, freshness, volume) and ``critical`` (schema, keys and
referential integrity are critical: their Dagster asset check is blocking). A referential check may carry
``max_unexpected_rate`` (from config/pipeline.yaml quality.max_orphan_rate); the asset check then
passes while the orphan share stays at or below it.
"""
from importlib import import_module

from quality.suites.common import SuiteContext

TABLES = ("crm_contacts", "crm_orders", "web_events", "survey_responses", "campaigns", "ad_spend",
          "email_events", "experiments", "ab_assignments", "fx_rates")


def suite_module(table: str):
    return import_module(f"quality.suites.{table}")


def suite_name(table: str) -> str:
    return f"staging_{table}"


__all__ = ["TABLES", "SuiteContext", "suite_module", "suite_name"]
