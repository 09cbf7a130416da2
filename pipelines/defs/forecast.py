"""Forecast: volumes per country, the budget under every table, and the backtest.

Thin wrappers over ``pipelines.forecast`` (which calls ``models``). ``budget_forecast``
re-draws the simulation stored in ``volume_forecast`` (same draws, seed, horizon), so
the money is priced on exactly the volumes that table shows.
"""

import dagster as dg

from models.backtest import TOTAL
from models.volume import MIN_HISTORY_MONTHS
from pipelines.defs.entitlements import ENTITLEMENTS, ScenarioFilesConfig
from pipelines.defs.ingest import DOSSIER_PERSONS
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import WarehouseResource
from pipelines.forecast import DEFAULT_BACKTEST as BACKTEST
from pipelines.forecast import (
    DEFAULT_DRAWS,
    budget_level_gaps,
    build_budget_forecast,
    build_forecast_backtest,
    build_volume_forecast,
    ensure_year_baseline,
    months_of_history,
    simulate,
    simulation_of_volume_forecast,
)
from pipelines.freshness import record_build
from pipelines.warehouse import query_frame

GROUP = "forecast"
VOLUME_FORECAST = dg.AssetKey("volume_forecast")
BUDGET_FORECAST = dg.AssetKey("budget_forecast")
BUDGET_FORECAST_CASH = dg.AssetKey("budget_forecast_cash")
FORECAST_BACKTEST = dg.AssetKey("forecast_backtest")

# Asset check names.
BUDGET_LEVELS_ADD_UP = "budget_levels_add_up"
BACKTEST_COVERAGE_80 = "backtest_coverage_80"
BACKTEST_BEATS_SEASONAL_NAIVE = "backtest_beats_seasonal_naive"
COVERAGE_TARGET = (0.70, 0.90)


def enough_history(context: dg.AssetExecutionContext, con, needed: int, what: str) -> bool:
    """False (and a warning saying why) when the warehouse is too young: the asset is then
    not materialised and what depends on it is skipped, instead of failing the run."""
    months = months_of_history(con)
    if months >= needed:
        return True
    why = f"the warehouse holds {months} complete months of registrations; {what} needs {needed}"
    context.log.warning(f"not materialised: {why}")
    record_build(con, context.asset_key.path[-1], skipped=why)
    return False


class VolumeForecastConfig(dg.Config):
    """Joint draws of the horizon (the rest of the year and the next calendar year)."""

    draws: int = DEFAULT_DRAWS
    seed: int = 0


@dg.asset(
    key=VOLUME_FORECAST,
    deps=[DOSSIER_PERSONS],
    group_name=GROUP,
    pool="warehouse",
    output_required=False,
    description="Registering dossiers and persons per return country, country group and "
    "in total, per month of the horizon: mean, 80 % and 95 % intervals from joint draws "
    "of the pooled negative-binomial volume model.",
)
def volume_forecast(
    context: dg.AssetExecutionContext, config: VolumeForecastConfig, warehouse: WarehouseResource
):
    with warehouse.get_connection() as con:
        if not enough_history(context, con, MIN_HISTORY_MONTHS, "the volume model"):
            return
        sim = simulate(con, config.draws, config.seed, progress=context.log.info)
        rows = build_volume_forecast(con, simulation=sim)
        by_group = query_frame(
            con,
            """SELECT "key" AS country_group, unit, year("month") AS year,
                      round(sum(mean)) AS mean
               FROM volume_forecast WHERE level IN ('group', 'total')
               GROUP BY ALL ORDER BY year, unit, country_group""",
        )
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows.height,
            "origin": f"{rows['origin'][0]:%Y-%m}",
            "draws": config.draws,
            "expected_by_group_and_year": dg.MetadataValue.md(markdown_table(by_group, 40)),
        }
    )


