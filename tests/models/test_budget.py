"""The budget simulation: re-dating, sampling, pricing against the reference, and the
consistency of every level, period and table difference."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sparse
from polars.testing import assert_frame_equal

from models import budget
from models.budget import (
    CATEGORIES,
    LINES,
    PricedTemplates,
    TemplatePricer,
    Templates,
    budget_draws,
    difference,
    make_templates,
    redate,
    sample_templates,
    summarise_budget,
    summarise_budgets,
    without,
    working_parameter_weights,
)
from models.forecast import month_index, month_of
from rules.budget_lines import AMOUNT_COLUMNS
from rules.parameters import built_in_table
from rules.reference import entitle
from tests.factories import PERSONS_SCHEMA, household, person, typed_row

NOV_2026 = month_index(date(2026, 11, 1))
MONTHS = np.arange(NOV_2026, NOV_2026 + 14)  # Nov 2026 .. Dec 2027
T2025, T2026 = built_in_table("2025"), built_in_table("2026")


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([typed_row(r) for r in rows], schema=PERSONS_SCHEMA)


def templates_of(rows: list[dict], countries=("GEO", "SYR")):
    persons = frame(rows)
    dossiers = (
        persons.filter(pl.col("role") == "principal")
        .select("dossier_id", pl.col("return_country").alias("country"))
        .unique()
    )
    return make_templates(persons, dossiers, countries)


def georgian(dossier: str, status: str = "departed", **cells) -> dict:
    departure = "" if status in ("cancelled", "no_show") else "2026-04-20"
    return person(
        dossier_id=dossier,
        person_id=f"P{dossier}",
        registration_date="2026-03-31",
        departure_date=departure,
        dossier_status=status,
        ticket_cost_eur="310.00",
        **cells,
    )


def syrians() -> list[dict]:
    return household("D9000", first_person=90, registration_date="2026-02-10")


def test_redate_moves_every_date_by_the_same_days_and_makes_ids_unique():
    rows = frame([georgian("D1"), *syrians()])
    feb_2027 = month_index(date(2027, 2, 1))
    moved = redate(rows, [feb_2027, feb_2027 + 1])
    assert moved.height == 2 * rows.height
    geo = moved.filter(pl.col("dossier_id") == "D1@2027-02").row(0, named=True)
    assert geo["registration_date"] == date(2027, 2, 28)  # 31 March → last day of February
    assert (geo["departure_date"] - geo["registration_date"]).days == 20  # as in the template
    assert geo["person_id"] == "PD1@2027-02"
    child = moved.filter(
        (pl.col("dossier_id") == "D9000@2027-03") & (pl.col("role") == "child")
    ).row(0, named=True)
    assert child["annex_parent_id"] == "P0090@2027-03"
    assert child["registration_date"] == date(2027, 3, 10)
    assert moved["month_position"].unique().sort().to_list() == [0, 1]


def reference_cost(rows: list[dict], month: int, table) -> dict[str, int]:
    """Cents per line of one template dossier re-dated into ``month``, by the plain-Python
    reference (not the engine); ticket from the template's ticket cost."""
    moved = redate(frame(rows), [month]).drop("month_position")
    entitlements = entitle(moved.to_dicts(), table)
    cents = dict.fromkeys(LINES, 0)
    for e, row in zip(entitlements, moved.iter_rows(named=True), strict=True):
        for line in AMOUNT_COLUMNS:
            cents[line] += int(e.amounts[line] * 100)
        if e.ticket_eligible and row["ticket_cost_eur"] is not None:
            cents["ticket"] += int(row["ticket_cost_eur"] * 100)
    return cents


@pytest.mark.parametrize("table", [T2025, T2026], ids=["2025", "2026"])
def test_one_template_per_country_gives_exact_reference_costs(table):
    rows = [georgian("D1"), *syrians()]
    templates = templates_of(rows)
    draws = 3
    paths = np.zeros((draws, 2, len(MONTHS)), np.int64)
    paths[:, 0] = 2  # two Georgian dossiers a month
    paths[:, 1, 5] = 1  # one Syrian family in April 2027
    sampling = sample_templates(paths, templates, np.random.default_rng(0))
    priced = TemplatePricer(templates, MONTHS, T2026).price(table)
    summary = summarise_budget(sampling, priced, MONTHS)
    april = MONTHS[5]
    geo = reference_cost([georgian("D1")], april, table)
    syr = reference_cost(syrians(), april, table)
    cell = summary.filter(level="total", period="month", month=date(2027, 4, 1))
    for line in LINES:
        row = cell.filter(budget_line=line).row(0, named=True)
        expected = 2 * geo[line] + syr[line]
        assert row["mean_cents"] == row["lo80"] == row["hi95"] == expected, line
    assert geo["total"] > 0 and syr["total"] > 0 and geo["ticket"] == 31000


