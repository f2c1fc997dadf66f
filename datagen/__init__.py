"""Synthetic demo-data generator: landing files that follow config/landing_contract.yaml, plus ground truth."""

from .core import generate

__all__ = ["generate"]
