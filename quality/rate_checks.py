"""Blocking check per source: the quarantined share of its raw rows stays within
config/pipeline.yaml quality.max_quarantine_rate (a broken export must not flow downstream as a
silently smaller table).

A daily-partitioned source is checked over the days its run loaded, and day by day: one broken day's
export is 1/365 of a year of events, so a whole-source rate would let it through. A day (or the run's
days together) fails when its quarantined rows are above the limit by more than sampling noise (three
binomial standard deviations), so a small day with a few bad rows does not stop the run, and a day
whose export is mostly broken does. Counting only the run's days also keeps a daily run from reading
every landed file (the raw view prunes files by day)."""

import dagster as dg

from assets.ingest.landing import quote_ident
from pipelines.config import pipeline_config
from pipelines.contract import Source, load_contract
from pipelines.partitions import DayRange
from pipelines.resources import Warehouse

# per landed day (partition_key; null for a single-export source): landed lines and quarantined rows.
# Unparseable lines never reach raw, so landed = raw rows + malformed_row quarantines.
RATES_BY_DAY = """
with landed as (select {day} as day, count(*) as n from raw.{table} where {raw_days} group by all),
     quarantined as (select partition_key as day, count(*) as n, count(*) filter (where rule = 'malformed_row') as malformed
                     from quality.quarantine where table_name = $t and {quarantine_days} group by all)
select day, coalesce(landed.n, 0) + coalesce(quarantined.malformed, 0) as landed, coalesce(quarantined.n, 0) as quarantined
from landed full join quarantined using (day)
order by day
"""


def over_limit(landed: int, quarantined: int, limit: float) -> bool:
    """Quarantined rows above `limit` of the landed rows by more than three binomial standard deviations."""
    return quarantined > limit * landed + 3 * (limit * (1 - limit) * landed) ** 0.5


def quarantine_rate(warehouse: Warehouse, source: Source, days: DayRange | None) -> dg.AssetCheckResult:
    """The check's result for `source` over `days` (None: every landed day)."""
    limit = float(pipeline_config()["quality"]["max_quarantine_rate"])
    quarantine_days = days.sql("partition_key::date") if days else "true"
    with warehouse.connect() as con:
        by_day = con.execute(RATES_BY_DAY.format(
            day="_partition_date::varchar" if source.partitioned else "null::varchar",
            table=quote_ident(source.name), raw_days=days.sql("_partition_date") if days else "true",
            quarantine_days=quarantine_days), {"t": source.name}).fetchall()
        by_rule = dict(con.execute(f"select rule, count(*) from quality.quarantine where table_name = $t "
                                   f"and {quarantine_days} group by rule order by rule", {"t": source.name}).fetchall())
    landed = sum(n for _, n, _ in by_day)
    quarantined = sum(q for _, _, q in by_day)
    rate = quarantined / landed if landed else 0.0
    metadata = {"landed_rows": landed, "quarantined_rows": quarantined, "quarantine_rate": round(rate, 6),
                "threshold": limit, "by_rule": dg.MetadataValue.json({str(k): int(v) for k, v in by_rule.items()})}
    if not source.partitioned:
        return dg.AssetCheckResult(passed=rate <= limit, metadata=metadata)
    bad_days = {day: q / n for day, n, q in by_day if n and over_limit(n, q, limit)}
    worst = sorted(bad_days.items(), key=lambda kv: -kv[1])[:20]
    metadata |= {"days": str(days) if days else "all", "days_over_threshold": len(bad_days),
                 "worst_days": dg.MetadataValue.json({d: round(r, 4) for d, r in worst})}
    return dg.AssetCheckResult(passed=not bad_days and not over_limit(landed, quarantined, limit), metadata=metadata)


def quarantine_rate_check(source: Source) -> dg.AssetChecksDefinition:
    per_day = " A partitioned source is checked over its run's days and per day (above the limit beyond " \
        "sampling noise fails)." if source.partitioned else ""

    @dg.asset_check(asset=["staging", source.name], name="quarantine_rate", blocking=True,
                    description=f"Quarantined rows of {source.name} (whole rows unusable, plus unparseable lines) "
                                f"are at most quality.max_quarantine_rate of its landed rows.{per_day}")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        return quarantine_rate(warehouse, source, DayRange.of_run(context) if source.partitioned else None)

    return _check


quarantine_rate_checks = [quarantine_rate_check(source) for source in load_contract().values()]