def test_cancelled_templates_cost_nothing_and_sampling_fills_each_cell_exactly():
    rows = [georgian("D1"), georgian("D2", status="cancelled"), *syrians()]
    templates = templates_of(rows)
    rng = np.random.default_rng(4)
    paths = rng.poisson(3.0, (400, 2, len(MONTHS)))
    sampling = sample_templates(paths, templates, rng)
    per_cell = np.asarray(sampling.matrix.sum(axis=1)).reshape(2, 400, len(MONTHS))
    assert np.array_equal(per_cell, np.moveaxis(paths, 1, 0))  # every simulated dossier filled
    # Georgian cells only use Georgian templates (0 and 1), Syrian ones the Syrian (2).
    used = sampling.matrix.tocoo()
    country = used.row // (400 * len(MONTHS))
    template = used.col // len(MONTHS)
    assert set(template[country == 0]) == {0, 1} and set(template[country == 1]) == {2}
    priced = TemplatePricer(templates, MONTHS, T2026).price(T2026)
    total = LINES.index("total")
    geo_draws = sampling.per_country(0, priced.costs.sum(axis=1))[:, :, total]
    one = reference_cost([georgian("D1")], MONTHS[0], T2026)["total"]
    # Each Georgian dossier costs `one` (departed) or 0 (cancelled), half and half.
    assert np.all(geo_draws[:, 0] % one == 0)
    share = geo_draws[:, 0].sum() / one / paths[:, 0, 0].sum()
    assert 0.4 < share < 0.6


def test_every_level_period_and_difference_agrees_draw_by_draw():
    rows = [georgian("D1"), georgian("D2", status="no_show"), *syrians()]
    rows += household("D9100", first_person=95, registration_date="2026-01-05")
    # Ukraine: visa-free, no category under 2026, but a return premium.
    rows.append(georgian("D3", nationality="UKR", return_country="UKR"))
    templates = templates_of(rows, countries=("GEO", "SYR", "UKR"))
    rng = np.random.default_rng(9)
    paths = rng.poisson(2.0, (50, 3, len(MONTHS)))
    sampling = sample_templates(paths, templates, rng)
    pricer = TemplatePricer(templates, MONTHS, T2026)
    p25, p26 = pricer.price(T2025), pricer.price(T2026)
    levels = {(lv, key): d for lv, key, d in budget_draws(sampling, p26)}
    countries = sum(levels[("country", c)] for c in ("GEO", "SYR", "UKR"))
    assert levels[("category", "no category")][:, :, LINES.index("total")].sum() > 0
    categories = sum(levels[("category", c)] for c in CATEGORIES)
    assert np.array_equal(countries, levels[("total", "total")])
    assert np.array_equal(categories, levels[("total", "total")])
    assert levels[("total", "total")].dtype == np.int64
    # The difference table is the paired difference, draw by draw.
    diff = {(lv, key): d for lv, key, d in budget_draws(sampling, difference(p26, p25))}
    base = {(lv, key): d for lv, key, d in budget_draws(sampling, p25)}
    for key, draws in levels.items():
        assert np.array_equal(diff[key], draws - base[key])
    # Years are the sums of their months; means round the exact integer sum.
    summary = summarise_budget(sampling, p26, MONTHS).filter(level="total", budget_line="total")
    total_draws = levels[("total", "total")][:, :, LINES.index("total")]
    year_2027 = summary.filter(period="year", year=2027).row(0, named=True)
    assert year_2027["mean_cents"] == round(total_draws[:, 2:].sum(axis=1).mean())
    months = summary.filter(period="month")
    assert months["mean_cents"].to_list() == [round(v) for v in total_draws.mean(axis=0)]
    assert (summary["lo95"] <= summary["lo80"]).all() and (summary["hi80"] <= summary["hi95"]).all()


def test_templates_needed_for_every_forecast_country():
    with pytest.raises(ValueError, match="no template dossiers for MNG"):
        templates_of([georgian("D1")], countries=("GEO", "MNG"))


