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

import numpy as np
import polars as pl
import scipy.sparse as sparse

from models.forecast import interval_ranks, month_of
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
        # The costing persons grouped by (template-month row, category), so that a
        # table's costs are one gather and one integer reduceat (not ``np.add.at``).
        cell = self._row * len(CATEGORIES) + self._category
        costing = np.flatnonzero(self._costing)
        self._order = costing[np.argsort(cell[costing], kind="stable")]
        ordered = cell[self._order]
        self._starts = np.flatnonzero(np.diff(ordered, prepend=-1))
        self._cells = ordered[self._starts]
        # ... and by row alone, for one line summed over the categories.
        self._row_order = costing[np.argsort(self._row[costing], kind="stable")]
        ordered = self._row[self._row_order]
        self._row_starts = np.flatnonzero(np.diff(ordered, prepend=-1))
        self._rows = ordered[self._row_starts]

    def price(self, table: Table) -> PricedTemplates:
        evaluated = evaluate_cents(self._prepared, table)
        values = np.stack(
            [evaluated[c].cast(pl.Int64).to_numpy() for c in AMOUNT_COLUMNS]
            + [np.where(evaluated["ticket_eligible"].to_numpy(), self._ticket_cost, 0)],
            axis=1,
        )
        costs = np.zeros(
            (self.templates.count * self.months * len(CATEGORIES), len(LINES)), np.int64
        )
        if len(self._order):  # cancelled and no-show persons cost nothing
            costs[self._cells] = np.add.reduceat(values[self._order], self._starts, axis=0)
        return PricedTemplates(table.name, costs.reshape(-1, len(CATEGORIES), len(LINES)))

    def line_cents(self, table: Table, line: str = "total") -> np.ndarray:
        """One entitlement line (``AMOUNT_COLUMNS``) of ``table`` per (template, month)
        row, summed over the categories: ``price(table).costs[:, :, LINES.index(line)]
        .sum(axis=1)`` without the costs of every line and category."""
        return self.lines_cents(table, (line,))

    def lines_cents(self, table: Table, lines: Sequence[str]) -> np.ndarray:
        """The sum of several entitlement lines per (template, month) row, from one
        evaluation of ``table``."""
        unknown = [line for line in lines if line not in AMOUNT_COLUMNS]
        if unknown:
            raise ValueError(f"{unknown[0]} is not an entitlement line")
        evaluated = evaluate_cents(self._prepared, table)
        values = sum(evaluated[line].cast(pl.Int64).to_numpy() for line in lines)
        cents = np.zeros(self.templates.count * self.months, np.int64)
        if len(self._row_order):
            cents[self._rows] = np.add.reduceat(values[self._row_order], self._row_starts)
        return cents


@dataclass(frozen=True)
class Sampling:
    """Which templates fill which simulated dossiers (shared by every table).

    ``matrix``: CSR, rows = (country, draw, month) cells in that order, columns =
    (template, month) rows of ``PricedTemplates.costs``; values = counts."""

    matrix: sparse.csr_matrix
    countries: tuple[str, ...]
    draws: int
    months: int

    def rows_of(self, country: int) -> sparse.csr_matrix:
        """The (draw, month) rows of one country: a view on ``matrix``, not a copy."""
        cells = self.draws * self.months
        first, last = country * cells, (country + 1) * cells
        start, stop = self.matrix.indptr[first], self.matrix.indptr[last]
        return sparse.csr_matrix(
            (
                self.matrix.data[start:stop],
                self.matrix.indices[start:stop],
                self.matrix.indptr[first : last + 1] - start,
            ),
            shape=(cells, self.matrix.shape[1]),
            copy=False,
        )

    def per_country(self, country: int, values: np.ndarray) -> np.ndarray:
        """``values`` per (template, month) row (any trailing shape) summed over the
        templates drawn into each of the country's cells: (draws, months, ...)."""
        flat = values.reshape(values.shape[0], -1)
        return np.asarray(self.rows_of(country) @ flat).reshape(
            self.draws, self.months, *values.shape[1:]
        )

    def per_draw(self, values: np.ndarray, months: np.ndarray) -> np.ndarray:
        """``values`` per (template, month) row summed over every country and the chosen
        months (boolean mask over the horizon): one figure per draw. ``values`` may have
        a second axis (several figures at once): (draws, k)."""
        values = np.asarray(values)
        flat = values.reshape(values.shape[0], -1)
        chosen = np.asarray(months, bool)
        summed = np.zeros((self.draws, flat.shape[1]), np.result_type(values, np.int64))
        for country in range(len(self.countries)):  # a country at a time: small blocks
            per_cell = np.asarray(self.rows_of(country) @ flat)
            summed += per_cell.reshape(self.draws, self.months, -1)[:, chosen].sum(axis=1)
        return summed.reshape(self.draws, *values.shape[1:])


