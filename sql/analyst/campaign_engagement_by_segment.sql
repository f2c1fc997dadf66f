-- Email engagement by RFM segment: open and click-through rates of each email campaign per segment,
-- with attributed conversions and ROI.
-- Reads: marts.segment_campaign_performance.
select
    campaign_id,
    campaign_name,
    segment,
    recipients,
    open_rate,
    click_through_rate,
    conversions,
    revenue_usd,
    spend_usd,
    roi
from marts.segment_campaign_performance
where segmentation = 'rfm' and channel = 'email' and recipients > 0
order by campaign_id, click_through_rate desc, segment