def test_working_parameters_and_what_rests_on_them():
    rows = [georgian("D1", residence_status="irregular"), *syrians()]
    templates = templates_of(rows)
    paths = np.ones((5, 2, len(MONTHS)), np.int64)
    sampling = sample_templates(paths, templates, np.random.default_rng(0))
    pricer = TemplatePricer(templates, MONTHS, T2026)
    priced = {"2026": pricer.price(T2026)}
    weights = working_parameter_weights(pricer, sampling, [T2026], MONTHS, priced)
    names = set(weights["parameter"])
    assert {p.name for p in T2026.working_parameters()} == names
    row = weights.filter(parameter="base_adult").row(0, named=True)
    # One dossier of each template per month of 2027: what base_adult adds, by reference.
    zero = without(T2026, "base_adult")
    assert zero.parameters["base_adult"].at(date(2027, 1, 1)) == Decimal(0)
    expected = sum(
        reference_cost(r, m, T2026)["total"] - reference_cost(r, m, zero)["total"]
        for r in ([georgian("D1")], syrians())
        for m in MONTHS[2:]
    )
    assert row["resting_cents"] == expected > 0
    split = weights.filter(parameter="pap_cash_adult").row(0, named=True)
    assert split["resting_cents"] == 0  # moves money between lines only
    countries = weights.filter(unit="countries")
    assert countries["resting_cents"].is_null().all() and countries.height >= 1


def straightforward_sampling(paths: np.ndarray, templates, rng) -> sparse.csr_matrix:
    """The sampling matrix as first written: every dossier's uniform number in cell
    order, one COO entry per dossier, duplicates summed."""
    draws, n_countries, months = paths.shape
    counts = np.moveaxis(paths, 1, 0).reshape(-1).astype(np.int64)
    cells = np.repeat(np.arange(counts.size), counts)
    country = cells // (draws * months)
    chosen = templates.start[country] + np.floor(
        rng.random(cells.size) * templates.size[country]
    ).astype(np.int64)
    matrix = sparse.csr_matrix(
        (np.ones(cells.size, np.int64), (cells, chosen * months + cells % months)),
        shape=(counts.size, templates.count * months),
    )
    matrix.sum_duplicates()
    return matrix


