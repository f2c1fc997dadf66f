"""Blocking asset checks for invariants the numbers depend on: nothing lost, nothing counted twice."""

import dagster as dg

from assets.ingest.landing import quote_ident
from pipelines.contract import Source, load_contract
from pipelines.partitions import DayRange
from assets.sql_model import standard_params
from pipelines.resources import PipelineSettings, Warehouse


def conservation_check(source: Source) -> dg.AssetChecksDefinition:
    scope = " A partitioned source is compared over the days its run loaded (a daily run reads one day's files)." \
        if source.partitioned else ""

    @dg.asset_check(asset=["staging", source.name], name="rows_conserved", blocking=True,
                    description=f"Every raw.{source.name} row is in staging.{source.name} or in quality.quarantine "
                                f"(raw rows = staged rows + quarantined rows).{scope}")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        table = quote_ident(source.name)
        days = DayRange.of_run(context) if source.partitioned else None
        in_days = days.sql("_partition_date") if days else "true"
        with warehouse.connect() as con:
            raw, staged, quarantined = con.execute(
                f"""
                select (select count(*) from raw.{table} where {in_days}),
                       (select count(*) from staging.{table} where {in_days}),
                       (select count(*) from quality.quarantine where table_name = $t and rule != 'malformed_row'
                        and {days.sql("partition_key::date") if days else "true"})
                """,
                {"t": source.name},
            ).fetchall()[0]
        return dg.AssetCheckResult(
            passed=raw == staged + quarantined,
            metadata={"raw_rows": raw, "staged_rows": staged, "quarantined_rows": quarantined,
                      "unaccounted_rows": raw - staged - quarantined, "days": str(days) if days else "all"},
        )

    return _check


@dg.asset_check(asset=["marts", "customer_segments"], name="one_segment_per_segmentation", blocking=True,
                description="Every customer of marts.customer_features has exactly one segment in every segmentation.")
def one_segment_per_segmentation(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        missing, duplicated, segmentations = con.execute(
            """
            with expected as (
                select f.customer_key, s.segmentation
                from marts.customer_features f cross join (select distinct segmentation from marts.customer_segments) s
            ),
            counted as (
                select customer_key, segmentation, count(*) as n from marts.customer_segments group by all
            )
            select count(*) filter (where counted.n is null),
                   count(*) filter (where counted.n > 1),
                   (select count(distinct segmentation) from marts.customer_segments)
            from expected left join counted using (customer_key, segmentation)
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=missing == 0 and duplicated == 0,
        metadata={"customers_without_segment": missing, "customers_with_several": duplicated,
                  "segmentations": segmentations},
    )


@dg.asset_check(asset=["marts", "segment_spend_allocation"], name="spend_conserved", blocking=True,
                description="For every segmentation, allocated spend sums to the ROI window's total spend "
                            "in staging.ad_spend, to the cent.")
def spend_conserved(settings: PipelineSettings, warehouse: Warehouse) -> dg.AssetCheckResult:
    params = standard_params(settings)
    with warehouse.connect() as con:
        total = con.execute(
            """
            select coalesce(sum(spend_usd), 0) from staging.ad_spend
            where spend_date >= $as_of::date - to_days($window_days::integer) and spend_date <= $as_of::date
            """,
            {"as_of": params["as_of"], "window_days": params["window_days"]},
        ).fetchall()[0][0]
        allocated = dict(con.execute(
            "select segmentation, sum(allocated_spend_usd) from marts.segment_spend_allocation group by all"
        ).fetchall())
    off = {segmentation: float(value - total) for segmentation, value in allocated.items() if value != total}
    return dg.AssetCheckResult(
        passed=not off and (bool(allocated) or total == 0),
        metadata={"total_spend_usd": float(total), "segmentations": len(allocated),
                  "difference_by_segmentation": dg.MetadataValue.json(off)},
    )


conservation_checks = [conservation_check(source) for source in load_contract().values()]
invariant_checks = [*conservation_checks, one_segment_per_segmentation, spend_conserved]
