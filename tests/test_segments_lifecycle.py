"""Lifecycle segments follow the documented rules on recency, P(alive) and tenure."""


def test_lifecycle_recomputed_from_features(pipeline_run):
    mismatched = pipeline_run.query(
        """select count(*) from marts.customer_segments s join marts.customer_features f using (customer_key)
           where s.segmentation = 'lifecycle' and s.segment != case
               when f.frequency = 0 then 'prospect'
               when f.tenure_days <= 90 then 'new'
               when f.recency_days > 365 or f.p_alive < 0.2 then 'churned'
               when f.recency_days > 180 or f.p_alive < 0.5 then 'at_risk'
               else 'active' end""")[0][0]
    assert mismatched == 0
    segments = {r[0] for r in pipeline_run.query(
        "select distinct segment from marts.customer_segments where segmentation = 'lifecycle'")}
    assert {"prospect", "new", "active", "at_risk"} <= segments


def test_p_alive_drives_churn_risk(pipeline_run):
    """Buyers scored churned or at risk have a lower mean P(alive) than active ones."""
    means = dict(pipeline_run.query(
        """select s.segment, avg(f.p_alive) from marts.customer_segments s join marts.customer_features f
           using (customer_key) where s.segmentation = 'lifecycle' and f.p_alive is not null group by all"""))
    assert means["at_risk"] < means["active"]
