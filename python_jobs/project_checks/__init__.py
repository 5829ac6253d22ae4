"""Checks of the dbt project's own conventions (run by `make lint` and the test suite)."""
