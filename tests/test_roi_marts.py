"""ROI marts recomputed independently from the staged tables (polars, not the models' SQL): revenue,
attribution, spend allocation, CAC, ROI and ROMI to the cent; spend conserved per segment x channel."""
import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from assets.roi.params import roi_config
from tests.conftest import AS_OF

CENT = Decimal("0.01")


def frame(run, sql: str) -> pl.DataFrame:
    con = run.connect()
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def recomputed(pipeline_run):
    """Per segmentation x segment: revenue, attributed revenue, spend (largest remainder, numpy), new
    customers, all from staging.* and marts.customer_identity / customer_segments."""
    cfg = roi_config()
    window_start = dt.datetime.combine(AS_OF - dt.timedelta(days=int(cfg["window_days"])), dt.time())
    window_end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time())
    attribution = dt.timedelta(days=int(cfg["attribution_window_days"]))
    identity = frame(pipeline_run, "select source, record_key, customer_key from marts.customer_identity where not is_anonymous")
    segments = frame(pipeline_run, "select customer_key, segmentation, segment from marts.customer_segments")
    campaigns = frame(pipeline_run, "select campaign_id, campaign_name, channel from staging.campaigns")

    all_orders = frame(pipeline_run, "select order_id, ordered_at, amount_usd, status from staging.crm_orders").join(
        identity.filter(pl.col("source") == "crm_orders"), left_on="order_id", right_on="record_key")
    completed = all_orders.filter(pl.col("status") == "completed")
    first_order = completed.group_by("customer_key").agg(pl.col("ordered_at").min().alias("first_order_at"))
    orders = completed.filter((pl.col("ordered_at") >= window_start) & (pl.col("ordered_at") < window_end))

    emails = frame(pipeline_run, "select campaign_id, recipient_key, event_type, occurred_at from staging.email_events"
                                 " where event_type in ('send', 'click')").join(
        identity.filter(pl.col("source") == "email_events"), left_on="recipient_key", right_on="record_key").join(
        campaigns, on="campaign_id")
    web = frame(pipeline_run, "select user_pseudo_id, traffic_campaign, event_at from staging.web_events"
                              " where event_name = 'session_start'").join(
        identity.filter(pl.col("source") == "web_events"), left_on="user_pseudo_id", right_on="record_key").join(
        campaigns.filter(pl.col("channel") != "email"), left_on="traffic_campaign", right_on="campaign_name")
    touches = pl.concat([
        emails.select("customer_key", "campaign_id", "channel",
                      pl.when(pl.col("event_type") == "send").then(pl.lit("reach")).otherwise(pl.lit("click")).alias("kind"),
                      pl.col("occurred_at").alias("at")),
        web.select("customer_key", "campaign_id", "channel", pl.lit("both").alias("kind"), pl.col("event_at").alias("at")),
    ])

    # last touch (click or paid visit) within the attribution window before the order; ties: later campaign id
    clicks = touches.filter(pl.col("kind") != "reach").sort("customer_key", "at", "campaign_id").unique(
        ["customer_key", "at"], keep="last").sort("at")
    attributed = orders.sort("ordered_at").join_asof(
        clicks.select("customer_key", "at", "campaign_id", "channel"), left_on="ordered_at", right_on="at",
        by="customer_key", strategy="backward")
    attributed = attributed.with_columns(
        pl.when(pl.col("at") > pl.col("ordered_at") - attribution).then(pl.col("channel")).alias("channel"),
        pl.when(pl.col("at") > pl.col("ordered_at") - attribution).then(pl.col("campaign_id")).alias("campaign_id"))

    # spend allocation: shares of reached customers, largest remainder in cents (ties by segment name)
    spend = frame(pipeline_run, f"""
        select campaign_id, channel, (sum(spend_usd) * 100)::bigint as cents from staging.ad_spend
        where spend_date >= date '{AS_OF}' - interval {int(cfg["window_days"])} day and spend_date <= date '{AS_OF}'
        group by all""")
    kinds = ("reach", "both") if cfg["spend_allocation"] == "reached" else ("click", "both")
    reached = touches.filter(pl.col("kind").is_in(kinds) & (pl.col("at") >= window_start) & (pl.col("at") < window_end)
                             ).select("customer_key", "campaign_id").unique()
    weights = reached.join(segments, on="customer_key").group_by("segmentation", "segment", "campaign_id").len("w")
    allocations = []
    for segmentation in segments["segmentation"].unique().to_list():
        for campaign_id, channel, cents in spend.iter_rows():
            w = weights.filter((pl.col("segmentation") == segmentation) & (pl.col("campaign_id") == campaign_id)).sort("segment")
            names = w["segment"].to_list() or ["(unreached)"]
            counts = np.array(w["w"].to_list() or [1], dtype=np.int64)
            floor = cents * counts // counts.sum()
            remainder = cents * counts % counts.sum()
            order = sorted(range(len(names)), key=lambda i: (-remainder[i], names[i]))
            extra = np.zeros(len(names), dtype=np.int64)
            extra[order[: cents - floor.sum()]] = 1
            for name, value in zip(names, floor + extra):
                allocations.append((segmentation, name, channel, campaign_id, int(value)))
    allocation = pl.DataFrame(allocations, orient="row",
                              schema=["segmentation", "segment", "channel", "campaign_id", "cents"])

    by_segment = (
        segments.join(attributed, on="customer_key")
        .group_by("segmentation", "segment")
        .agg((pl.col("amount_usd").cast(pl.Float64).sum() * 100).round().cast(pl.Int64).alias("revenue_cents"),
             (pl.col("amount_usd").cast(pl.Float64).filter(pl.col("campaign_id").is_not_null()).sum() * 100)
             .round().cast(pl.Int64).alias("attributed_cents"),
             pl.len().alias("orders"))
    )
    new = segments.join(first_order.filter(pl.col("first_order_at") >= window_start), on="customer_key").group_by(
        "segmentation", "segment").len("new_customers")
    spend_by_segment = allocation.group_by("segmentation", "segment").agg(pl.col("cents").sum().alias("spend_cents"))
    result = (spend_by_segment.join(by_segment, on=["segmentation", "segment"], how="full", coalesce=True)
              .join(new, on=["segmentation", "segment"], how="left").fill_null(0))
    return {"segments": result, "allocation": allocation, "attributed": attributed, "spend": spend}


