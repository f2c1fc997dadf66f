"""Raw layer: one asset per landing-contract source, loading the landed file as exported."""
