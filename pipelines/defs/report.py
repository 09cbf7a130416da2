"""The monthly management report (HTML, PDF, XLSX per language) and its schedule.

Thin wrapper over ``pipelines.report``; the report has its own job and schedule (the
first working day of each month, for the month before), not part of ``main_job``.
"""

import os
from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.calendar import first_working_day, is_working_day, parse_month, previous_month
from pipelines.defs.entitlements import ENTITLEMENTS, TABLE_COMPARISON
from pipelines.defs.forecast import BUDGET_FORECAST, FORECAST_BACKTEST
from pipelines.defs.ingest import INGESTED_FILES
from pipelines.defs.metadata import markdown_table
from pipelines.defs.monitoring import MISUSE_ALARMS
from pipelines.defs.resources import WarehouseResource
from pipelines.report import LANGUAGES, write_report
from pipelines.report.formatting import cell_text
from pipelines.report.labels import Labels

GROUP = "report"
MANAGEMENT_REPORT = dg.AssetKey("management_report")
REPORT_JOB = "report_job"
TIMEZONE = "Europe/Brussels"


def default_reports_dir() -> Path:
    return Path(os.environ.get("REAB_REPORTS", "reports"))


class ReportConfig(dg.Config):
    """``month`` as YYYY-MM (default: the latest complete month); ``out_dir`` default
    ``$REAB_REPORTS`` or ``reports`` under the working directory."""

    month: str | None = None
    languages: list[str] = list(LANGUAGES)
    out_dir: str | None = None
    # the schedule sets it: a report behind its data fails (and is tried again the next
    # working day) instead of being sent with warnings
    fail_on_warnings: bool = False


@dg.asset(
    key=MANAGEMENT_REPORT,
    deps=[
        INGESTED_FILES,
        ENTITLEMENTS,
        TABLE_COMPARISON,
        BUDGET_FORECAST,
        FORECAST_BACKTEST,
        MISUSE_ALARMS,
    ],
    group_name=GROUP,
    pool="warehouse",
    description="Monthly management report per language: a self-contained HTML page, its "
    "PDF and the finance workbook (XLSX); per-country counts below 5 are suppressed.",
)
def management_report(
    context: dg.AssetExecutionContext, config: ReportConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    month = parse_month(config.month) if config.month else None
    out_dir = Path(config.out_dir) if config.out_dir else default_reports_dir()
    with warehouse.get_connection() as con:
        written = write_report(
            con,
            out_dir.resolve(),
            month,
            config.languages,
            source=Path(warehouse.database).name,
            progress=context.log.info,
            strict=config.fail_on_warnings,
        )
    first = written[0].report
    for warning in first.warnings:
        context.log.warning(warning)
    L = Labels(first.lang)
    metadata: dict = {
        "month": f"{first.month:%Y-%m}",
        "languages": dg.MetadataValue.json([f.report.lang for f in written]),
        "files": dg.MetadataValue.json([str(p) for f in written for p in f.paths]),
        "headline": dg.MetadataValue.md("\n".join(f"- **{k}**: {v}" for k, v in first.facts)),
    }
    for f in written:
        metadata[f"html_{f.report.lang}"] = dg.MetadataValue.path(str(f.html))
    if any(s.key == "budget" and s.tables for s in first.sections):
        budget = first.table("budget")
        preview = pl.DataFrame(
            [
                [cell_text(L, c, v) for c, v in zip(budget.columns[:4], row[:4], strict=True)]
                for row in budget.rows
            ],
            schema=[c.label for c in budget.columns[:4]],
            orient="row",
        )
        metadata["budget_preview"] = dg.MetadataValue.md(markdown_table(preview))
    return dg.MaterializeResult(metadata=metadata)


report_job = dg.define_asset_job(
    REPORT_JOB,
    selection=dg.AssetSelection.assets(MANAGEMENT_REPORT),
    description="Write the management report of the month before (every language).",
)


REPORT_MONTH_TAG = "reab/report_month"


@dg.schedule(
    job=report_job,
    cron_schedule="0 7 1-7 * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def monthly_report_schedule(context: dg.ScheduleEvaluationContext):
    """At 07:00 on the month's first Belgian working day, the report of the month before.
    If that run fails (data late, say), the next working days of the first week try
    again, until one succeeds."""
    when = context.scheduled_execution_time or datetime.now()
    today = when.date()
    first = first_working_day(today.year, today.month)
    if today < first or not is_working_day(today):
        return dg.SkipReason(f"{today} is before or not a working day (first: {first})")
    month = f"{previous_month(today):%Y-%m}"
    done = context.instance.get_runs(
        filters=dg.RunsFilter(
            job_name=REPORT_JOB,
            tags={REPORT_MONTH_TAG: month},
            statuses=[dg.DagsterRunStatus.SUCCESS],
        ),
        limit=1,
    )
    if done:
        return dg.SkipReason(f"the report of {month} was written by run {done[0].run_id}")
    return dg.RunRequest(
        run_key=f"report-{month}-{today}",  # one try a day
        run_config={
            "ops": {"management_report": {"config": {"month": month, "fail_on_warnings": True}}}
        },
        tags={REPORT_MONTH_TAG: month},
    )
