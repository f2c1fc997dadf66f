"""Recommended action per segment (config/playbook.yaml) and the account (company) roll-up."""

from pathlib import Path

import dagster as dg
import yaml

from assets.sql_model import comment_table, create_table, model_description, model_params, standard_params
from pipelines.contract import REPO_ROOT
from pipelines.resources import PipelineSettings, Warehouse, read_sql

GROUP = "predict"
PLAYBOOK = REPO_ROOT / "config" / "playbook.yaml"


def load_playbook(path: Path = PLAYBOOK) -> dict:
    """The playbook: ordered rules {name, where, action, channel} and a default {name, action, channel}."""
    playbook = yaml.safe_load(Path(path).read_text())
    for rule in playbook["rules"]:
        missing = {"name", "where", "action", "channel"} - set(rule)
        if missing:
            raise ValueError(f"playbook rule {rule.get('name', rule)} lacks {sorted(missing)}")
    if not {"name", "action", "channel"} <= set(playbook["default"]):
        raise ValueError("playbook default needs name, action and channel")
    return playbook


def rule_case(playbook: dict) -> str:
    """`case when <where 1> then 1 when <where 2> then 2 ... else 0 end`: the index of the first
    matching rule (0 = default). The predicates are analyst-written SQL from the playbook file."""
    whens = "\n".join(f"        when ({rule['where']}) then {i}" for i, rule in enumerate(playbook["rules"], start=1))
    return f"case\n{whens}\n        else 0\n    end"


def rules_table(playbook: dict) -> list[tuple]:
    default = playbook["default"]
    return [(0, default["name"], default["action"], default["channel"])] + [
        (i, r["name"], r["action"], r["channel"]) for i, r in enumerate(playbook["rules"], start=1)
    ]


def observed_lift_sql(con) -> str:
    """Per segmentation, segment and channel: the relative lift of significant experiments on that
    channel (weighted by assigned customers), or an empty relation when marts.ab_test_results is absent."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'ab_test_results'"
                         ).fetchall()[0][0]
    if not exists:
        return ("select null::varchar as segmentation, null::varchar as segment, null::varchar as channel, "
                "null::double as observed_rel_lift, null::varchar as lift_experiments where false")
    return """
        select r.segmentation, r.segment, c.channel,
               sum(r.rel_lift * (r.n_control + r.n_variant)) / sum(r.n_control + r.n_variant) as observed_rel_lift,
               string_agg(distinct r.experiment_id, ',' order by r.experiment_id)           as lift_experiments
        from marts.ab_test_results r
        join staging.experiments e using (experiment_id)
        join staging.campaigns c on c.campaign_id = e.campaign_id
        where r.significant and isfinite(r.rel_lift)
        group by all"""


@dg.asset(key=["marts", "segment_actions"], group_name=GROUP, kinds={"duckdb", "sql"},
          deps=[["marts", "customer_segments"], ["marts", "customer_features"], ["marts", "customer_scores"],
                ["marts", "customer_trends"], ["staging", "experiments"], ["staging", "campaigns"],
                ["marts", "ab_test_results"]],
          description="marts.segment_actions: one row per segmentation and segment: the profile the playbook "
                      "(config/playbook.yaml) conditions on, the recommended action and channel (first matching "
                      "rule), the audience with marketing consent, the expected value (propensity x CLV over "
                      "that audience) and, where a significant experiment on the action's channel measured it for "
                      "the segment, the observed lift and incremental value. Inputs: marts.customer_segments, "
                      "customer_features, customer_scores, customer_trends, ab_test_results (when present).")
def segment_actions(context: dg.AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """Apply the playbook to every segment."""
    playbook = load_playbook()
    with warehouse.connect() as con:
        profiles = read_sql("predict/segment_action_inputs.sql")
        con.execute(f"create or replace temp table _segment_profiles as {profiles}",
                    model_params(profiles, standard_params(settings)))
        con.execute("create or replace temp table _rules (rule_index integer, rule_name varchar, action varchar, channel varchar)")
        con.executemany("insert into _rules values (?, ?, ?, ?)", rules_table(playbook))
        try:
            con.execute(f"create or replace temp table _matched as select *, {rule_case(playbook)} as rule_index "
                        "from _segment_profiles")
        except Exception as error:  # name the playbook in the error, as the analyst will edit it
            raise ValueError(f"config/playbook.yaml: a rule's `where` is not valid SQL over the segment profile: {error}") from error
        con.execute(f"""
            create or replace table marts.segment_actions as
            with lift as ({observed_lift_sql(con)})
            select
                m.segmentation, m.segment,
                r.rule_name, r.action, r.channel,
                m.customers, m.consented_customers as audience_with_consent,
                m.mean_propensity, m.mean_churn_risk, m.slipping_share, m.mean_clv_usd,
                m.repeat_buyer_share, m.new_customer_share, m.cart_abandoner_share, m.prospect_share,
                m.expected_value_usd,
                lift.observed_rel_lift,
                lift.lift_experiments,
                m.expected_value_usd * lift.observed_rel_lift as incremental_value_usd
            from _matched m
            join _rules r using (rule_index)
            left join lift on lift.segmentation = m.segmentation and lift.segment = m.segment and lift.channel = r.channel
            order by m.segmentation, m.expected_value_usd desc, m.segment""")
        con.execute("drop table _segment_profiles")
        comment_table(con, "marts.segment_actions", "predict/segment_actions.yml")
        rows, with_lift = con.execute(
            "select count(*), count(observed_rel_lift) from marts.segment_actions").fetchall()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "segments_with_observed_lift": with_lift})


@dg.asset(key=["marts", "account_segments"], group_name=GROUP, kinds={"duckdb", "sql"},
          deps=[["marts", "customer_features"], ["marts", "customer_scores"], ["marts", "customer_segments"],
                ["marts", "order_attribution"], ["staging", "campaign_touches"], ["staging", "ad_spend"]],
          description=model_description("predict/account_segments.sql"),
          metadata={"sql": "sql/predict/account_segments.sql"})
def account_segments(settings: PipelineSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    """Contacts rolled up to their company for account-based marketing."""
    with warehouse.connect() as con:
        rows = create_table(con, "marts.account_segments", "predict/account_segments.sql", standard_params(settings))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})
