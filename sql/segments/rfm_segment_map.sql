-- ref.rfm_segment_map: one row per RFM score cell (r, f, m each 1-5: all 125 cells) and its named
-- segment. FM = floor((f + m + 1) / 2), i.e. the mean of F and M rounded half up. Rules, first match wins:
--   champions            R 4-5, FM 4-5     bought recently, often, and spend the most
--   loyal_customers      R 3-5, FM 3-5     (not champions) buy regularly and spend well
--   new_customers        R 4-5, FM 1       bought recently for the first time(s)
--   potential_loyalists  R 4-5, FM 2       recent, average frequency and spend
--   promising            R 3,   FM 1       recent-ish first-time buyers
--   need_attention       R 3,   FM 2       middling on every axis
--   about_to_sleep       R 2,   FM 1-2     below-average recency and value
--   cant_lose_them       R 1,   FM 4-5     used to buy often and spend a lot, long ago
--   at_risk              R 1-2, FM 3-5     (not above) spent well, but not recently
--   hibernating          R 1,   FM 1-3     (not above) last bought long ago, little
-- Inputs: none (a closed-form mapping).

with cells as (
    select r.range as r, f.range as f, m.range as m, (f.range + m.range + 1) // 2 as fm
    from range(1, 6) r, range(1, 6) f, range(1, 6) m
)

select
    r::integer as r_score,
    f::integer as f_score,
    m::integer as m_score,
    fm::integer as fm_score,
    case
        when r >= 4 and fm >= 4 then 'champions'
        when r >= 3 and fm >= 3 then 'loyal_customers'
        when r >= 4 and fm = 1 then 'new_customers'
        when r >= 4 and fm = 2 then 'potential_loyalists'
        when r = 3 and fm = 1 then 'promising'
        when r = 3 and fm = 2 then 'need_attention'
        when r = 2 and fm <= 2 then 'about_to_sleep'
        when r = 1 and fm >= 4 then 'cant_lose_them'
        when r <= 2 and fm >= 3 then 'at_risk'
        else 'hibernating'
    end as rfm_segment
from cells
order by r, f, m
