-- marts.rfm_scores: one row per customer with at least one completed order: quintile scores 1-5 for
-- recency (5 = most recent), frequency and monetary value (5 = highest), and the named RFM segment.
-- Tie rule (deterministic): customers with equal values share a score; the score is
-- 1 + floor(5 * (rank - 1) / n) with rank() over the value (worst first), so reruns never move
-- tied customers between quintiles.
-- Inputs: marts.customer_features, ref.rfm_segment_map.

with buyers as (
    select customer_key, recency_days, frequency, monetary_usd
    from marts.customer_features
    where frequency > 0
),

scored as (
    select
        customer_key,
        recency_days,
        frequency,
        monetary_usd,
        1 + (5 * (rank() over (order by recency_days desc) - 1)) // count(*) over () as r_score,
        1 + (5 * (rank() over (order by frequency asc) - 1)) // count(*) over ()     as f_score,
        1 + (5 * (rank() over (order by monetary_usd asc) - 1)) // count(*) over ()  as m_score
    from buyers
)

select
    scored.customer_key,
    scored.recency_days,
    scored.frequency,
    scored.monetary_usd,
    scored.r_score::integer as r_score,
    scored.f_score::integer as f_score,
    scored.m_score::integer as m_score,
    map.fm_score,
    map.rfm_segment
from scored
join ref.rfm_segment_map map using (r_score, f_score, m_score)
order by customer_key
