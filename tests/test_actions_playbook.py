"""Recommended action per segment: the playbook file, its application in marts.segment_actions
(action, consented audience, expected value, observed lift where an experiment measured it)."""
import pytest

from assets.predict.actions import load_playbook, rule_case, rules_table


def test_playbook_rules_are_complete():
    playbook = load_playbook()
    names = [r["name"] for r in playbook["rules"]]
    assert {"win_back_high_value_slipping", "retarget_cart_abandoners", "onboard_new_customers",
            "reward_repeat_buyers"} <= set(names)
    assert len(set(names)) == len(names)
    assert rules_table(playbook)[0][0] == 0 and "else 0" in rule_case(playbook)


def test_playbook_rule_without_action_is_refused(tmp_path):
    bad = tmp_path / "playbook.yaml"
    bad.write_text("rules:\n  - {name: x, where: 'true', channel: email}\ndefault: {name: d, action: a, channel: email}\n")
    with pytest.raises(ValueError, match="lacks"):
        load_playbook(bad)


def test_every_segment_gets_exactly_one_action(pipeline_run):
    segments = pipeline_run.query("select count(distinct (segmentation, segment)) from marts.customer_segments")[0][0]
    rows, distinct, no_action = pipeline_run.query(
        "select count(*), count(distinct (segmentation, segment)), count(*) filter (where action is null) "
        "from marts.segment_actions")[0]
    assert rows == distinct == segments and no_action == 0


def test_first_matching_rule_wins(pipeline_run):
    """Recompute the rule from the profile columns: the first rule whose condition holds."""
    playbook = load_playbook()
    rows = pipeline_run.query(f"select rule_name, {rule_case(playbook)} from marts.segment_actions")
    names = {i: name for i, name, _, _ in rules_table(playbook)}
    assert all(rule_name == names[index] for rule_name, index in rows)
    applied = {r[0] for r in rows}
    assert len(applied) >= 3, applied
    assert pipeline_run.query("select action from marts.segment_actions where segmentation = 'marketing_focus' "
                              "and segment = 'cart_abandoners'") == [("retargeting with an incentive",)]


def test_audience_with_consent_and_expected_value_recomputed(pipeline_run):
    recomputed = dict(((s, g), (n, ev)) for s, g, n, ev in pipeline_run.query("""
        select s.segmentation, s.segment, count(*) filter (where f.marketing_opt_in),
               coalesce(sum(c.propensity * coalesce(c.predicted_clv_usd, 0)) filter (where f.marketing_opt_in), 0)
        from marts.customer_segments s join marts.customer_features f using (customer_key)
        join marts.customer_scores c using (customer_key) group by all"""))
    published = pipeline_run.query(
        "select segmentation, segment, audience_with_consent, expected_value_usd, customers from marts.segment_actions")
    for segmentation, segment, audience, value, customers in published:
        n, ev = recomputed[(segmentation, segment)]
        assert audience == n and abs(value - ev) < 1e-6 and audience <= customers


def test_observed_lift_only_where_an_experiment_measured_it(pipeline_run):
    rows = pipeline_run.query("select observed_rel_lift, lift_experiments, incremental_value_usd, expected_value_usd "
                              "from marts.segment_actions")
    for lift, experiments, incremental, value in rows:
        if lift is None:
            assert incremental is None and experiments is None
        else:
            assert experiments and abs(incremental - value * lift) < 1e-6