def synthetic_templates(sizes: Sequence[int]) -> Templates:
    """Templates of len(sizes) countries without persons (enough to sample)."""
    size = np.asarray(sizes, np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    countries = tuple(f"C{i}" for i in range(len(sizes)))
    return Templates(
        countries, pl.DataFrame({"template": []}, schema={"template": pl.Int32}), start, size
    )


@pytest.mark.parametrize("chunk", [1, 7, 1 << 21])
def test_sampling_is_the_straightforward_sampling(monkeypatch, chunk):
    """Chunked counting gives the matrix of one COO entry per dossier with duplicates
    summed, from the same random numbers (and leaves the generator in the same state)."""
    monkeypatch.setattr(budget, "SAMPLING_CHUNK", chunk)
    templates = synthetic_templates([3, 1, 40, 5])
    paths = np.random.default_rng(1).poisson([[[2.0], [0.5], [30.0], [0.0]]], (25, 4, 6))
    paths[3, 2, 1] = 400  # one cell with many more dossiers than a chunk
    fast_rng, plain_rng = np.random.default_rng(8), np.random.default_rng(8)
    matrix = sample_templates(paths, templates, fast_rng).matrix
    expected = straightforward_sampling(paths, templates, plain_rng)
    assert matrix.has_canonical_format
    assert np.array_equal(matrix.indptr, expected.indptr)
    assert np.array_equal(matrix.indices, expected.indices)
    assert np.array_equal(matrix.data, expected.data)
    assert matrix.data.dtype == np.int64 and matrix.shape == expected.shape
    assert fast_rng.random() == plain_rng.random()


def synthetic_costs(rng, rows: int, name: str) -> PricedTemplates:
    """Cents per (template-month, category, line): most rows in one category, some in
    none (cancelled), some in two (a household whose persons differ); some negative."""
    costs = np.zeros((rows, len(CATEGORIES), len(LINES)), np.int64)
    kind = rng.integers(0, 5, rows)  # 0: no cost, 1: two categories, else one
    for row in range(rows):
        if kind[row] == 0:
            continue
        chosen = rng.choice(len(CATEGORIES), 2 if kind[row] == 1 else 1, replace=False)
        costs[row, chosen] = rng.integers(-5_000, 400_000, (len(chosen), len(LINES)))
    return PricedTemplates(name, costs)


def plain_bound(values: np.ndarray, share: Fraction) -> int:
    """The smallest draw with at least ``share`` of the draws at or below it."""
    ordered = sorted(int(v) for v in values)
    rank = max(math.ceil(share * len(ordered)) - 1, 0)
    return ordered[rank]


def test_summaries_of_many_tables_and_differences_are_the_plain_computation():
    """Every row of ``summarise_budgets`` (three tables, two paired differences,
    countries, categories, total, months and years) against sums of a dense matrix,
    exact means rounded half up and exact ranks."""
    rng = np.random.default_rng(3)
    templates = synthetic_templates([4, 2, 6])
    months = np.arange(NOV_2026, NOV_2026 + 4)  # Nov 2026 .. Feb 2027: two years
    draws = 40  # even: some means are halves, rounded up
    paths = rng.poisson([[[3.0], [1.0], [5.0]]], (draws, 3, len(months)))
    sampling = sample_templates(paths, templates, rng)
    rows = templates.count * len(months)
    priced = [synthetic_costs(rng, rows, name) for name in ("old", "new", "other")]
    summary = summarise_budgets(
        sampling, priced, months, (80, 95), differences=[("new", "old"), ("other", "old")]
    )
    # dense: (countries, draws, months, tables, categories, lines)
    dense = sampling.matrix.toarray()
    per_cell = np.stack([dense @ p.costs.reshape(rows, -1) for p in priced], axis=1)
    per_cell = per_cell.reshape(3, draws, len(months), 3, len(CATEGORIES), len(LINES))
    outputs = [
        ("old", per_cell[:, :, :, 0]),
        ("new", per_cell[:, :, :, 1]),
        ("other", per_cell[:, :, :, 2]),
        ("new - old", per_cell[:, :, :, 1] - per_cell[:, :, :, 0]),
        ("other - old", per_cell[:, :, :, 2] - per_cell[:, :, :, 0]),
    ]
    expected = []
    for table, cells in outputs:  # cells: countries, draws, months, categories, lines
        keys = [("country", c, cells[i].sum(axis=2)) for i, c in enumerate(templates.countries)]
        keys += [("category", k, cells[:, :, :, j].sum(axis=0)) for j, k in enumerate(CATEGORIES)]
        keys.append(("total", "total", cells.sum(axis=(0, 3))))
        for level, key, by_month in keys:  # draws, months, lines
            periods = [("month", month_of(int(m)), by_month[:, i]) for i, m in enumerate(months)]
            periods += [("year", None, by_month[:, :2].sum(axis=1))]  # Nov, Dec 2026
            periods += [("year", None, by_month[:, 2:].sum(axis=1))]  # Jan, Feb 2027
            for (period, month, values), year in zip(
                periods, [2026, 2026, 2027, 2027, 2026, 2027], strict=True
            ):
                for j, line in enumerate(LINES):
                    v = values[:, j]
                    row = {
                        "table": table,
                        "level": level,
                        "key": key,
                        "period": period,
                        "month": month,
                        "year": year,
                        "budget_line": line,
                        "mean_cents": math.floor(Fraction(int(v.sum()), draws) + Fraction(1, 2)),
                    }
                    for level_ in (80, 95):
                        tail = Fraction(100 - level_, 200)
                        row[f"lo{level_}"] = plain_bound(v, tail)
                        row[f"hi{level_}"] = plain_bound(v, 1 - tail)
                    expected.append(row)
    expected = pl.DataFrame(expected, schema=summary.schema)
    assert summary.height == 5 * (3 + 4 + 1) * 6 * len(LINES)
    assert_frame_equal(summary, expected)
    assert summary.filter(level="category", key="category 1")["mean_cents"].abs().sum() > 0
    # one table alone, and the totals alone, are the same rows
    assert_frame_equal(summarise_budget(sampling, priced[1], months), summary.filter(table="new"))
    totals = summarise_budgets(
        sampling,
        priced,
        months,
        differences=[("new", "old"), ("other", "old")],
        aggregates=("total",),
    )
    assert_frame_equal(totals, summary.filter(level="total"))


def test_per_draw_figures_and_line_cents_are_the_plain_sums():
    rows = [georgian("D1"), georgian("D2", status="cancelled"), *syrians()]
    templates = templates_of(rows)
    rng = np.random.default_rng(12)
    paths = rng.poisson(2.0, (20, 2, len(MONTHS)))
    sampling = sample_templates(paths, templates, rng)
    pricer = TemplatePricer(templates, MONTHS, T2026)
    costs = pricer.price(T2026).costs
    total = costs[:, :, LINES.index("total")].sum(axis=1)
    assert np.array_equal(pricer.line_cents(T2026, "total"), total)
    assert np.array_equal(
        pricer.line_cents(T2025, "return_premium"),
        pricer.price(T2025).costs[:, :, LINES.index("return_premium")].sum(axis=1),
    )
    chosen = MONTHS // 12 == 2027
    dense = sampling.matrix.toarray().reshape(2, 20, len(MONTHS), -1)
    expected = np.einsum("cdmr,r->d", dense[:, :, chosen], total)
    assert np.array_equal(sampling.per_draw(total, chosen), expected)
    both = sampling.per_draw(np.stack([total, 2 * total], axis=1), chosen)
    assert np.array_equal(both, np.stack([expected, 2 * expected], axis=1))
