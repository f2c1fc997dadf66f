-- CAC and ROI by channel: spend, customers acquired and attributed revenue per marketing channel,
-- over the RFM segmentation (each segmentation partitions the same customers, so any one of them
-- gives the channel totals).
-- Reads: marts.segment_channel_roi.
select
    channel,
    sum(allocated_spend_usd)                                                        as spend_usd,
    sum(new_customers)                                                              as new_customers,
    round(sum(allocated_spend_usd) / nullif(sum(new_customers), 0), 2)              as cac_usd,
    sum(attributed_revenue_usd)                                                     as attributed_revenue_usd,
    round((sum(attributed_revenue_usd) - sum(allocated_spend_usd)) / nullif(sum(allocated_spend_usd), 0), 4) as roi
from marts.segment_channel_roi
where segmentation = 'rfm'
group by channel
order by spend_usd desc
