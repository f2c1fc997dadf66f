-- A/B lifts by pre-treatment segment: every comparison with its absolute lift, 95% CI, q-value and
-- the sample-ratio check; significant comparisons first.
-- Reads: marts.ab_test_results.
select
    experiment_id,
    experiment_name,
    segmentation,
    segment,
    variant,
    n_control,
    n_variant,
    round(rate_control, 4)        as rate_control,
    round(rate_variant, 4)        as rate_variant,
    round(abs_lift, 4)            as abs_lift,
    round(abs_lift_ci_lower, 4)   as abs_lift_ci_lower,
    round(abs_lift_ci_upper, 4)   as abs_lift_ci_upper,
    round(q_value, 4)             as q_value,
    significant,
    srm_flag,
    round(mde_abs, 4)             as mde_abs
from marts.ab_test_results
order by significant desc, experiment_id, segmentation, segment, variant
