"""The Dagster code location: every module in ``pipelines/defs`` plus shared resources.

Jobs run in process, one step at a time: DuckDB allows one writer per file, and
every asset here writes to the same warehouse file.
"""

from __future__ import annotations

import warnings

import dagster as dg

from pipelines import defs as defs_package
from pipelines.defs.resources import default_warehouse

# Loading a package of modules is marked "preview" in Dagster 1.13; it is what we want.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = dg.load_definitions_from_package_module(
        defs_package,
        resources={"warehouse": default_warehouse()},
        executor=dg.in_process_executor,
    )