# How many entries ``sample_templates`` draws and counts at a time (bounded memory).
SAMPLING_CHUNK = 1 << 21


def sample_templates(paths: np.ndarray, templates: Templates, rng: np.random.Generator) -> Sampling:
    """``paths``: (draws, countries, months) simulated dossiers. Each simulated dossier
    of country c takes one of c's templates uniformly at random (with replacement).

    The dossiers are drawn in cell order (country, draw, month), one uniform number each,
    and counted per cell and template a chunk of cells at a time, so the work and the
    memory grow linearly with the number of dossiers (one sort of a chunk's keys instead
    of a global COO-to-CSR conversion with duplicates)."""
    paths = np.asarray(paths)
    draws, n_countries, months = paths.shape
    if n_countries != len(templates.countries):
        raise ValueError(
            f"{n_countries} countries in the paths, {len(templates.countries)} templated"
        )
    counts = np.moveaxis(paths, 1, 0).reshape(-1).astype(np.int64)  # (country, draw, month)
    if np.any(counts < 0):
        raise ValueError("the paths hold negative counts")
    cells = draws * months
    entries_before = np.concatenate([[0], np.cumsum(counts)])
    shape = (counts.size, templates.count * months)
    index_type = np.int32 if max(*shape, entries_before[-1]) < 2**31 else np.int64
    # At most one stored entry per dossier: pages past the last entry are never touched.
    data = np.empty(entries_before[-1], np.int64)
    indices = np.empty(entries_before[-1], index_type)
    row_nnz = np.zeros(counts.size, np.int64)
    stored = 0
    for country in range(n_countries):
        size, start = int(templates.size[country]), int(templates.start[country])
        first, last = country * cells, (country + 1) * cells
        while first < last:
            # rows [first, stop): at least one row, at most about SAMPLING_CHUNK dossiers
            limit = entries_before[first] + SAMPLING_CHUNK
            stop = int(np.searchsorted(entries_before, limit, side="right")) - 1
            stop = min(max(stop, first + 1), last)
            n = int(entries_before[stop] - entries_before[first])
            if n:
                chosen = np.floor(rng.random(n) * size).astype(np.int64)
                local_row = np.repeat(np.arange(stop - first), counts[first:stop])
                keys = np.sort(local_row * size + chosen)
                new = np.flatnonzero(np.diff(keys, prepend=-1))
                row, template = np.divmod(keys[new], size)
                row_nnz[first:stop] = np.bincount(row, minlength=stop - first)
                end = stored + len(new)
                indices[stored:end] = (start + template) * months + (first + row) % months
                data[stored:end] = np.diff(np.append(new, n))
                stored = end
            first = stop
    indptr = np.concatenate([[0], np.cumsum(row_nnz)]).astype(index_type)
    matrix = sparse.csr_matrix((data[:stored], indices[:stored], indptr), shape=shape, copy=False)
    return Sampling(matrix, templates.countries, draws, months)


def difference(after: PricedTemplates, before: PricedTemplates) -> PricedTemplates:
    """``after − before`` per template: summed with the same draws, it is the paired
    difference of the two tables, draw by draw."""
    return PricedTemplates(f"{after.table} - {before.table}", after.costs - before.costs)


LEVELS: tuple[str, ...] = ("country", "category", "total")
_NO_COST, _MIXED = -1, -2


def _row_categories(priced: Sequence[PricedTemplates]) -> np.ndarray:
    """Per (template, month) row: the one category with costs under any of the tables,
    ``_NO_COST`` when none has any, ``_MIXED`` when several have (a dossier whose
    persons fall in different categories)."""
    has_cost = np.zeros(priced[0].costs.shape[:2], bool)
    for p in priced:
        has_cost |= (p.costs != 0).any(axis=2)
    how_many = has_cost.sum(axis=1)
    category = np.where(
        how_many == 1, has_cost.argmax(axis=1), np.where(how_many == 0, _NO_COST, _MIXED)
    )
    return category.astype(np.int8)


