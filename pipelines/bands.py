"""Budget bands in the warehouse: the yearly totals with every uncertainty, and the
volume response behind them (``models.uncertainty``, ``models.response``).

Tables written:

- ``budget_bands``: per table (and each minus the baseline, paired), calendar year of
  the horizon, basis (same population / with volume response) and uncertainty
  (volumes / + working parameters / + response): mean and 80 %/95 % bounds in EUR;
- ``volume_response``: the estimated elasticity of registrations to support, its
  intervals and evidence; ``volume_response_events``: the support changes it rests on;
- ``volume_response_support``: per country, the mean support per dossier under each
  table in the last year of the horizon and the volume multiplier it implies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from models.bridge import YearCost, bridge
from models.budget import LINES, PricedTemplates, TemplatePricer, Templates
from models.forecast import DEFAULT_LEVELS, interval_columns, month_index, month_of
from models.response import (
    NotIdentifiedError,
    ResponseEstimate,
    draw_elasticities,
    estimate_response,
)
from models.uncertainty import (
    SUPPORT_FLOOR_EUR,
    band_rows,
    bands_frame,
    country_year_draws,
    difference,
    log_support,
    parameter_multipliers,
    support_by_month,
    table_draws,
)
from pipelines.warehouse import (
    cents_as_eur,
    forecast_money_sql,
    registered,
    replace_table,
    table_exists,
)
from rules.parameters import Table, applicable_rules, built_in_table

Progress = Callable[[str], None]
# The response is estimated on the last years of history only (the support index
# re-dates today's template dossiers; far back, the population differed more).
RESPONSE_HISTORY_MONTHS = 72


class MissingActuals(LookupError):
    """The warehouse lacks what a figure needs (said in the message)."""


def table_in_force(month: int) -> str:
    """The table a registration in ``month`` (index) gets."""
    rules = applicable_rules()
    new_from = month_index(rules.new_table_from.value)
    return rules.after_table if month >= new_from else rules.before_table


def history_support(templates: Templates, first_month: int, last_month: int) -> np.ndarray:
    """(countries × months) support per dossier in EUR, each month under the table in
    force then: the templates re-dated to every month of the history."""
    rules = applicable_rules()
    months = np.arange(first_month, last_month + 1)
    pricer = TemplatePricer(templates, months, built_in_table(rules.after_table))
    before = support_by_month(pricer, built_in_table(rules.before_table))
    after = support_by_month(pricer, built_in_table(rules.after_table))
    new_from = month_index(rules.new_table_from.value)
    return np.where((months >= new_from)[None, :], after, before)


def estimate_volume_response(
    countries: tuple[str, ...],
    first_month: int,
    dossiers: np.ndarray,
    templates: Templates,
) -> tuple[ResponseEstimate | None, NotIdentifiedError | None]:
    """The elasticity from the history (its last ``RESPONSE_HISTORY_MONTHS``), or None
    and why when the history cannot tell it."""
    n_months = dossiers.shape[1]
    skip = max(0, n_months - RESPONSE_HISTORY_MONTHS)
    first = first_month + skip
    last = first_month + n_months - 1
    support = history_support(templates, first, last)
    try:
        estimate = estimate_response(
            countries, first, dossiers[:, skip:], support, support_floor=SUPPORT_FLOOR_EUR
        )
    except NotIdentifiedError as exc:
        return None, exc
    return estimate, None


def build_budget_bands(
    con: duckdb.DuckDBPyConnection,
    *,
    origin: int,
    months: np.ndarray,
    sampling,
    templates: Templates,
    dossiers: np.ndarray,
    first_month: int,
    pricer: TemplatePricer,
    tables: Sequence[Table],
    priced: Mapping[str, PricedTemplates],
    baseline: str,
    seed: int = 0,
    progress: Progress | None = None,
    write: bool = True,
) -> pl.DataFrame:
    """Replace ``budget_bands`` and the ``volume_response`` tables (``write=False``:
    only return the bands, e.g. for a forecast as of an earlier month)."""
    say = progress or (lambda _m: None)
    countries = templates.countries
    say("estimating the volume response to support from the history")
    estimate, why = estimate_volume_response(countries, first_month, dossiers, templates)
    if estimate is None:
        say(f"no volume response: {why}")
    rng = np.random.default_rng([seed, 16])
    draws = sampling.draws
    elasticities = draw_elasticities(estimate, draws, rng) if estimate else None
    multipliers = parameter_multipliers(tables, draws, rng)
    in_force = built_in_table(table_in_force(origin))
    years = sorted(set(int(m) // 12 for m in months))
    rows, support_rows = [], []
    # countries × months of the horizon, each table priced once (the years are slices)
    support = {t.name: support_by_month(pricer, t) for t in [in_force, *tables]}
    for year in years:
        chosen = np.asarray(months) // 12 == year
        in_force_support = log_support(support[in_force.name][:, chosen].mean(1))
        per_table = {}
        for table in tables:
            say(f"bands of {table.name}, {year}")
            table_support = support[table.name][:, chosen].mean(1)
            change = log_support(table_support) - in_force_support
            per_table[table.name] = table_draws(
                sampling,
                pricer,
                table,
                priced[table.name],
                chosen,
                multipliers,
                change if elasticities is not None else None,
                elasticities,
            )
            multiplier = per_table[table.name].multiplier
            if multiplier is None:
                multiplier = np.ones(len(countries))
            for i, country in enumerate(countries):
                support_rows.append(
                    {
                        "table": table.name,
                        "year": year,
                        "country": country,
                        "support_eur": round(float(table_support[i]), 2),
                        "log_change_vs_in_force": float(change[i]),
                        "volume_multiplier": float(multiplier[i])
                        if multiplier is not None
                        else 1.0,
                    }
                )
        for name, draws_of_table in per_table.items():
            rows += band_rows(name, year, draws_of_table, DEFAULT_LEVELS)
        for name, draws_of_table in per_table.items():
            if name != baseline:
                paired = difference(draws_of_table, per_table[baseline])
                rows += band_rows(paired.table, year, paired, DEFAULT_LEVELS)
    bands = bands_frame(rows, DEFAULT_LEVELS).with_columns(
        pl.lit(month_of(origin)).alias("origin"), pl.lit(in_force.name).alias("in_force")
    )
    if write:
        _write_bands(con, bands)
        replace_table(con, "volume_response", _response_frame(estimate, why, month_of(origin)))
        events = estimate.event_table() if estimate else pl.DataFrame({"note": [str(why)]})
        replace_table(con, "volume_response_events", events)
        replace_table(con, "volume_response_support", pl.DataFrame(support_rows))
    return bands


BANDS_SQL = """
CREATE OR REPLACE TABLE budget_bands AS
SELECT "table", "year", basis, uncertainty, {money}, origin, in_force FROM new_rows
ORDER BY "table", "year", basis, uncertainty
"""


def _write_bands(con: duckdb.DuckDBPyConnection, bands: pl.DataFrame) -> None:
    money = forecast_money_sql(interval_columns(DEFAULT_LEVELS))
    with registered(con, new_rows=bands):
        con.execute(BANDS_SQL.format(money=money))


def _response_frame(
    estimate: ResponseEstimate | None, why: NotIdentifiedError | None, origin: date
) -> pl.DataFrame:
    """One row: the elasticity, its errors and intervals, the evidence, the warnings;
    or, when there is none, why (in English, and as a code the report translates)."""
    if estimate is None:
        return pl.DataFrame(
            {
                "origin": [origin],
                "identified": [False],
                "note": [str(why)],
                "reason": [why.reason if why else None],
            },
            schema_overrides={"reason": pl.String},
        )
    return pl.DataFrame(
        [
            {
                "origin": origin,
                "identified": True,
                "elasticity": estimate.elasticity,
                "se": estimate.se,
                "se_model": estimate.se_model,
                "se_robust": estimate.se_robust,
                "lo80": estimate.interval80[0],
                "hi80": estimate.interval80[1],
                "lo95": estimate.interval95[0],
                "hi95": estimate.interval95[1],
                "countries": estimate.countries,
                "months": estimate.months,
                "countries_changed": estimate.countries_changed,
                "months_changed": estimate.months_changed,
                "support_floor_eur": estimate.support_floor,
                "note": "; ".join(estimate.warnings),
            }
        ]
    )


# Commitments of the costing dossiers; dossiers of every status, as the volume model
# counts them (a cancelled dossier is a registration that costs nothing).
ACTUAL_YEAR_SQL = """
SELECT coalesce(sum(e.total) FILTER (
           WHERE p.dossier_status IN ('departed', 'registered')), 0) * 100 AS cents,
       count(DISTINCT p.dossier_id) AS dossiers
