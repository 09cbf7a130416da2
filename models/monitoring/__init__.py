"""Misuse monitoring statistics (issue 5): volume surges per country against its own
past, share indicators against the programme and the country's own baseline, and
alarms with false-discovery control. Pure numpy/polars; no Dagster, no DuckDB."""
