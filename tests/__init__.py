"""Tests, in folders that mirror the toolkit package; shared helpers import as `tests.NAME`."""
