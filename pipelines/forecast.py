"""The forecast in the warehouse: series, policy dates, backtest, budget, tables.

Library code for the Dagster assets and ``reab forecast`` (no Dagster here); the
statistics live in ``models/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from data_contracts.countries import countries as country_table
from models.backtest import BacktestSettings, run_backtest
from models.budget import (
    LEVELS,
    Sampling,
    TemplatePricer,
    Templates,
    make_templates,
    sample_templates,
    summarise_budgets,
    working_parameter_weights,
)
from models.forecast import (
    DEFAULT_LEVELS,
    interval_columns,
    month_index,
    month_of,
    summarise_draws,
)
from models.volume import MIN_HISTORY_MONTHS, PolicyEffect, fit_volume
from pipelines.entitlements import default_scenarios
from pipelines.freshness import record_build
from pipelines.warehouse import (
    forecast_money_sql,
    query_frame,
    registered,
    replace_table,
    scalar,
)
from rules.engine import INPUT_COLUMNS
from rules.parameters import applicable_rules, built_in_table, load_scenario

Progress = Callable[[str], None]
DEFAULT_BACKTEST = BacktestSettings()
DEFAULT_DRAWS = 1000


@dataclass(frozen=True)
class Panel:
    """Registering dossiers (and persons) per return country and month."""

    countries: tuple[str, ...]
    first_month: int
    dossiers: np.ndarray  # countries × months
    persons: np.ndarray

    @property
    def last_month(self) -> int:
        return self.first_month + self.dossiers.shape[1] - 1


def load_panel(con: duckdb.DuckDBPyConnection, until: date | None = None) -> Panel:
    """Monthly registrations per return country (the principal's), every month from the
    first registration to ``until`` (default: the last complete month of the data)."""
    frame = query_frame(
        con,
        """WITH dossier AS (
               SELECT dossier_id, min(registration_date) AS registered,
                      any_value(return_country ORDER BY role <> 'principal') AS country,
                      count(*) AS persons
               FROM dossier_persons GROUP BY dossier_id)
           SELECT country, date_trunc('month', registered)::DATE AS month,
                  count(*) AS dossiers, sum(persons)::BIGINT AS persons
           FROM dossier GROUP BY ALL""",
    )
    if frame.is_empty():
        raise ValueError("the warehouse holds no dossiers: ingest extracts first")
    last = month_index(until) if until else last_complete_month(con)
    # only what was known by then: a country first seen after ``until`` is not in it
    frame = frame.filter(pl.col("month") <= month_of(last))
    if frame.is_empty():
        raise ValueError(
            f"no complete month of registrations by {month_of(last):%Y-%m}: the volume model "
            f"needs at least {MIN_HISTORY_MONTHS} months of history"
        )
    months = np.array([month_index(m) for m in frame["month"].to_list()])
    first = int(months.min())
    countries = tuple(sorted(frame["country"].unique().to_list()))
    position = {c: i for i, c in enumerate(countries)}
    dossiers = np.zeros((len(countries), last - first + 1))
    persons = np.zeros_like(dossiers)
    rows = np.array([position[c] for c in frame["country"].to_list()])
    cols = months - first
    np.add.at(dossiers, (rows, cols), frame["dossiers"].to_numpy())
    np.add.at(persons, (rows, cols), frame["persons"].to_numpy())
    return Panel(countries, first, dossiers, persons)


def months_of_history(con: duckdb.DuckDBPyConnection, until: date | None = None) -> int:
    """Complete months from the first registration to ``until`` (a month; default the
    last complete month), 0 when there are none."""
    first = scalar(con, "SELECT min(registration_date) FROM dossier_persons")
    if first is None:
        return 0
    last = month_index(until) if until else last_complete_month(con)
    return max(0, last - month_index(first) + 1)


def last_complete_month(con: duckdb.DuckDBPyConnection) -> int:
    """The latest registration's month if that registration falls in its last week
    (the extract covers the month), else the month before."""
    latest = scalar(con, "SELECT max(registration_date) FROM dossier_persons")
    following = date(latest.year + latest.month // 12, latest.month % 12 + 1, 1)
    complete = (following - latest).days <= 7
    return month_index(latest) if complete else month_index(latest) - 1


def policy_effects() -> list[PolicyEffect]:
    """The dated policy changes, with dates and countries read from the rule tables."""
    t25 = built_in_table("2025")
    new_table = applicable_rules().new_table_from.value

    def entering(parameter: str) -> list[tuple[date, tuple[str, ...]]]:
        changes = t25.parameter(parameter).changes
        out, before = [], set()
        for day, value in changes:
            added = tuple(sorted(set(value) - before))
            if added and day > changes[0][0]:
                out.append((day, added))
            before = set(value)
        return out

    effects = []
    for day, added in entering("restricted_countries"):
        effects.append(PolicyEffect("restriction_2025", "T25-RESTRICT", added, day, new_table))
    for day, added in entering("base_ended_countries"):
        effects.append(PolicyEffect("reintegration_ended_BRA", "T25-BASE-BRA", added, day))
    for day, added in entering("premium_abolished_nationalities"):
        effects.append(PolicyEffect("premium_ended_MDA", "T25-PREMIUM-MDA", added, day))
    effects.append(PolicyEffect("new_table_2026", "A-2026", None, new_table))
    return effects


def country_groups(countries: tuple[str, ...]) -> dict[str, str]:
    """Groups for the backtest and the report: the four countries whose restriction
    was lifted, Latin America, the Balkans, other visa-required, other visa-free."""
    lifted = set(built_in_table("2026").value("monitored_countries", date(2026, 1, 1)))
    table = country_table()
    attributes = {row["iso3"]: row for row in table.iter_rows(named=True)}
    groups = {}
    for code in countries:
        row = attributes.get(code, {})
        if code in lifted:
            groups[code] = "lifted restrictions"
        elif row.get("latin_america"):
            groups[code] = "Latin America"
        elif row.get("balkans"):
            groups[code] = "Balkans"
        elif row.get("visa_required"):
            groups[code] = "other visa-required"
        else:
            groups[code] = "other visa-free"
    return groups


def build_forecast_backtest(
    con: duckdb.DuckDBPyConnection,
    settings: BacktestSettings = DEFAULT_BACKTEST,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Replace table ``forecast_backtest`` (one row per country group and total)."""
    panel = load_panel(con)
    result = run_backtest(
        panel.countries,
        panel.first_month,
        panel.dossiers,
        country_groups(panel.countries),
        policy_effects(),
        settings,
        progress=progress,
    )
    replace_table(con, "forecast_backtest", result)
    record_build(con, "forecast_backtest")
    return result


# Templates: each country's dossiers registered in the 12 months that end 3 months
# before the origin (older ones have mostly reached their outcome; the last 3 months
# are still largely ``registered``). A country with fewer than MIN_TEMPLATES there takes
# its most recent ones from before the window as well; a country whose every dossier
# is younger than the window takes those.
TEMPLATE_WINDOW_MONTHS = 12
TEMPLATE_LAG_MONTHS = 3
MIN_TEMPLATES = 10


# A person's latest earlier support known anywhere in the warehouse: the stated date, or
# the departure of another departed dossier of the person (``p``: dossier_persons).
EARLIER_SUPPORT_SQL = """greatest(
                       CASE WHEN p.previous_return_support_date <= p.registration_date
                            THEN p.previous_return_support_date END,
                       (SELECT max(o.departure_date) FROM dossier_persons o
                        WHERE o.person_id = p.person_id AND o.dossier_id <> p.dossier_id
                          AND o.dossier_status = 'departed'
                          AND o.departure_date <= p.registration_date)
                   ) AS previous_return_support_date"""


def load_templates(
    con: duckdb.DuckDBPyConnection, countries: tuple[str, ...], origin: int
) -> Templates:
    """The template dossiers of every country, with the engine's columns, the ticket cost
    and, as ``previous_return_support_date``, the latest earlier support known anywhere
    in the warehouse (the stated date or another departed dossier of the person)."""
    window_end = month_of(origin - TEMPLATE_LAG_MONTHS + 1)
    window_start = month_of(origin - TEMPLATE_LAG_MONTHS - TEMPLATE_WINDOW_MONTHS + 1)
    until = month_of(origin + 1)
    chosen = query_frame(
        con,
        """WITH dossier AS (
               SELECT dossier_id, min(registration_date) AS registered,
                      any_value(return_country ORDER BY role <> 'principal') AS country
               FROM dossier_persons GROUP BY dossier_id),
           ranked AS (
               SELECT *, registered < $end AS settled,
                      row_number() OVER (PARTITION BY country, registered < $end
                                         ORDER BY registered DESC, dossier_id) AS recency,
                      count(*) FILTER (WHERE registered < $end)
                          OVER (PARTITION BY country) AS settled_in_country
               FROM dossier WHERE registered < $until)
           SELECT dossier_id, country FROM ranked
           WHERE (settled AND (registered >= $start OR recency <= $minimum))
              OR settled_in_country = 0""",
        {"start": window_start, "end": window_end, "until": until, "minimum": MIN_TEMPLATES},
    )
    others = [c for c in INPUT_COLUMNS if c != "previous_return_support_date"]
    with registered(con, chosen=chosen.select("dossier_id")):
        persons = query_frame(
            con,
            f"""SELECT {", ".join(f"p.{c}" for c in others)}, p.ticket_cost_eur,
                   {EARLIER_SUPPORT_SQL}
                FROM dossier_persons p SEMI JOIN chosen USING (dossier_id)
                ORDER BY p.dossier_id, p.person_id""",
        )
    return make_templates(persons.select(*INPUT_COLUMNS, "ticket_cost_eur"), chosen, countries)


@dataclass(frozen=True)
class Simulation:
    """Joint draws of the horizon: dossiers per country and month, and which template
    dossier fills each (the same for the volume and the budget forecast)."""

    origin: int
    seed: int
    months: np.ndarray
    paths: np.ndarray  # draws × countries × months
    groups: dict[str, str]
    templates: Templates
    sampling: Sampling

    @property
    def countries(self) -> tuple[str, ...]:
        return self.templates.countries


def simulate(
    con: duckdb.DuckDBPyConnection,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    progress: Progress | None = None,
    horizon: int | None = None,
    until: date | None = None,
) -> Simulation:
    """Fit the volume model on the whole history (or the history to ``until``, a month:
    a forecast as it could have been made then) and draw the horizon: the rest of the
    year and the next calendar year, or ``horizon`` months (deterministic for a given
    warehouse, ``draws``, ``seed`` and horizon)."""
    say = progress or (lambda _m: None)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    panel = load_panel(con, until)
    groups = country_groups(panel.countries)
    say(
        f"fitting the volume model: {len(panel.countries)} countries, "
        f"{panel.dossiers.shape[1]} months"
    )
    model = fit_volume(
        panel.countries, panel.first_month, panel.dossiers, policy_effects(), groups=groups
    )
    if horizon is None:
        months = horizon_months(model.origin)
    elif horizon < 1:
        raise ValueError(f"the horizon must be at least 1 month, not {horizon}")
    else:
        months = np.arange(model.origin + 1, model.origin + 1 + horizon)
    rng = np.random.default_rng(seed)
    say(f"drawing {draws:,} paths of {len(months)} months")
    paths = model.draw(months, draws, rng)
    templates = load_templates(con, panel.countries, model.origin)
    say(f"filling {int(paths.sum()):,} simulated dossiers from {templates.count:,} templates")
    sampling = sample_templates(paths, templates, rng)
    return Simulation(model.origin, seed, months, paths, groups, templates, sampling)


def simulation_of_volume_forecast(
    con: duckdb.DuckDBPyConnection, progress: Progress | None = None
) -> Simulation:
    """The simulation behind table ``volume_forecast`` (same draws, seed and horizon),
    so the budget prices exactly the volumes that table shows."""
    try:
        stored = query_frame(
            con,
            """SELECT any_value(origin) AS origin, any_value(draws) AS draws,
                      any_value(seed) AS seed, count(DISTINCT month) AS months
               FROM volume_forecast""",
        ).row(0, named=True)
    except duckdb.CatalogException:
        raise ValueError(
            "no volume_forecast table yet: materialise volume_forecast first"
        ) from None
    if not stored["draws"]:
        raise ValueError("volume_forecast is empty: materialise volume_forecast again")
    sim = simulate(con, stored["draws"], stored["seed"], progress, horizon=stored["months"])
    if month_of(sim.origin) != stored["origin"]:
        raise ValueError(
            f"volume_forecast starts after {stored['origin']:%Y-%m} but the warehouse now "
            f"runs to {month_of(sim.origin):%Y-%m}: materialise volume_forecast again"
        )
    return sim


def build_volume_forecast(
    con: duckdb.DuckDBPyConnection,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    simulation: Simulation | None = None,
) -> pl.DataFrame:
    """Replace table ``volume_forecast``: registering dossiers and persons per month of
    the horizon for every country, country group and the total, from the same joint
    draws (so the levels add up draw by draw); ``mean`` and 80 %/95 % intervals.
    Persons are the sizes of the template dossiers that fill the simulated ones."""
    sim = simulation or simulate(con, draws, seed)
    persons_per_row = np.repeat(sim.templates.persons_per_template, len(sim.months))
    persons = np.stack(
        [sim.sampling.per_country(i, persons_per_row) for i in range(len(sim.countries))],
        axis=1,
    )
    frames = []
    for unit, paths in (("dossiers", sim.paths), ("persons", persons)):
        keys = [("country", c, paths[:, i]) for i, c in enumerate(sim.countries)]
        for group in sorted(set(sim.groups.values())):
            chosen = np.array([sim.groups[c] == group for c in sim.countries])
            keys.append(("group", group, paths[:, chosen].sum(axis=1)))
        keys.append(("total", "total", paths.sum(axis=1)))
        for level, key, draws_of_key in keys:
            bounds = summarise_draws(draws_of_key, DEFAULT_LEVELS)
            frames.append(
                pl.DataFrame(
                    {
                        "level": level,
                        "key": key,
                        "month": [month_of(int(m)) for m in sim.months],
                        "unit": unit,
                        "mean": draws_of_key.mean(axis=0),
                        **{name: bounds[name].astype(np.int64) for name in bounds},
                        "origin": month_of(sim.origin),
                        "draws": sim.paths.shape[0],
                        "seed": sim.seed,
                    }
                )
            )
    result = pl.concat(frames)
    replace_table(con, "volume_forecast", result)
    record_build(con, "volume_forecast")
    return result


BUDGET_FORECAST_SQL = """
CREATE OR REPLACE TABLE budget_forecast AS
SELECT "table", level, "key", period, "month", "year", budget_line,
       {money}, $origin::DATE AS origin, $draws::INTEGER AS draws
FROM new_rows
"""


ARCHIVE_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_forecast_archive (
    "table" VARCHAR, level VARCHAR, "key" VARCHAR, period VARCHAR, "month" DATE,
    "year" INTEGER, budget_line VARCHAR, mean DECIMAL(16, 2), lo80 DECIMAL(16, 2),
    hi80 DECIMAL(16, 2), lo95 DECIMAL(16, 2), hi95 DECIMAL(16, 2), origin DATE,
    draws INTEGER, archived_at TIMESTAMP)
"""
ARCHIVE_SQL = """
INSERT INTO budget_forecast_archive BY NAME
SELECT "table", level, "key", period, "month", "year", budget_line,
       {money}, $origin::DATE AS origin, $draws::INTEGER AS draws,
       now()::TIMESTAMP AS archived_at
FROM new_rows WHERE level = 'total'
"""


def build_budget_forecast(
    con: duckdb.DuckDBPyConnection,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    scenario_files: Iterable[str | Path] | None = None,
    simulation: Simulation | None = None,
    progress: Progress | None = None,
    current: bool = True,
) -> pl.DataFrame:
    """Replace table ``budget_forecast``: per table (2025, 2026, each scenario, and each
    of them minus 2025, paired draw by draw), level (country, category, total), key,
    month and calendar year, and budget line: mean and 80 %/95 % intervals in EUR.

    Also replaces ``budget_assumptions`` (``working`` parameters and what rests on them),
    and keeps the programme totals in ``budget_forecast_archive`` (one set per origin: the
    first run of an origin is kept, what was forecast then), so a later report can hold
    actuals against what was forecast before. With ``current=False`` (a forecast as of
    an earlier month, asked for explicitly) only the archive is written, replacing that
    origin's set. Returns the yearly totals."""
    say = progress or (lambda _m: None)
    sim = simulation or simulate(con, draws, seed, progress)
    rules = applicable_rules()
    files = default_scenarios() if scenario_files is None else [Path(f) for f in scenario_files]
    tables = [built_in_table(rules.before_table), built_in_table(rules.after_table)]
    tables += [load_scenario(f) for f in files]
    say(f"pricing {sim.templates.count:,} templates × {len(sim.months)} months")
    pricer = TemplatePricer(sim.templates, sim.months, built_in_table(rules.after_table))
    priced = {}
    for table in tables:
        say(f"pricing under table {table.name}")
        priced[table.name] = pricer.price(table)
    after = list(priced)[1:]  # the first is the baseline, rules.before_table
    say(
        f"summing {sim.sampling.draws:,} draws for {', '.join(priced)} and each minus "
        f"{rules.before_table}"
    )
    rows = summarise_budgets(
        sim.sampling,
        list(priced.values()),
        sim.months,
        DEFAULT_LEVELS,
        differences=[(name, rules.before_table) for name in after],
        # the archive keeps the programme totals only
        aggregates=LEVELS if current else ("total",),
    )
    say("writing budget_forecast")
    money = forecast_money_sql(interval_columns(DEFAULT_LEVELS))
    stamp = {"origin": month_of(sim.origin), "draws": sim.sampling.draws}
    with registered(con, new_rows=rows):
        con.execute(ARCHIVE_SCHEMA)
        origin = {"origin": stamp["origin"]}
        if not current:  # an explicit forecast as of a month replaces that month's
            con.execute("DELETE FROM budget_forecast_archive WHERE origin = $origin", origin)
        if not scalar(
            con, "SELECT count(*) FROM budget_forecast_archive WHERE origin = $origin", origin
        ):
            con.execute(ARCHIVE_SQL.format(money=money), stamp)
        if current:
            con.execute(BUDGET_FORECAST_SQL.format(money=money), stamp)
    if not current:
        return query_frame(
            con,
            """SELECT "table", "year", mean, lo80, hi80 FROM budget_forecast_archive
               WHERE origin = $origin AND period = 'year' AND budget_line = 'total'
               ORDER BY "year", "table" """,
            {"origin": stamp["origin"]},
        )
    say("weighing the working parameters")
    assumptions = working_parameter_weights(pricer, sim.sampling, tables, sim.months, priced)
    replace_table(con, "budget_assumptions", assumptions)
    from pipelines.bands import MissingActuals, build_budget_bands, build_budget_bridge

    panel = load_panel(con, month_of(sim.origin))
    build_budget_bands(
        con,
        origin=sim.origin,
        months=sim.months,
        sampling=sim.sampling,
        templates=sim.templates,
        dossiers=panel.dossiers,
        first_month=panel.first_month,
        pricer=pricer,
        tables=tables,
        priced=priced,
        baseline=rules.before_table,
        seed=sim.seed,
        progress=progress,
    )
    say("bridging this year to next")
    try:
        build_budget_bridge(
            con,
            origin=sim.origin,
            months=sim.months,
            paths=sim.paths,
            sampling=sim.sampling,
            pricer=pricer,
            tables=tables,
            priced=priced,
        )
    except MissingActuals as exc:
        say(f"no bridge: {exc}")
    record_build(con, "budget_forecast")
    return query_frame(
        con,
        """SELECT "table", "year", mean, lo80, hi80 FROM budget_forecast
           WHERE level = 'total' AND period = 'year' AND budget_line = 'total'
           ORDER BY "year", "table" """,
    )


def ensure_year_baseline(
    con: duckdb.DuckDBPyConnection,
    origin: int,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    scenario_files: Iterable[str | Path] | None = None,
    progress: Progress | None = None,
) -> date | None:
    """Archive the forecast made before the year of ``origin`` began (as of the December
    before), unless the archive already holds one or the history is too short then.

    Run once per warehouse and year: from then on the nightly forecasts archive
    themselves, and the first one of January is next year's baseline. Returns the origin
    archived, or None when nothing was done."""
    december = date(month_of(origin).year - 1, 12, 1)
    if months_of_history(con, december) < MIN_HISTORY_MONTHS:
        return None
    con.execute(ARCHIVE_SCHEMA)
    if scalar(
        con,
        "SELECT count(*) FROM budget_forecast_archive WHERE origin BETWEEN $j AND $d",
        {"j": date(december.year, 1, 1), "d": december},
    ):
        return None
    say = progress or (lambda _m: None)
    say(f"archiving the forecast as of {december:%Y-%m} (the year's baseline, made once)")
    sim = simulate(con, draws, seed, progress, until=december)
    build_budget_forecast(
        con, scenario_files=scenario_files, simulation=sim, progress=progress, current=False
    )
    return december


LEVEL_GAPS_SQL = """
WITH parts AS (
    SELECT "table", level, period, "month", "year", budget_line,
           sum(mean) AS summed, count(*) AS parts
    FROM budget_forecast WHERE level IN ('country', 'category')
    GROUP BY ALL
    UNION ALL
    SELECT "table", 'month' AS level, 'year' AS period, NULL AS "month", "year", budget_line,
           sum(mean), count(*)
    FROM budget_forecast WHERE level = 'total' AND period = 'month'
    GROUP BY ALL
)
SELECT p."table", p.level, p.period, p."month", p."year", p.budget_line, p.summed, t.mean
FROM parts p JOIN budget_forecast t
  ON t.level = 'total' AND t."table" = p."table" AND t.period = p.period
 AND t."year" = p."year" AND t."month" IS NOT DISTINCT FROM p."month"
 AND t.budget_line = p.budget_line
WHERE abs(p.summed - t.mean) > 0.01 * p.parts
ORDER BY ALL
"""


def budget_level_gaps(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Where countries or categories do not add up to the total, or months to the year,
    beyond the cent rounding of each mean (none, by construction)."""
    gaps = con.execute(LEVEL_GAPS_SQL).fetchall()
    return [
        f"{table} {level}s, {period} {month or year}, {line}: {summed} vs total {total}"
        for table, level, period, month, year, line, summed, total in gaps
    ]


def horizon_months(origin: int) -> np.ndarray:
    """The rest of the origin's year and the next calendar year."""
    last = (origin // 12 + 1) * 12 + 11
    return np.arange(origin + 1, last + 1)


__all__ = [
    "Panel",
    "build_budget_forecast",
    "build_forecast_backtest",
    "build_volume_forecast",
    "budget_level_gaps",
    "load_templates",
    "months_of_history",
    "simulate",
    "simulation_of_volume_forecast",
    "country_groups",
    "horizon_months",
    "load_panel",
    "policy_effects",
]