FROM dossier_persons p JOIN entitlements e USING (dossier_id, person_id)
WHERE e."table" = 'applicable'
  AND p.registration_date >= $start AND p.registration_date < $stop
"""


def build_budget_bridge(
    con: duckdb.DuckDBPyConnection,
    *,
    origin: int,
    months: np.ndarray,
    paths: np.ndarray,
    sampling,
    pricer: TemplatePricer,
    tables: Sequence[Table],
    priced: Mapping[str, PricedTemplates],
    write: bool = True,
) -> pl.DataFrame:
    """Replace ``budget_bridge``: this year's projection (commitments of the months to
    the origin, under the applicable table, plus the forecast of the rest of the year
    under the table in force) to next year's forecast, in volume, mix and price."""
    this, following = origin // 12, origin // 12 + 1
    months = np.asarray(months)
    if not table_exists(con, "entitlements"):
        con.execute("DROP TABLE IF EXISTS budget_bridge")
        raise MissingActuals(
            "no entitlements table: the bridge needs this year's commitments to date "
            "(materialise entitlements, e.g. reab update)"
        )
    names = [t.name for t in tables]
    in_force, next_table = table_in_force(origin), table_in_force(following * 12)
    for name in (in_force, next_table):
        if name not in names:
            raise ValueError(f"the bridge needs table {name} among the tables priced")
    line = LINES.index("total")

    def mean_cost(table: str, chosen: np.ndarray) -> int:
        if not chosen.any():
            return 0
        costs = priced[table].costs[:, :, line].sum(axis=1)[:, None]
        per_draw = country_year_draws(sampling, costs, chosen)[:, :, 0].sum(axis=1)
        return int(np.round(per_draw.mean()))

    def mean_dossiers(chosen: np.ndarray) -> float:
        return float(paths[:, :, chosen].sum(axis=(1, 2)).mean()) if chosen.any() else 0.0

    rest = months // 12 == this
    ((actual_cents, actual_dossiers),) = con.execute(
        ACTUAL_YEAR_SQL, {"start": date(this, 1, 1), "stop": month_of(origin + 1)}
    ).fetchall()
    this_year = YearCost(
        int(actual_cents) + mean_cost(in_force, rest), actual_dossiers + mean_dossiers(rest)
    )
    chosen = months // 12 == following
    next_year = YearCost(mean_cost(next_table, chosen), mean_dossiers(chosen))
    result = bridge(this_year, next_year, mean_cost(in_force, chosen))
    rows = [
        {
            "origin": month_of(origin),
            "this_year": this,
            "next_year": following,
            "step": step,
            "order": i,
            "amount": cents,
        }
        for i, (step, cents) in enumerate(result.steps())
    ]
    frame = pl.DataFrame(rows).with_columns(
        pl.lit(in_force).alias("this_year_table"),
        pl.lit(next_table).alias("next_year_table"),
        pl.lit(round(this_year.dossiers, 1)).alias("this_year_dossiers"),
        pl.lit(round(next_year.dossiers, 1)).alias("next_year_dossiers"),
        pl.lit(round(actual_dossiers, 1)).alias("dossiers_to_origin"),
    )
    if write:
        with registered(con, new_rows=frame):
            con.execute(
                f"""CREATE OR REPLACE TABLE budget_bridge AS
                   SELECT * EXCLUDE (amount), {cents_as_eur("amount")}
                   FROM new_rows ORDER BY "order" """
            )
    return frame