def mart(run, table: str) -> pl.DataFrame:
    return frame(run, f"select * from marts.{table}")


def test_segment_roi_equals_independent_recomputation_to_the_cent(pipeline_run, recomputed):
    roi = mart(pipeline_run, "segment_roi")
    joined = roi.join(recomputed["segments"], on=["segmentation", "segment"], how="full", coalesce=True)
    assert joined.height == roi.height == recomputed["segments"].height
    for row in joined.iter_rows(named=True):
        key = (row["segmentation"], row["segment"])
        assert row["revenue_usd"] == Decimal(row["revenue_cents"]) * CENT, key
        assert row["attributed_revenue_usd"] == Decimal(row["attributed_cents"]) * CENT, key
        assert row["allocated_spend_usd"] == Decimal(row["spend_cents"]) * CENT, key
        assert row["orders"] == row["orders_right"], key
        assert row["new_customers"] == row["new_customers_right"], key
        spend = row["spend_cents"] / 100
        if spend:
            assert row["roi"] == pytest.approx((row["attributed_cents"] / 100 - spend) / spend, abs=1e-4), key
            margin = float(roi_config()["gross_margin_rate"])
            assert row["romi"] == pytest.approx((row["attributed_cents"] / 100 * margin - spend) / spend, abs=1e-4), key
        if row["new_customers_right"]:
            assert row["cac_usd"] == pytest.approx(spend / row["new_customers_right"], abs=0.005 + 1e-9), key  # rounded to cents: at most half a cent off
        else:
            assert row["cac_usd"] is None, key


def test_romi_differs_from_roi_by_the_margin(pipeline_run):
    margin = float(roi_config()["gross_margin_rate"])
    rows = mart(pipeline_run, "segment_roi").filter(pl.col("allocated_spend_usd") > 0)
    assert rows.height > 0
    for row in rows.iter_rows(named=True):
        assert row["romi"] == pytest.approx(row["roas"] * margin - 1, abs=2e-4)
        if row["attributed_revenue_usd"] > 0 and margin < 1:
            assert row["romi"] < row["roi"]


