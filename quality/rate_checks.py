"""Blocking check per source: the quarantined share of its raw rows stays within
config/pipeline.yaml quality.max_quarantine_rate (a broken export must not flow downstream as a
silently smaller table)."""

import dagster as dg

from assets.ingest.landing import quote_ident
from pipelines.config import pipeline_config
from pipelines.contract import Source, load_contract
from pipelines.resources import Warehouse


def quarantine_rate_check(source: Source) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=["staging", source.name], name="quarantine_rate", blocking=True,
                    description=f"Quarantined rows of {source.name} (whole rows unusable, plus unparseable lines) "
                                "are at most quality.max_quarantine_rate of its landed rows.")
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        limit = float(pipeline_config()["quality"]["max_quarantine_rate"])
        with warehouse.connect() as con:
            raw, quarantined, by_rule = con.execute(
                f"""
                select (select count(*) from raw.{quote_ident(source.name)}),
                       (select count(*) from quality.quarantine where table_name = $t),
                       (select coalesce(map(list(rule), list(n)), map()) from
                           (select rule, count(*) as n from quality.quarantine where table_name = $t group by rule order by rule))
                """,
                {"t": source.name},
            ).fetchall()[0]
        landed = raw + (dict(by_rule).get("malformed_row", 0))
        rate = quarantined / landed if landed else 0.0
        return dg.AssetCheckResult(
            passed=rate <= limit,
            metadata={"landed_rows": landed, "quarantined_rows": quarantined, "quarantine_rate": round(rate, 6),
                      "threshold": limit, "by_rule": dg.MetadataValue.json({str(k): int(v) for k, v in dict(by_rule).items()})},
        )

    return _check


quarantine_rate_checks = [quarantine_rate_check(source) for source in load_contract().values()]
