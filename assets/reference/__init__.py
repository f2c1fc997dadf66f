"""Reference data: ISO countries and currencies, blocked identifier values."""