def test_spend_allocation_conserved_to_the_cent_per_segment_and_channel(pipeline_run, recomputed):
    spend = recomputed["spend"]
    channel_total = spend.group_by("channel").agg(pl.col("cents").sum())
    channel = mart(pipeline_run, "segment_channel_roi")
    per_channel = channel.group_by("segmentation", "channel").agg(
        (pl.col("allocated_spend_usd").cast(pl.Float64).sum() * 100).round().cast(pl.Int64).alias("allocated"))
    checked = per_channel.join(channel_total, on="channel", how="full", coalesce=True)
    assert checked.filter(pl.col("allocated") != pl.col("cents")).is_empty()
    assert per_channel["segmentation"].n_unique() == mart(pipeline_run, "segment_roi")["segmentation"].n_unique()
    # and every segment x channel cell equals the independent largest-remainder allocation
    expected = recomputed["allocation"].group_by("segmentation", "segment", "channel").agg(pl.col("cents").sum())
    cells = channel.select("segmentation", "segment", "channel",
                           (pl.col("allocated_spend_usd").cast(pl.Float64) * 100).round().cast(pl.Int64).alias("allocated"))
    both = cells.join(expected, on=["segmentation", "segment", "channel"], how="full", coalesce=True).fill_null(0)
    assert both.filter(pl.col("allocated") != pl.col("cents")).is_empty()
    # per campaign as well (segment_campaign_performance)
    campaign = mart(pipeline_run, "segment_campaign_performance").group_by("segmentation", "campaign_id").agg(
        (pl.col("spend_usd").cast(pl.Float64).sum() * 100).round().cast(pl.Int64).alias("allocated"))
    campaign_total = spend.group_by("campaign_id").agg(pl.col("cents").sum())
    assert campaign.join(campaign_total, on="campaign_id", how="full", coalesce=True).filter(
        pl.col("allocated") != pl.col("cents")).is_empty()


def test_channel_and_campaign_marts_reconcile_with_segment_roi(pipeline_run, recomputed):
    roi = mart(pipeline_run, "segment_roi").select("segmentation", "segment", "attributed_revenue_usd", "allocated_spend_usd")
    for table, revenue, spend in (("segment_channel_roi", "attributed_revenue_usd", "allocated_spend_usd"),
                                  ("segment_campaign_performance", "revenue_usd", "spend_usd")):
        sums = mart(pipeline_run, table).group_by("segmentation", "segment").agg(
            pl.col(revenue).sum().alias("r"), pl.col(spend).sum().alias("s"))
        joined = roi.join(sums, on=["segmentation", "segment"], how="left").fill_null(0)
        bad = joined.filter((pl.col("r") != pl.col("attributed_revenue_usd")) | (pl.col("s") != pl.col("allocated_spend_usd")))
        assert bad.is_empty(), (table, bad.head())
    # attributed revenue per channel equals the independent attribution
    attributed = recomputed["attributed"].filter(pl.col("channel").is_not_null())
    total = attributed.group_by("channel").agg((pl.col("amount_usd").cast(pl.Float64).sum() * 100).round().cast(pl.Int64).alias("c"))
    mart_total = mart(pipeline_run, "segment_channel_roi").filter(pl.col("segmentation") == "rfm").group_by("channel").agg(
        (pl.col("attributed_revenue_usd").cast(pl.Float64).sum() * 100).round().cast(pl.Int64).alias("m"))
    assert total.join(mart_total, on="channel", how="full", coalesce=True).fill_null(0).filter(pl.col("c") != pl.col("m")).is_empty()


def test_attributed_revenue_never_exceeds_revenue_and_check_ran(pipeline_run):
    roi = mart(pipeline_run, "segment_roi")
    assert roi.filter(pl.col("attributed_revenue_usd") > pl.col("revenue_usd")).is_empty()
    assert roi["attributed_revenue_usd"].sum() > 0
    evaluations = {(e.asset_check_key.name, e.passed) for e in pipeline_run.result.get_asset_check_evaluations()}
    for name in ("attributed_revenue_within_revenue", "channel_spend_conserved", "campaign_spend_conserved",
                 "spend_conserved"):
        assert (name, True) in evaluations, name