def _split_columns(block: sparse.csr_matrix, group: np.ndarray) -> dict[int, sparse.csr_matrix]:
    """``block`` as a sum of matrices, one per group of its columns (``group``: int8 per
    column, at least ``_MIXED``): {group: the entries in that group's columns}."""
    of_entry = group[block.indices]
    shift = -_MIXED
    sizes = np.bincount(of_entry + shift, minlength=len(CATEGORIES) + shift)
    present = np.flatnonzero(sizes)
    if len(present) <= 1:
        return {int(g) - shift: block for g in present}
    order = np.argsort(of_entry, kind="stable")  # by group (radix), rows in order within
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    row_of_entry = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    parts = {}
    for g in present.tolist():
        chosen = order[bounds[g] : bounds[g + 1]]
        nnz = np.bincount(row_of_entry[chosen], minlength=block.shape[0])
        parts[g - shift] = sparse.csr_matrix(
            (
                block.data[chosen],
                block.indices[chosen],
                np.concatenate([[0], np.cumsum(nnz)]).astype(block.indptr.dtype),
            ),
            shape=block.shape,
        )
    return parts


def level_draws(
    sampling: Sampling, priced: Sequence[PricedTemplates], levels: Sequence[str] = LEVELS
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(level, key, draws × months × tables × lines cents) for every country, category
    and the total (those of ``levels``) and every table of ``priced``, all from the
    same sampled templates, in one pass over the sampling matrix for all tables.

    A (template, month) row's costs lie in one category (its persons'), so its summed
    line costs serve both its country and its category: each country's cells are split
    by the category of their columns and multiplied by the per-line costs of every
    table at once. Rows without costs under any table are skipped; a dossier whose
    persons fall in several categories is multiplied category by category. Integer
    cents: every sum is exact, in any order."""
    n_tables, n_lines = len(priced), len(LINES)
    n_categories = len(CATEGORIES)
    cells = sampling.draws * sampling.months
    group = _row_categories(priced)
    by_line = np.concatenate([p.costs.sum(axis=1) for p in priced], axis=1)  # rows × T·L
    per_category = np.zeros((n_categories, cells, n_tables * n_lines), np.int64)
    shape = (sampling.draws, sampling.months, n_tables, n_lines)
    for i, country in enumerate(sampling.countries):
        of_country = np.zeros((cells, n_tables * n_lines), np.int64)
        for g, part in _split_columns(sampling.rows_of(i), group).items():
            if g == _NO_COST:
                continue
            if g == _MIXED:
                for t, p in enumerate(priced):
                    split = np.asarray(part @ p.costs.reshape(p.costs.shape[0], -1))
                    split = split.reshape(cells, n_categories, n_lines)
                    columns = slice(t * n_lines, (t + 1) * n_lines)
                    of_country[:, columns] += split.sum(axis=1)
                    per_category[:, :, columns] += np.moveaxis(split, 1, 0)
                continue
            summed = np.asarray(part @ by_line)
            of_country += summed
            per_category[g] += summed
        if "country" in levels:
            yield "country", country, of_country.reshape(shape)
    if "category" in levels:
        for k, category in enumerate(CATEGORIES):
            yield "category", category, per_category[k].reshape(shape)
    if "total" in levels:
        yield "total", "total", per_category.sum(axis=0).reshape(shape)


def budget_draws(
    sampling: Sampling, priced: PricedTemplates
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(level, key, draws × months × lines cents) for every country, category and the
    total of one table, all from the same sampled templates; one at a time (a
    country's draws are ~3 MB at 1,000 draws × 24 months, all of them a few hundred)."""
    for level, key, draws in level_draws(sampling, [priced]):
        yield level, key, draws[:, :, 0]


