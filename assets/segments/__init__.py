"""Segmentations: RFM, lifecycle, demographic, geographic, analyst-defined and ML clusters."""
