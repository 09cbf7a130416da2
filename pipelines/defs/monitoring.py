"""Misuse monitoring: indicator values, alarms (with a check that fails on new ones),
and the evaluation of the detectors.

Thin wrappers over ``pipelines.monitoring`` (which calls ``models.monitoring``).
"""

import dagster as dg
import polars as pl

from pipelines.defs.entitlements import ENTITLEMENTS
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import WarehouseResource
from pipelines.forecast import months_of_history
from pipelines.monitoring import build_monitoring, build_monitoring_evaluation
from pipelines.warehouse import query_frame

GROUP = "monitoring"
MISUSE_INDICATORS = dg.AssetKey("misuse_indicators")
MISUSE_ALARMS = dg.AssetKey("misuse_alarms")
MONITORING_EVALUATION = dg.AssetKey("monitoring_evaluation")

# Asset check names.
NO_NEW_MISUSE_ALARMS = "no_new_misuse_alarms"
FALSE_ALARMS_BELOW_5_PERCENT = "false_alarms_below_5_percent"
FALSE_ALARM_LIMIT = 0.05


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MISUSE_INDICATORS,
            deps=[ENTITLEMENTS],
            group_name=GROUP,
            description="Every misuse indicator per grouping (nationality, return country "
            "where it differs), country and registration month, with its expectation, "
            "upper bound, score, p-value and method; plus misuse_focus (the countries whose "
            "restriction was lifted, against their own history before 2025).",
        ),
        dg.AssetSpec(
            MISUSE_ALARMS,
            deps=[MISUSE_INDICATORS],
            group_name=GROUP,
            description="Tested indicator values with Benjamini-Hochberg q-values per month, "
            "the alarm decision and its reason; misuse_alarm_log records when each alarm "
            "was first seen.",
        ),
    ],
    check_specs=[dg.AssetCheckSpec(NO_NEW_MISUSE_ALARMS, asset=MISUSE_ALARMS)],
    pool="warehouse",
)
def misuse_monitoring(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        if not months_of_history(con):
            context.log.warning("nothing to monitor: no complete month of registrations yet")
            for key in (MISUSE_INDICATORS, MISUSE_ALARMS):
                yield dg.MaterializeResult(asset_key=key, metadata={"note": "no month yet"})
            yield dg.AssetCheckResult(
                check_name=NO_NEW_MISUSE_ALARMS,
                asset_key=MISUSE_ALARMS,
                passed=True,
                description="nothing to monitor yet",
            )
            return
        result = build_monitoring(con, progress=context.log.info)
        latest = query_frame(
            con,
            """SELECT country, indicator, observed, round(expected, 1) AS expected,
                      round(q_value, 4) AS q_value
               FROM misuse_alarms WHERE alarm AND month = (SELECT max(month) FROM misuse_alarms)
               ORDER BY q_value""",
        )
    month = f"{result.last_month:%Y-%m}"
    yield dg.MaterializeResult(
        asset_key=MISUSE_INDICATORS,
        metadata={"dagster/row_count": result.indicators, "latest_month": month},
    )
    yield dg.MaterializeResult(
        asset_key=MISUSE_ALARMS,
        metadata={
            "dagster/row_count": result.tested,
            "latest_month": month,
            "alarms_all_months": result.alarms.height,
            "alarms_latest_month": latest.height,
            "latest_month_alarms": dg.MetadataValue.md(markdown_table(latest, 30)),
        },
    )
    new = result.new_alarms
    yield dg.AssetCheckResult(
        check_name=NO_NEW_MISUSE_ALARMS,
        asset_key=MISUSE_ALARMS,
        passed=new.height == 0,
        severity=dg.AssetCheckSeverity.WARN,  # a finding for staff, not a broken run
        description=(
            "no alarm that was not seen before"
            if new.height == 0
            else f"{new.height} new alarm(s): " + " | ".join(new["reason"].head(20).to_list())
        ),
        metadata={"new_alarms": new.height},
    )


class EvaluationConfig(dg.Config):
    """Trials per noise model and surge factor (clean, x2, x3)."""

    trials: int = 30
    seed: int = 0


@dg.asset(
    key=MONITORING_EVALUATION,
    group_name=GROUP,
    pool="warehouse",
    description="The volume detectors on the demo generator's plan with simulated noise: "
    "false-alarm rate on clean data, detection within 2 months and median delay of "
    "injected x2 and x3 surges in mid-sized countries; next to an oracle that knows the "
    "true expectation (the limit under the same alarm rule).",
    check_specs=[dg.AssetCheckSpec(FALSE_ALARMS_BELOW_5_PERCENT, asset=MONITORING_EVALUATION)],
)
# Not part of the main job: it judges the detectors (on the demo plan), not the data;
# run it when they change (monitoring_evaluation_job, or benchmarks/monitoring.py).
def monitoring_evaluation(
    context: dg.AssetExecutionContext, config: EvaluationConfig, warehouse: WarehouseResource
):
    with warehouse.get_connection() as con:
        frame = build_monitoring_evaluation(con, config.trials, config.seed, context.log.info)
    ours = frame.filter(pl.col("detector") == "detect_surges")
    worst = float(ours["false_alarm_rate"].max())
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "figures": dg.MetadataValue.md(markdown_table(frame.drop("surge_countries"), 10)),
        }
    )
    yield dg.AssetCheckResult(
        check_name=FALSE_ALARMS_BELOW_5_PERCENT,
        passed=worst <= FALSE_ALARM_LIMIT,
        description=f"highest false-alarm rate {worst:.2%} of tested country-months "
        f"(limit {FALSE_ALARM_LIMIT:.0%})",
    )


MONITORING_EVALUATION_JOB = "monitoring_evaluation_job"
monitoring_evaluation_job = dg.define_asset_job(
    MONITORING_EVALUATION_JOB,
    selection=dg.AssetSelection.assets(MONITORING_EVALUATION),
    description="Evaluate the misuse detectors on the demo plan (clean, x2, x3 surges).",
)
