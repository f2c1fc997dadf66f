"""Building blocks shared by the suites: the run context and small expectation constructors."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Syntactically valid address after normalization (the same rule as sql/macros.sql is_valid_email).
EMAIL_REGEX = r"^[a-z0-9._%+\-']+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$"


@dataclass(frozen=True)
class SuiteContext:
    """What the suites need from the run: the as-of date and thresholds."""

    as_of: dt.date
    freshness_max_age_days: int = 3
    max_orphan_rate: dict[str, float] = field(default_factory=dict)

    @property
    def latest_allowed(self) -> dt.datetime:
        """Timestamps after the end of the as-of day are in the future."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    @property
    def freshest_required(self) -> dt.datetime:
        return dt.datetime.combine(self.as_of - dt.timedelta(days=self.freshness_max_age_days), dt.time())


def meta(dimension: str, **extra: Any) -> dict[str, Any]:
    return {"dimension": dimension, "critical": dimension in ("schema", "keys", "referential"), **extra}


def _gx():
    import great_expectations as gx

    return gx.expectations


def schema(columns: dict[str, str]) -> list:
    """Exactly these columns, each of its DuckDB type (GX compares with SQLAlchemy type names)."""
    E = _gx()
    out = [E.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=True, meta=meta("schema"))]
    for column, duckdb_type in columns.items():
        type_name = duckdb_type.split("(")[0]
        out.append(E.ExpectColumnValuesToBeOfType(column=column, type_=type_name, meta=meta("schema")))
    return out


def row_count() -> list:
    return [_gx().ExpectTableRowCountToBeBetween(min_value=1, meta=meta("volume"))]


def key(*columns: str) -> list:
    """Not null and unique. A single column uses one count(distinct) aggregate (proportion of unique
    values = 1); a compound key one group-by query returning the repeated keys."""
    E = _gx()
    out = [E.ExpectColumnValuesToNotBeNull(column=c, meta=meta("keys")) for c in columns]
    if len(columns) == 1:
        out.append(E.ExpectColumnProportionOfUniqueValuesToBeBetween(column=columns[0], min_value=1, meta=meta("keys")))
    else:
        cols = ", ".join(columns)
        out.append(E.UnexpectedRowsExpectation(
            unexpected_rows_query=f"select {cols}, count(*) as n from {{batch}} group by {cols} having count(*) > 1",
            description=f"({cols}) is unique", meta=meta("keys", columns=list(columns))))
    return out


def not_null(*columns: str) -> list:
    return [_gx().ExpectColumnValuesToNotBeNull(column=c, meta=meta("keys")) for c in columns]


def email(column: str = "email") -> list:
    return [_gx().ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL_REGEX, meta=meta("accuracy"))]


def in_set(column: str, values, dimension: str = "accuracy", **kw) -> list:
    return [_gx().ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values), meta=meta(dimension), **kw)]


def between(column: str, low=None, high=None) -> list:
    return [_gx().ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high, meta=meta("accuracy"))]


def not_in_future(column: str, ctx: SuiteContext) -> list:
    return [_gx().ExpectColumnValuesToBeBetween(column=column, max_value=ctx.latest_allowed, meta=meta("accuracy"))]


def fresh(column: str, ctx: SuiteContext) -> list:
    """Newest row of the source no older than quality.freshness_max_age_days before the as-of date."""
    return [_gx().ExpectColumnMaxToBeBetween(column=column, min_value=ctx.freshest_required, meta=meta("freshness"))]


def in_reference(column: str, reference: str, reference_column: str, dimension: str = "accuracy",
                 rule: str | None = None, ctx: SuiteContext | None = None) -> list:
    """Values of ``column`` must exist in a reference table (ISO codes in ref.*, parents of a foreign
    key), checked by one anti-join query pushed down to DuckDB; the value list never travels through
    GX. For referential checks the share of orphans may reach quality.max_orphan_rate[rule]."""
    extra = {"columns": [column]}
    if rule is not None and ctx is not None:
        extra.update(rule=rule, max_unexpected_rate=float(ctx.max_orphan_rate.get(rule, 0.0)))
    return [_gx().UnexpectedRowsExpectation(
        unexpected_rows_query=(f"select {column} from {{batch}} where {column} is not null and {column} "
                               f"not in (select {reference_column} from {reference} where {reference_column} is not null)"),
        description=f"{column} is in {reference}.{reference_column}",
        meta=meta(dimension, **extra))]


def references(column: str, parent: str, parent_column: str, rule: str, ctx: SuiteContext) -> list:
    """Referential integrity: orphan share within config/pipeline.yaml quality.max_orphan_rate[rule]."""
    return in_reference(column, parent, parent_column, "referential", rule, ctx)
