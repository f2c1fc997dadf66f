-- Top segments by ROI: the ten segments (any segmentation) that return the most per dollar of
-- allocated spend in the ROI window, with enough spend to matter (at least $100 allocated).
-- Reads: marts.segment_roi.
select
    segmentation,
    segment,
    customers,
    revenue_usd,
    attributed_revenue_usd,
    allocated_spend_usd,
    roi,
    romi,
    cac_usd
from marts.segment_roi
where allocated_spend_usd >= 100
order by roi desc, segmentation, segment
limit 10
