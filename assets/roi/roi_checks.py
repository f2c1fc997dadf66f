"""Checks on the ROI marts: money is conserved, attribution never invents revenue, experiments are
randomised as planned."""

import dagster as dg

from assets.sql_model import standard_params
from pipelines.resources import PipelineSettings, Warehouse

_WINDOW_SPEND = """
    select channel, campaign_id, sum(spend_usd) as spend_usd from staging.ad_spend
    where spend_date >= $as_of::date - to_days($window_days::integer) and spend_date <= $as_of::date
    group by all
"""


@dg.asset_check(asset=["marts", "segment_roi"], name="attributed_revenue_within_revenue", blocking=True,
                description="In every segment, attributed revenue is at most total revenue, and over all "
                            "attributed orders it is at most the window's completed-order revenue.")
def attributed_revenue_within_revenue(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        segments_over, attributed, revenue = con.execute(
            """
            select
                (select count(*) from marts.segment_roi where attributed_revenue_usd > revenue_usd),
                (select coalesce(sum(amount_usd), 0) from marts.order_attribution where campaign_id is not null),
                (select coalesce(sum(amount_usd), 0) from marts.order_attribution)
            """
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=segments_over == 0 and attributed <= revenue,
        metadata={"segments_with_attributed_above_revenue": segments_over,
                  "attributed_revenue_usd": float(attributed), "window_revenue_usd": float(revenue)},
    )


def spend_conserved_by(dimension: str, table: str, spend_column: str) -> dg.AssetChecksDefinition:
    """Blocking check: per segmentation and <dimension>, spend allocated in marts.<table> sums to the
    <dimension>'s window spend in staging.ad_spend, to the cent. (Identifiers come from this module.)"""

    @dg.asset_check(asset=["marts", table], name=f"{dimension.removesuffix('_id')}_spend_conserved", blocking=True,
                    description=f"For every segmentation and {dimension}, spend allocated to segments sums to the "
                                f"{dimension}'s window spend in staging.ad_spend, to the cent.")
    def _check(settings: PipelineSettings, warehouse: Warehouse) -> dg.AssetCheckResult:
        params = standard_params(settings)
        with warehouse.connect() as con:
            off = con.execute(
                f"""
                with expected as (select {dimension}, sum(spend_usd) as spend_usd from ({_WINDOW_SPEND}) group by all),
                allocated as (select segmentation, {dimension}, sum({spend_column}) as spend_usd
                              from marts.{table} group by all),
                pairs as (select s.segmentation, e.{dimension} from (select distinct segmentation from allocated) s
                          cross join expected e)
                select pairs.segmentation, pairs.{dimension}, coalesce(allocated.spend_usd, 0) - expected.spend_usd
                from pairs
                join expected using ({dimension})
                left join allocated using (segmentation, {dimension})
                where coalesce(allocated.spend_usd, 0) != expected.spend_usd
                """,
                {"as_of": params["as_of"], "window_days": params["window_days"]},
            ).fetchall()
        return dg.AssetCheckResult(
            passed=not off,
            metadata={"mismatches": dg.MetadataValue.json([[s, c, float(d)] for s, c, d in off])},
        )

    return _check


channel_spend_conserved = spend_conserved_by("channel", "segment_channel_roi", "allocated_spend_usd")
campaign_spend_conserved = spend_conserved_by("campaign_id", "segment_campaign_performance", "spend_usd")


@dg.asset_check(asset=["marts", "ab_test_results"], name="no_sample_ratio_mismatch",
                description="No experiment shows a sample-ratio mismatch on its whole population "
                            "(segmentation 'all'); a mismatch means the randomisation or logging is broken "
                            "and the experiment's lifts should not be trusted.")
def no_sample_ratio_mismatch(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        flagged = con.execute(
            "select experiment_id, variant, n_control, n_variant, srm_p_value from marts.ab_test_results"
            " where segmentation = 'all' and srm_flag order by all"
        ).fetchall()
        cells = con.execute("select count(*) filter (where srm_flag) from marts.ab_test_results").fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=not flagged, severity=dg.AssetCheckSeverity.WARN,
        metadata={"experiments_with_srm": dg.MetadataValue.json([list(map(str, r)) for r in flagged]),
                  "segment_cells_with_srm": cells},
    )


roi_checks = [attributed_revenue_within_revenue, channel_spend_conserved, campaign_spend_conserved,
              no_sample_ratio_mismatch]