@dg.asset(
    key=BUDGET_FORECAST,
    # entitlements: this year's commitments to date, where the bridge to next year starts
    deps=[VOLUME_FORECAST, ENTITLEMENTS],
    group_name=GROUP,
    pool="warehouse",
    description="Cost per table (2025, 2026, scenarios, each minus 2025 paired draw by "
    "draw), level (country, category, total), month and year, and budget line: mean, "
    "80 % and 95 % intervals in EUR; plus budget_assumptions, the working parameters "
    "and how much of next year's total rests on each; budget_bands, the yearly totals "
    "with the working-parameter ranges and the volume response drawn (volume_response: "
    "the elasticity and its evidence); budget_bridge, this year to next in volume, mix "
    "and price.",
    check_specs=[dg.AssetCheckSpec(BUDGET_LEVELS_ADD_UP, asset=BUDGET_FORECAST)],
)
def budget_forecast(
    context: dg.AssetExecutionContext, config: ScenarioFilesConfig, warehouse: WarehouseResource
):
    with warehouse.get_connection() as con:
        sim = simulation_of_volume_forecast(con, progress=context.log.info)
        yearly = build_budget_forecast(
            con, scenario_files=config.files(), simulation=sim, progress=context.log.info
        )
        baseline = ensure_year_baseline(
            con,
            sim.origin,
            sim.sampling.draws,
            sim.seed,
            config.files(),
            progress=context.log.info,
        )
        resting = query_frame(
            con,
            """SELECT "table", parameter, rule, "values",
                      round(resting_cents / 100) AS resting_eur,
                      round(100 * resting_share, 1) AS resting_pct
               FROM budget_assumptions WHERE resting_cents IS NOT NULL
               ORDER BY "table", resting_cents DESC""",
        )
        rows = query_frame(con, "SELECT count(*) AS n FROM budget_forecast")["n"][0]
        gaps = budget_level_gaps(con)
    yield dg.MaterializeResult(
        asset_key=BUDGET_FORECAST,
        metadata={
            "dagster/row_count": rows,
            "yearly_totals_eur": dg.MetadataValue.md(markdown_table(yearly)),
            "baseline_archived": str(baseline) if baseline else "already archived or too early",
            "working_parameters": dg.MetadataValue.md(markdown_table(resting, 40)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=BUDGET_FORECAST,
        check_name=BUDGET_LEVELS_ADD_UP,
        passed=not gaps,
        description="per table, period and line the country and category means add up to "
        "the total, and the months to the year, within the cent rounding of each mean",
        metadata={"gaps": dg.MetadataValue.json(gaps[:20])},
    )


@dg.asset(
    key=BUDGET_FORECAST_CASH,
    deps=[BUDGET_FORECAST],
    group_name=GROUP,
    pool="warehouse",
    description="The budget on the cash basis: each line in the months it is paid "
    "(registration → departure delay from the departed dossiers, payment lags from "
    "rules/parameters/payment_lags.yaml, working), from the same draws as budget_forecast, "
    "plus the open dossiers registered by the origin; per table, level (partner, "
    "category, part, total), month, year and 'after horizon', and line.",
)
def budget_forecast_cash(
    context: dg.AssetExecutionContext, config: ScenarioFilesConfig, warehouse: WarehouseResource
):
    from pipelines.cash import build_cash_forecast

    with warehouse.get_connection() as con:
        sim = simulation_of_volume_forecast(con, progress=context.log.info)
        forecast = build_cash_forecast(
            con, simulation=sim, scenario_files=config.files(), progress=context.log.info
        )
        rows = query_frame(con, "SELECT count(*) AS n FROM budget_forecast_cash")["n"][0]
    delays = {group: f"{d.source} ({d.departures})" for group, d in forecast.delays.items()}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "yearly_cash_eur": dg.MetadataValue.md(markdown_table(forecast.yearly)),
            "open_dossiers": forecast.open_dossiers,
            "delays": dg.MetadataValue.json(delays),
        }
    )


@dg.asset(
    key=FORECAST_BACKTEST,
    deps=[DOSSIER_PERSONS],
    group_name=GROUP,
    pool="warehouse",
    output_required=False,
    description="Rolling-origin backtest of the volume model (12-month horizon): MASE "
    "against seasonal naive and exponential smoothing, 80 %/95 % interval coverage and "
    "annual bias, per country group and in total.",
)
def forecast_backtest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    needed = BACKTEST.min_history_months + BACKTEST.horizon
    with warehouse.get_connection() as con:
        if not enough_history(context, con, needed, "the backtest"):
            return
        result = build_forecast_backtest(con, progress=context.log.info)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.height,
            "backtest": dg.MetadataValue.md(markdown_table(result.drop("first_origin"))),
        },
    )


# The backtest's checks are separate ops (they read the stored table) so that they are
# skipped with the asset when the warehouse is too young for a backtest.
def backtest_total(warehouse: WarehouseResource) -> dict:
    with warehouse.get_connection() as con:
        rows = query_frame(
            con, "SELECT * FROM forecast_backtest WHERE country_group = $total", {"total": TOTAL}
        )
    return rows.row(0, named=True)


@dg.asset_check(asset=FORECAST_BACKTEST, name=BACKTEST_COVERAGE_80)
def backtest_coverage_80(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    total = backtest_total(warehouse)
    low, high = COVERAGE_TARGET
    return dg.AssetCheckResult(
        passed=low <= total["coverage80"] <= high,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"80 % intervals cover {low:.0%}-{high:.0%} of the monthly totals",
        metadata={"coverage80": total["coverage80"], "coverage95": total["coverage95"]},
    )


@dg.asset_check(asset=FORECAST_BACKTEST, name=BACKTEST_BEATS_SEASONAL_NAIVE)
def backtest_beats_seasonal_naive(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    total = backtest_total(warehouse)
    return dg.AssetCheckResult(
        passed=total["mase_model"] < total["mase_seasonal_naive"],
        severity=dg.AssetCheckSeverity.WARN,
        description="the model's MASE of the monthly total is below seasonal naive's",
        metadata={
            "mase_model": total["mase_model"],
            "mase_seasonal_naive": total["mase_seasonal_naive"],
            "annual_bias": total["annual_bias"],
        },
    )
