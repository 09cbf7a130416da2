"""Forecasting (volumes, budget simulation, backtest) and monitoring statistics
(expected counts, share limits, alarms) — issues 4 and 5. No Dagster imports.
"""