def test_campaign_rates_recomputed_from_email_events(pipeline_run):
    cfg = roi_config()
    rows = frame(pipeline_run, f"""
        with ev as (
            select i.customer_key, e.campaign_id, e.event_type
            from staging.email_events e
            join marts.customer_identity i on i.source = 'email_events' and i.record_key = e.recipient_key and not i.is_anonymous
            where e.occurred_at >= date '{AS_OF}' - interval {int(cfg["window_days"])} day
              and e.occurred_at < date '{AS_OF}' + interval 1 day
        )
        select s.segment, ev.campaign_id,
               count(distinct ev.customer_key) filter (where event_type = 'send') as recipients,
               count(distinct ev.customer_key) filter (where event_type = 'open') as openers,
               count(distinct ev.customer_key) filter (where event_type = 'click') as clickers,
               count(*) filter (where event_type = 'send') as sends
        from ev join marts.customer_segments s using (customer_key)
        where s.segmentation = 'lifecycle'
        group by all""")
    perf = mart(pipeline_run, "segment_campaign_performance").filter(
        (pl.col("segmentation") == "lifecycle") & (pl.col("channel") == "email"))
    joined = perf.join(rows, on=["segment", "campaign_id"], how="inner", suffix="_x")
    assert joined.filter(pl.col("recipients") > 0).height > 0
    for row in joined.iter_rows(named=True):
        assert (row["sends"], row["recipients"], row["openers"], row["clickers"]) == (
            row["sends_x"], row["recipients_x"], row["openers_x"], row["clickers_x"])
        if row["recipients"]:
            assert row["open_rate"] == pytest.approx(row["openers_x"] / row["recipients_x"], abs=1e-6)
            assert row["click_through_rate"] == pytest.approx(row["clickers_x"] / row["recipients_x"], abs=1e-6)
    assert mart(pipeline_run, "segment_campaign_performance").filter(
        (pl.col("channel") != "email") & pl.col("open_rate").is_not_null()).is_empty()


def test_allocation_rule_and_attribution_window_are_configurable(pipeline_run, tmp_path):
    """Re-run the allocation and attribution models on a copy of the warehouse with the other rule and a
    shorter window: spend is still conserved to the cent, the split changes, attributed revenue shrinks."""
    import shutil

    from assets.sql_model import standard_params as roi_params
    from assets.sql_model import create_table
    from pipelines.resources import PipelineSettings, Warehouse

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, copy)
    params = roi_params(PipelineSettings(as_of=AS_OF.isoformat()))
    with Warehouse(database=str(copy)).connect() as con:
        before = dict(con.execute("select segmentation || '/' || segment || '/' || campaign_id, allocated_spend_usd"
                                  " from marts.segment_spend_allocation").fetchall())
        attributed_before = con.execute("select sum(amount_usd) from marts.order_attribution"
                                        " where campaign_id is not null").fetchall()[0][0]
        create_table(con, "marts.segment_spend_allocation", "roi/segment_spend_allocation.sql",
                     {**params, "allocation": "clicks"})
        create_table(con, "marts.order_attribution", "roi/order_attribution.sql", {**params, "attribution_days": 3})
        after = dict(con.execute("select segmentation || '/' || segment || '/' || campaign_id, allocated_spend_usd"
                                 " from marts.segment_spend_allocation").fetchall())
        totals = con.execute("select segmentation, sum(allocated_spend_usd) from marts.segment_spend_allocation"
                             " group by all").fetchall()
        attributed_after = con.execute("select sum(amount_usd) from marts.order_attribution"
                                       " where campaign_id is not null").fetchall()[0][0]
    window_total = pipeline_run.query(
        f"select sum(spend_usd) from staging.ad_spend where spend_date >= date '{AS_OF}' - interval "
        f"{int(roi_config()['window_days'])} day and spend_date <= date '{AS_OF}'")[0][0]
    assert all(total == window_total for _, total in totals)
    assert before != after
    assert attributed_after < attributed_before
