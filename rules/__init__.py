"""The rule core: the 2025 and 2026 support tables as dated parameters, one vectorised
engine (polars) and a plain-Python reference implementation (issue 3).

Pure functions over polars frames; no Dagster, no DuckDB.
"""
