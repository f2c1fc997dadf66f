-- marts.segment_transitions: customers moving between segments from one run to the next.
-- Grain: one row per segmentation, pair of consecutive run dates (of that segmentation in
-- marts.segment_history), and (from_segment, to_segment), including staying (from = to).
-- Only customers present in both runs count, so per segmentation and run pair the customers sum
-- to the customers present in both runs. ML cluster names are numbered by size per run, so an
-- ml_cluster "transition" may be a renaming; read those with the profiles of both runs.
-- Input: marts.segment_history.

with history as (
    select run_date, segmentation, customer_key, segment from marts.segment_history
),

runs as (
    select distinct segmentation, run_date from history
),

consecutive as (
    select
        segmentation,
        lag(run_date) over (partition by segmentation order by run_date) as from_run_date,
        run_date                                                         as to_run_date
    from runs
),

moves as (
    select
        c.segmentation,
        c.from_run_date,
        c.to_run_date,
        before.segment as from_segment,
        after.segment  as to_segment
    from consecutive c
    join history before on before.segmentation = c.segmentation and before.run_date = c.from_run_date
    join history after
      on after.segmentation = c.segmentation and after.run_date = c.to_run_date
     and after.customer_key = before.customer_key
)

select
    segmentation,
    from_run_date,
    to_run_date,
    from_segment,
    to_segment,
    from_segment = to_segment as stayed,
    count(*)                  as customers
from moves
group by all
order by segmentation, from_run_date, from_segment, to_segment
