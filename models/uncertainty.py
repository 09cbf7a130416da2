"""Honest budget bands: volumes, working parameters and the volume response, per draw.

``budget_forecast`` carries the uncertainty of the volumes and of which dossiers come
(the joint draws). Two more are added here, draw by draw, for the yearly programme
totals:

- **working parameters**: each ``working`` amount with a ``range`` in its table file
  is drawn per draw from a triangular distribution (low, working value, high). The
  money resting on it (the total minus the total with it at 0, per draw and country,
  as in ``budget_assumptions``) is scaled by drawn value / working value. Exact for an
  amount paid per person or per dossier; for an amount under a cap or a floor it is a
  first-order approximation (the cap is not re-applied). A parameter shared by two
  tables (same name and range) takes the same draw in both, so differences stay
  paired.
- **volume response**: a table that pays a country's registrants more or less than
  the table in force at the origin changes how many register. Per draw the volumes
  of country c are multiplied by ``exp(elasticity × (log s_table,c − log s_in_force,c))``
  where ``s`` is the mean support per dossier (premium and reintegration) of the
  country's template dossiers in the year, and the elasticity is drawn from its
  estimate (``models.response``). "Same population" is the static cost; "with volume
  response" the cost once registrations respond.

Every figure is in cents; the bands are quantiles of the per-draw totals (each one of
the draws, rounded to the cent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from models.budget import LINES, PricedTemplates, Sampling, TemplatePricer, without
from models.forecast import interval_ranks
from rules.budget_lines import REINTEGRATION_LINES
from rules.parameters import Parameter, Table

SUPPORT_LINES: tuple[str, ...] = ("return_premium", *REINTEGRATION_LINES)
# Support can be 0 (no premium, no reintegration): below this floor it is raised to it
# before the log (about what a ticket-only return is still worth to a person: the
# transport allowance and a little more), as in ``models.response``.
SUPPORT_FLOOR_EUR = 100.0
STATIC = "same population"
RESPONDING = "with volume response"
VOLUMES = "volumes"
PARAMETERS = "volumes and working parameters"
EVERYTHING = "volumes, working parameters and response"


def ranged_parameters(table: Table) -> list[Parameter]:
    """The table's ``working`` amounts with a range (and a non-zero latest value)."""
    return [p for p in table.working_parameters() if p.range is not None and p.latest != 0]


def _key(parameter: Parameter) -> tuple:
    return (parameter.name, parameter.latest, parameter.range.low, parameter.range.high)


def parameter_multipliers(
    tables: Sequence[Table], draws: int, rng: np.random.Generator
) -> dict[tuple, np.ndarray]:
    """Per ranged parameter (keyed by name, value and range, so a parameter two tables
    share is drawn once): ``draws`` multipliers drawn value / working value."""
    drawn: dict[tuple, np.ndarray] = {}
    for table in tables:
        for parameter in ranged_parameters(table):
            key = _key(parameter)
            if key in drawn:
                continue
            value = float(parameter.latest)
            low, high = float(parameter.range.low), float(parameter.range.high)
            if low == high:
                drawn[key] = np.ones(draws)
            else:
                drawn[key] = rng.triangular(low, value, high, draws) / value
    return drawn


def country_year_draws(
    sampling: Sampling, values: np.ndarray, chosen_months: np.ndarray
) -> np.ndarray:
    """``values`` per (template, month) row, k columns, summed per draw and country over
    the chosen months: (draws, countries, k)."""
    values = np.asarray(values)
    flat = values.reshape(values.shape[0], -1)
    chosen = np.asarray(chosen_months, bool)
    out = np.zeros((sampling.draws, len(sampling.countries), flat.shape[1]), np.float64)
    for country in range(len(sampling.countries)):
        per_cell = np.asarray(sampling.rows_of(country) @ flat)
        out[:, country] = per_cell.reshape(sampling.draws, sampling.months, -1)[:, chosen].sum(1)
    return out


