"""The forecast in the warehouse: series, policy dates, backtest, budget, tables.

Library code for the Dagster assets and ``reab forecast`` (no Dagster here); the
statistics live in ``models/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import polars as pl

from data_contracts.countries import countries as country_table
from models.backtest import BacktestSettings, run_backtest
from models.forecast import DEFAULT_LEVELS, month_index, month_of, summarise_draws
from models.volume import PolicyEffect, fit_volume
from pipelines.warehouse import query_frame, registered
from rules.parameters import applicable_rules, built_in_table

Progress = Callable[[str], None]
DEFAULT_BACKTEST = BacktestSettings()


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
    months = np.array([month_index(m) for m in frame["month"].to_list()])
    first = int(months.min())
    last = month_index(until) if until else _last_complete_month(con)
    countries = tuple(sorted(frame["country"].unique().to_list()))
    position = {c: i for i, c in enumerate(countries)}
    dossiers = np.zeros((len(countries), last - first + 1))
    persons = np.zeros_like(dossiers)
    keep = months <= last
    rows = np.array([position[c] for c in frame["country"].to_list()])[keep]
    cols = months[keep] - first
    np.add.at(dossiers, (rows, cols), frame["dossiers"].to_numpy()[keep])
    np.add.at(persons, (rows, cols), frame["persons"].to_numpy()[keep])
    return Panel(countries, first, dossiers, persons)


def _last_complete_month(con: duckdb.DuckDBPyConnection) -> int:
    """The latest registration's month if that registration falls in its last week
    (the extract covers the month), else the month before."""
    latest = con.execute("SELECT max(registration_date) FROM dossier_persons").fetchall()[0][0]
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
    _replace_table(con, "forecast_backtest", result)
    return result


def build_volume_forecast(
    con: duckdb.DuckDBPyConnection, draws: int = 1000, seed: int = 0
) -> pl.DataFrame:
    """Replace table ``volume_forecast``: registering dossiers per month of the horizon
    for every country, country group and the total, from the same joint draws (so the
    levels add up draw by draw); ``mean`` and 80 %/95 % intervals."""
    panel = load_panel(con)
    groups = country_groups(panel.countries)
    model = fit_volume(
        panel.countries, panel.first_month, panel.dossiers, policy_effects(), groups=groups
    )
    months = horizon_months(model.origin)
    paths = model.draw(months, draws, np.random.default_rng(seed))
    keys = [("country", c, paths[:, i]) for i, c in enumerate(panel.countries)]
    for group in sorted(set(groups.values())):
        chosen = np.array([groups[c] == group for c in panel.countries])
        keys.append(("group", group, paths[:, chosen].sum(axis=1)))
    keys.append(("total", "total", paths.sum(axis=1)))
    frames = []
    for level, key, draws_of_key in keys:
        bounds = summarise_draws(draws_of_key, DEFAULT_LEVELS)
        frames.append(
            pl.DataFrame(
                {
                    "level": level,
                    "key": key,
                    "month": [month_of(int(m)) for m in months],
                    "unit": "dossiers",
                    "mean": draws_of_key.mean(axis=0),
                    **{name: bounds[name].astype(np.int64) for name in bounds},
                    "origin": month_of(model.origin),
                    "draws": draws,
                }
            )
        )
    result = pl.concat(frames)
    _replace_table(con, "volume_forecast", result)
    return result


def _replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    with registered(con, new_rows=frame):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM new_rows")


def horizon_months(origin: int) -> np.ndarray:
    """The rest of the origin's year and the next calendar year."""
    last = (origin // 12 + 1) * 12 + 11
    return np.arange(origin + 1, last + 1)


__all__ = [
    "Panel",
    "build_forecast_backtest",
    "build_volume_forecast",
    "country_groups",
    "horizon_months",
    "load_panel",
    "policy_effects",
]
