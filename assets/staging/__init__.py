"""Staging layer: typed, cleaned tables; unusable rows to quality.quarantine, bad values to quality.defects."""
