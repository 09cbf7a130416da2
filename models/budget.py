"""Budget simulation: simulated dossiers filled with recent real ones, priced by the rules.

For each draw of the volume model (dossiers per country and month), every simulated
dossier is a *template*: one of that country's recent dossiers, drawn with
replacement, moved into the simulated month (``redate``: every date of the dossier
shifts by the same number of days, so ages, procedure timings, the 60-day refusal
window and the five-year rule keep their meaning). Each template is priced once per
horizon month and table by ``rules.engine`` (``template_costs``), so a draw's cost is a
sum of integer cents.

The draws are one sparse matrix (``Sampling.matrix``): row = (country, draw, month)
cell, column = (template, month), value = how many times that template was drawn into
that cell. Every table multiplies the *same* matrix, so the tables differ only by
their rules (paired draws: the 2026 − 2025 difference has a tight interval), and every
level (country, category, total; month, year) sums the same draws, so all levels agree
draw by draw.

Cost basis: a dossier's money falls in its registration month (commitments), and it
costs only if it departs or is still registered (cancelled and no-show dossiers cost
nothing, as in ``table_comparison``); a template's outcome is part of what is sampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

import numpy as np
import polars as pl
import scipy.sparse as sparse

from models.forecast import month_of, summarise_draws
from rules.budget_lines import AMOUNT_COLUMNS
from rules.engine import Prepared, evaluate_cents, prepare
from rules.parameters import Parameter, Table

# Budget lines of the forecast: the entitlement lines, then the ticket (the actual
# ticket cost of the template when the table grants a ticket; not part of ``total``).
LINES: tuple[str, ...] = (*AMOUNT_COLUMNS, "ticket")
# The person's category under the category table (2026: T26-CAT); null = none.
CATEGORIES: tuple[str, ...] = ("category 1", "category 2", "category 3", "no category")
COSTING_STATUSES = ("departed", "registered")


@dataclass(frozen=True)
class Templates:
    """Template dossiers, grouped by country in the order of ``countries``.

    ``persons``: their person rows (the engine's input columns, ``ticket_cost_eur``
    and ``template``, the dossier's number 0..n-1, contiguous per country)."""

    countries: tuple[str, ...]
    persons: pl.DataFrame
    start: np.ndarray  # per country: first template number
    size: np.ndarray  # per country: how many templates

    @property
    def count(self) -> int:
        return int(self.size.sum())

    @property
    def persons_per_template(self) -> np.ndarray:
        return np.bincount(self.persons["template"].to_numpy(), minlength=self.count)


def make_templates(
    persons: pl.DataFrame, country_of_dossier: pl.DataFrame, countries: Sequence[str]
) -> Templates:
    """Number the template dossiers country by country.

    ``country_of_dossier``: ``dossier_id``, ``country`` (the principal's return
    country). A country of ``countries`` without any template is an error: its
    simulated dossiers could not be priced."""
    order = {c: i for i, c in enumerate(countries)}
    dossiers = (
        country_of_dossier.filter(pl.col("country").is_in(list(countries)))
        .with_columns(pl.col("country").replace_strict(order, return_dtype=pl.Int32).alias("_c"))
        .sort("_c", "dossier_id")
        .with_row_index("template")
        .with_columns(pl.col("template").cast(pl.Int32))
    )
    size = np.bincount(dossiers["_c"].to_numpy(), minlength=len(countries))
    empty = [c for c, n in zip(countries, size, strict=True) if n == 0]
    if empty:
        raise ValueError(
            f"no template dossiers for {', '.join(empty[:10])}: these countries have a "
            "volume forecast but no dossier to price it with"
        )
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    rows = persons.join(
        dossiers.select("dossier_id", "template"), on="dossier_id", how="inner"
    ).sort("template", maintain_order=True)
    return Templates(tuple(countries), rows, start, size)


def redate(persons: pl.DataFrame, months: Sequence[int]) -> pl.DataFrame:
    """Every template dossier once per month (month indices): registration on the same
    day of that month (the month's last day if shorter), every date moved by the same
    number of days, ids made unique per month (``<id>@<yyyy-mm>``).

    Adds ``month_position`` (0..len(months)-1)."""
    registered = pl.col("registration_date").min().over("dossier_id")
    dates = [c for c, t in persons.schema.items() if t == pl.Date]
    copies = []
    for position, month in enumerate(months):
        first = month_of(int(month))
        last_day = (date(first.year + first.month // 12, first.month % 12 + 1, 1)) - timedelta(1)
        new_day = pl.min_horizontal(registered.dt.day(), pl.lit(last_day.day))
        target = pl.date(first.year, first.month, new_day)
        shift = (target - registered).alias("_shift")
        label = f"@{first:%Y-%m}"
        copies.append(
            persons.with_columns(shift)
            .with_columns(
                *[pl.col(c) + pl.col("_shift") for c in dates],
                *[pl.col(c) + label for c in ("dossier_id", "person_id", "annex_parent_id")],
                pl.lit(position, pl.Int32).alias("month_position"),
            )
            .drop("_shift")
        )
    return pl.concat(copies)


@dataclass(frozen=True)
class PricedTemplates:
    """What one table pays per (template, month): ``costs[template * months + m,
    category, line]`` in cents (int64), for ``LINES`` and ``CATEGORIES``."""

    table: str
    costs: np.ndarray


class TemplatePricer:
    """Prices the re-dated templates under any table (prepared once)."""

    def __init__(self, templates: Templates, months: Sequence[int], category_table: Table):
        self.months = len(months)
        self.templates = templates
        dated = redate(templates.persons, months)
        self._row = (dated["template"].to_numpy().astype(np.int64) * self.months) + dated[
            "month_position"
        ].to_numpy()
        self._costing = dated["dossier_status"].is_in(COSTING_STATUSES).to_numpy()
        self._ticket_cost = (dated["ticket_cost_eur"].fill_null(0) * 100).cast(pl.Int64).to_numpy()
        self._prepared: Prepared = prepare(dated.drop("template", "month_position"))
        categories = evaluate_cents(self._prepared, category_table)["category"]
        self._category = categories.fill_null(len(CATEGORIES)).to_numpy().astype(np.int64) - 1

    def price(self, table: Table) -> PricedTemplates:
        evaluated = evaluate_cents(self._prepared, table)
        values = np.stack(
            [evaluated[c].cast(pl.Int64).to_numpy() for c in AMOUNT_COLUMNS]
            + [np.where(evaluated["ticket_eligible"].to_numpy(), self._ticket_cost, 0)],
            axis=1,
        )
        values[~self._costing] = 0
        costs = np.zeros(
            (self.templates.count * self.months, len(CATEGORIES), len(LINES)), np.int64
        )
        np.add.at(costs, (self._row, self._category), values)
        return PricedTemplates(table.name, costs)


@dataclass(frozen=True)
class Sampling:
    """Which templates fill which simulated dossiers (shared by every table).

    ``matrix``: CSR, rows = (country, draw, month) cells in that order, columns =
    (template, month) rows of ``PricedTemplates.costs``; values = counts."""

    matrix: sparse.csr_matrix
    countries: tuple[str, ...]
    draws: int
    months: int

    def per_country(self, country: int, values: np.ndarray) -> np.ndarray:
        """Like ``per_cell`` for one country: (draws, months, k)."""
        cells = self.draws * self.months
        block = self.matrix[country * cells : (country + 1) * cells]
        flat = values.reshape(values.shape[0], -1)
        return np.asarray(block @ flat).reshape(self.draws, self.months, *values.shape[1:])

    def per_draw(self, values: np.ndarray, months: np.ndarray) -> np.ndarray:
        """``values`` per (template, month) row summed over every country and the chosen
        months (boolean mask over the horizon): one figure per draw."""
        cells = self.across_countries
        keep = np.tile(np.asarray(months, bool), self.draws)
        per_cell = np.asarray(cells @ values).reshape(-1)
        return np.where(keep, per_cell, 0).reshape(self.draws, self.months).sum(axis=1)

    @cached_property
    def across_countries(self) -> sparse.csr_matrix:
        """(draws × months) cells, summed over countries."""
        cells = self.draws * self.months
        rows = np.arange(self.matrix.shape[0]) % cells
        pick = sparse.csr_matrix(
            (np.ones(len(rows), np.int64), (rows, np.arange(len(rows)))),
            shape=(cells, self.matrix.shape[0]),
        )
        return (pick @ self.matrix).tocsr()


def sample_templates(paths: np.ndarray, templates: Templates, rng: np.random.Generator) -> Sampling:
    """``paths``: (draws, countries, months) simulated dossiers. Each simulated dossier
    of country c takes one of c's templates uniformly at random (with replacement)."""
    paths = np.asarray(paths)
    draws, n_countries, months = paths.shape
    if n_countries != len(templates.countries):
        raise ValueError(
            f"{n_countries} countries in the paths, {len(templates.countries)} templated"
        )
    counts = np.moveaxis(paths, 1, 0).reshape(-1).astype(np.int64)  # (country, draw, month)
    cells = np.repeat(np.arange(counts.size), counts)
    country = cells // (draws * months)
    month = cells % months
    chosen = templates.start[country] + np.floor(
        rng.random(cells.size) * templates.size[country]
    ).astype(np.int64)
    matrix = sparse.csr_matrix(
        (np.ones(cells.size, np.int64), (cells, chosen * months + month)),
        shape=(counts.size, templates.count * months),
    )
    matrix.sum_duplicates()
    return Sampling(matrix, templates.countries, draws, months)


def difference(after: PricedTemplates, before: PricedTemplates) -> PricedTemplates:
    """``after − before`` per template: summed with the same draws, it is the paired
    difference of the two tables, draw by draw."""
    return PricedTemplates(f"{after.table} - {before.table}", after.costs - before.costs)


def budget_draws(
    sampling: Sampling, priced: PricedTemplates
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(level, key, draws × months × lines cents) for every country, category and the
    total, all from the same sampled templates; one at a time (a country's draws are
    ~3 MB at 1,000 draws × 24 months, all of them a few hundred)."""
    by_line = priced.costs.sum(axis=1)
    for i, country in enumerate(sampling.countries):
        yield "country", country, sampling.per_country(i, by_line)
    flat = priced.costs.reshape(priced.costs.shape[0], -1)
    per_category = np.asarray(sampling.across_countries @ flat).reshape(
        sampling.draws, sampling.months, len(CATEGORIES), len(LINES)
    )
    for k, category in enumerate(CATEGORIES):
        yield "category", category, per_category[:, :, k]
    yield "total", "total", per_category.sum(axis=2)


def summarise_budget(
    sampling: Sampling,
    priced: PricedTemplates,
    months: Sequence[int],
    levels: Sequence[int] = (80, 95),
) -> pl.DataFrame:
    """One row per level, key, period (each month, each calendar year) and budget line:
    ``mean_cents`` (rounded half up) and the interval bounds in cents (each one of the
    draws)."""
    months = np.asarray(months)
    years = sorted(set(int(m) // 12 for m in months))
    month_dates = [month_of(int(m)) for m in months]
    periods = [("month", d, d.year) for d in month_dates] + [("year", None, y) for y in years]
    in_year = np.stack([(months // 12 == y) for y in years], axis=1).astype(np.int64)
    frames = []
    for level, key, draws in budget_draws(sampling, priced):
        yearly = np.einsum("dml,my->dyl", draws, in_year)
        all_periods = np.concatenate([draws, yearly], axis=1)  # draws × periods × lines
        n = all_periods.shape[0]
        total = all_periods.sum(axis=0)
        bounds = summarise_draws(all_periods, levels)  # int64 in, int64 out
        frames.append(
            pl.DataFrame(
                {
                    "table": priced.table,
                    "level": level,
                    "key": key,
                    "period": [p[0] for p in periods for _ in LINES],
                    "month": [p[1] for p in periods for _ in LINES],
                    "year": [p[2] for p in periods for _ in LINES],
                    "budget_line": list(LINES) * len(periods),
                    "mean_cents": ((2 * total + n) // (2 * n)).reshape(-1),
                    **{name: b.reshape(-1) for name, b in bounds.items()},
                },
                schema_overrides={"month": pl.Date, "year": pl.Int32},
            )
        )
    return pl.concat(frames)


def without(table: Table, name: str) -> Table:
    """``table`` with the money parameter ``name`` at 0 on every date."""
    parameter = table.parameters[name]
    zero = parameter.model_copy(update={"values": dict.fromkeys(parameter.values, Decimal(0))})
    return table.model_copy(
        update={
            "name": f"{table.name} without {name}",
            "parameters": {**table.parameters, name: zero},
        }
    )


def describe_values(parameter: Parameter) -> str:
    def shown(value) -> str:
        if isinstance(value, (list, tuple, frozenset, set)):
            return " ".join(sorted(map(str, value))) or "none"
        return str(value)

    return "; ".join(f"from {since}: {shown(value)}" for since, value in parameter.changes)


def working_parameter_weights(
    pricer: TemplatePricer,
    sampling: Sampling,
    tables: Sequence[Table],
    months: Sequence[int],
    priced: dict[str, PricedTemplates],
) -> pl.DataFrame:
    """Per table and ``working`` parameter: its values and, for money values, how much of
    the last calendar year's total rests on it — the mean over the same draws of the
    total minus the total with that parameter at 0 (cents; a split parameter such as
    the PAP cash share moves money between lines and rests 0 of the total)."""
    months = np.asarray(months)
    year = int(months.max() // 12)
    in_year = months // 12 == year
    total_line = LINES.index("total")
    rows = []
    for table in tables:
        base = sampling.per_draw(priced[table.name].costs[:, :, total_line].sum(axis=1), in_year)
        base_mean = int(round(base.mean()))
        for parameter in table.working_parameters():
            resting = None
            if parameter.unit == "EUR":
                zeroed = pricer.price(without(table, parameter.name)).costs
                less = sampling.per_draw(zeroed[:, :, total_line].sum(axis=1), in_year)
                resting = int(round((base - less).mean()))
            rows.append(
                {
                    "table": table.name,
                    "parameter": parameter.name,
                    "rule": parameter.rule,
                    "label": parameter.label,
                    "unit": parameter.unit,
                    "values": describe_values(parameter),
                    "source": parameter.source,
                    "year": year,
                    "total_mean_cents": base_mean,
                    "resting_cents": resting,
                    "resting_share": resting / base_mean
                    if resting is not None and base_mean
                    else None,
                }
            )
    return pl.DataFrame(
        rows, schema_overrides={"resting_cents": pl.Int64, "resting_share": pl.Float64}
    )