def summarise_budgets(
    sampling: Sampling,
    priced: Sequence[PricedTemplates],
    months: Sequence[int],
    levels: Sequence[int] = (80, 95),
    differences: Sequence[tuple[str, str]] = (),
    aggregates: Sequence[str] = LEVELS,
) -> pl.DataFrame:
    """``summarise_budget`` of every table of ``priced``, then of each paired
    difference ``(after, before)`` (table names; named ``"after - before"``): the
    same rows in that order. The draws of every table come from one pass over the
    sampling matrix (``level_draws``) and a difference is the difference of the two
    tables' per-draw sums (exact: integer cents), so nothing is summed twice.
    ``aggregates``: the levels wanted (e.g. only ``("total",)``)."""
    months = np.asarray(months)
    names = [p.table for p in priced]
    pairs = [(names.index(after), names.index(before)) for after, before in differences]
    outputs = names + [f"{after} - {before}" for after, before in differences]
    years = sorted(set(int(m) // 12 for m in months))
    month_dates = [month_of(int(m)) for m in months]
    periods = [("month", d, d.year) for d in month_dates] + [("year", None, y) for y in years]
    n, n_months, n_tables = sampling.draws, len(months), len(priced)
    ranks = interval_ranks(n, levels)
    # One key at a time: periods × outputs × lines × draws (the draws last and
    # contiguous, to be summed and sorted in place); months, then the years.
    work = np.empty((len(periods), len(outputs), len(LINES), n), np.int64)
    stats: dict[str, list[np.ndarray]] = {"mean_cents": [], **{name: [] for name in ranks}}
    keys: list[tuple[str, str]] = []
    for level, key, draws in level_draws(sampling, priced, aggregates):
        by_month = work[:n_months]
        by_month[:, :n_tables] = draws.transpose(1, 2, 3, 0)
        for j, (a, b) in enumerate(pairs):  # paired: the same draws of both tables
            np.subtract(by_month[:, a], by_month[:, b], out=by_month[:, n_tables + j])
        for i, y in enumerate(years):
            np.sum(by_month[months // 12 == y], axis=0, out=work[n_months + i])
        total = work.sum(axis=-1)
        stats["mean_cents"].append((2 * total + n) // (2 * n))
        work.sort(axis=-1)
        for name, rank in ranks.items():
            stats[name].append(work[..., rank].copy())
        keys.append((level, key))
    # rows: output, key, period, line (as one frame per output and key, concatenated)
    n_out, n_keys, n_periods, n_lines = len(outputs), len(keys), len(periods), len(LINES)
    index = np.indices((n_out, n_keys, n_periods, n_lines)).reshape(4, -1)
    period_of_row = index[2]
    columns = {
        "table": np.asarray(outputs, dtype=object)[index[0]],
        "level": np.asarray([lv for lv, _ in keys], dtype=object)[index[1]],
        "key": np.asarray([k for _, k in keys], dtype=object)[index[1]],
        "period": np.asarray([p[0] for p in periods], dtype=object)[period_of_row],
        "month": pl.Series([p[1] for p in periods], dtype=pl.Date).gather(period_of_row),
        "year": np.asarray([p[2] for p in periods], np.int32)[period_of_row],
        "budget_line": np.asarray(LINES, dtype=object)[index[3]],
    }
    for name, per_key in stats.items():
        # per key: periods × outputs × lines → output, key, period, line
        columns[name] = np.stack(per_key).transpose(2, 0, 1, 3).reshape(-1)
    return pl.DataFrame(
        {name: pl.Series(name, values) for name, values in columns.items()},
        schema_overrides={"table": pl.String, "level": pl.String, "key": pl.String},
    )


def summarise_budget(
    sampling: Sampling,
    priced: PricedTemplates,
    months: Sequence[int],
    levels: Sequence[int] = (80, 95),
) -> pl.DataFrame:
    """One row per level, key, period (each month, each calendar year) and budget line:
    ``mean_cents`` (rounded half up) and the interval bounds in cents (each one of the
    draws)."""
    return summarise_budgets(sampling, [priced], months, levels)


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
    # Per (template, month): every table's total and, for each money parameter, the
    # total with it at 0; all summed over the same draws in one pass.
    columns: list[np.ndarray] = []
    base_column: dict[str, int] = {}
    zeroed_column: dict[tuple[str, str], int] = {}
    for table in tables:
        base_column[table.name] = len(columns)
        columns.append(priced[table.name].costs[:, :, total_line].sum(axis=1))
        for parameter in table.working_parameters():
            if parameter.unit == "EUR":
                zeroed_column[table.name, parameter.name] = len(columns)
                columns.append(pricer.line_cents(without(table, parameter.name), "total"))
    per_draw = sampling.per_draw(np.stack(columns, axis=1), in_year)
    rows = []
    for table in tables:
        base = per_draw[:, base_column[table.name]]
        base_mean = int(round(base.mean()))
        for parameter in table.working_parameters():
            resting = None
            if parameter.unit == "EUR":
                less = per_draw[:, zeroed_column[table.name, parameter.name]]
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
