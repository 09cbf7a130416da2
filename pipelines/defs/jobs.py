"""Jobs that span domains."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.monitoring import MONITORING_EVALUATION

MAIN_JOB = "main_job"

main_job = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(MONITORING_EVALUATION),
    description="The whole pipeline: ingest the landing folder, then everything downstream.",
)
