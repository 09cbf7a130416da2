"""Jobs that span domains."""

from __future__ import annotations

import dagster as dg

MAIN_JOB = "main_job"

main_job = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all(),
    description="The whole pipeline: ingest the landing folder, then everything downstream.",
)
