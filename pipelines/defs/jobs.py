"""Jobs that span domains."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.monitoring import MONITORING_EVALUATION
from pipelines.defs.report import MANAGEMENT_REPORT, TIMEZONE

MAIN_JOB = "main_job"

main_job = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.assets(MONITORING_EVALUATION, MANAGEMENT_REPORT),
    description="The whole pipeline: ingest the landing folder, then everything downstream "
    "(the report and the detector evaluation have jobs of their own).",
)

nightly_pipeline_schedule = dg.ScheduleDefinition(
    name="nightly_pipeline_schedule",
    job=main_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The whole pipeline every night at 02:00 (Brussels).",
)
