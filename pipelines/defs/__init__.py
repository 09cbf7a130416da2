"""Dagster definitions grouped by domain; ``pipelines.definitions`` loads this package."""