def support_by_month(pricer: TemplatePricer, table: Table) -> np.ndarray:
    """(countries × months of the pricer) mean support per template dossier, in EUR:
    premium and reintegration under ``table`` of the country's templates re-dated to
    each month (a standard population, so only the table moves it)."""
    cents = pricer.lines_cents(table, SUPPORT_LINES)
    templates = pricer.templates
    per_template = cents.reshape(templates.count, pricer.months) / 100.0
    return np.stack(
        [
            per_template[start : start + size].mean(axis=0) if size else np.zeros(pricer.months)
            for start, size in zip(templates.start, templates.size, strict=True)
        ]
    )


def log_support(support_eur: np.ndarray) -> np.ndarray:
    """The response's regressor: log(max(support, ``SUPPORT_FLOOR_EUR``)), finite at 0."""
    return np.log(np.maximum(np.asarray(support_eur, float), SUPPORT_FLOOR_EUR))


@dataclass(frozen=True)
class TableDraws:
    """One table's yearly per-draw totals (cents, floats): ``static`` volumes only;
    ``parameters`` with the working parameters drawn; ``responding`` also with the
    volume response (None without a response estimate)."""

    table: str
    static: np.ndarray  # draws
    parameters: np.ndarray  # draws
    responding: np.ndarray | None  # draws
    multiplier: np.ndarray | None  # mean volume multiplier per country


def table_draws(
    sampling: Sampling,
    pricer: TemplatePricer,
    table: Table,
    priced: PricedTemplates,
    chosen_months: np.ndarray,
    multipliers: Mapping[tuple, np.ndarray],
    log_support_change: np.ndarray | None = None,
    elasticities: np.ndarray | None = None,
) -> TableDraws:
    """The year's totals of ``table`` per draw, with the extra uncertainties.

    ``log_support_change``: per country, log support under ``table`` minus under the
    table in force at the origin; ``elasticities``: per draw (both or neither)."""
    total = LINES.index("total")
    ranged = ranged_parameters(table)
    columns = [priced.costs[:, :, total].sum(axis=1)]
    columns += [pricer.line_cents(without(table, p.name), "total") for p in ranged]
    per_country = country_year_draws(sampling, np.stack(columns, axis=1), chosen_months)
    base = per_country[:, :, 0]
    adjusted = base.copy()
    for j, parameter in enumerate(ranged, start=1):
        resting = base - per_country[:, :, j]
        adjusted += (multipliers[_key(parameter)] - 1.0)[:, None] * resting
    responding = multiplier = None
    if elasticities is not None and log_support_change is not None:
        factor = np.exp(np.outer(elasticities, log_support_change))  # draws × countries
        responding = (factor * adjusted).sum(axis=1)
        multiplier = factor.mean(axis=0)
    return TableDraws(table.name, base.sum(axis=1), adjusted.sum(axis=1), responding, multiplier)


def band_rows(name: str, year: int, draws: TableDraws, levels: Sequence[int]) -> list[dict]:
    """One row per (basis, uncertainty) of a table's year: mean and bounds in cents."""
    rows = []
    variants = [(STATIC, VOLUMES, draws.static), (STATIC, PARAMETERS, draws.parameters)]
    if draws.responding is not None:
        variants.append((RESPONDING, EVERYTHING, draws.responding))
    for basis, uncertainty, values in variants:
        ordered = np.sort(values)
        row = {
            "table": name,
            "year": year,
            "basis": basis,
            "uncertainty": uncertainty,
            "mean_cents": int(np.round(values.mean())),
        }
        for bound, rank in interval_ranks(len(values), levels).items():
            row[bound] = int(np.round(ordered[rank]))
        rows.append(row)
    return rows


def difference(after: TableDraws, before: TableDraws) -> TableDraws:
    """``after − before``, paired draw by draw."""
    responding = None
    if after.responding is not None and before.responding is not None:
        responding = after.responding - before.responding
    return TableDraws(
        f"{after.table} - {before.table}",
        after.static - before.static,
        after.parameters - before.parameters,
        responding,
        None,
    )


def bands_frame(rows: list[dict], levels: Sequence[int]) -> pl.DataFrame:
    bounds = [name for level in levels for name in (f"lo{level}", f"hi{level}")]
    schema = {
        "table": pl.String,
        "year": pl.Int32,
        "basis": pl.String,
        "uncertainty": pl.String,
        "mean_cents": pl.Int64,
        **{b: pl.Int64 for b in bounds},
    }
    return pl.DataFrame(rows, schema=schema)
