"""Quality assets: reports on how the sources fit together (silo coverage)."""
