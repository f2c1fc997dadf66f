"""Settings of the A/B analysis (roi.ab_tests in config/pipeline.yaml)."""

from pipelines.config import pipeline_config


def roi_config() -> dict:
    return pipeline_config()["roi"]


def ab_settings() -> dict:
    """alpha, power, fdr, srm_alpha and expected_split for marts.ab_test_results."""
    cfg = roi_config().get("ab_tests", {})
    return {
        "alpha": float(cfg.get("alpha", 0.05)),
        "power": float(cfg.get("power", 0.8)),
        "fdr": float(cfg.get("fdr", 0.05)),
        "srm_alpha": float(cfg.get("srm_alpha", 0.001)),
        "expected_split": cfg.get("expected_split"),
    }
