"""The budget on the cash basis: table ``budget_forecast_cash``.

``budget_forecast`` counts a dossier's cost in its registration month (commitments).
Here the same simulated dossiers (the same draws, templates and pricing) are counted
in the months the money is paid (``models.cash``): the registration → departure delay
is estimated from the warehouse's departed dossiers, per country group (all groups
together, or the fallback parameter, when a group has too few), and each line is paid
over the months after departure by its lag profile (``rules/parameters/
payment_lags.yaml``, working parameters).

Two parts make the cash of the horizon: the dossiers registering in the horizon
(simulated, part ``new registrations``) and the dossiers registered by the origin that
are not yet paid in full (the warehouse's own ``departed`` and ``registered`` dossiers,
priced by the rule core under every table, part ``open dossiers``; a registered dossier
departs on its planned date when that lies after the origin, else by the delay
conditioned on not having left by the origin). Cash falling after the horizon is
reported as period ``after horizon``.

Library code for the Dagster asset and ``reab forecast --basis cash`` (no Dagster).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sparse

from models.budget import CATEGORIES, COSTING_STATUSES, LINES, Sampling, TemplatePricer, level_draws
from models.cash import (
    AFTER,
    CASH_LINES,
    Delay,
    PaymentLags,
    cash_periods,
    conditional_delay,
    departures,
    estimate_delays,
    load_payment_lags,
    payments,
    summarise_cash,
    with_total,
)
from models.forecast import DEFAULT_LEVELS, interval_columns, month_index, month_of
from pipelines.entitlements import default_scenarios
from pipelines.forecast import (
    EARLIER_SUPPORT_SQL,
    TEMPLATE_LAG_MONTHS,
    Progress,
    Simulation,
    simulation_of_volume_forecast,
)
from pipelines.freshness import record_build
from pipelines.warehouse import forecast_money_sql, query_frame, registered
from rules.engine import INPUT_COLUMNS, evaluate_cents, prepare
from rules.parameters import applicable_rules, built_in_table, load_scenario

PARTNERS: tuple[str, ...] = ("IOM", "Caritas", "none")
PARTS: tuple[str, ...] = ("new registrations", "open dossiers")
PAID = tuple(line for line in CASH_LINES if line != "total")  # lines with a profile
# Departed dossiers registered in the DELAY_WINDOW_MONTHS ending TEMPLATE_LAG_MONTHS
# before the origin estimate the delay (by then nearly all have reached an outcome, so
# the long delays are not cut off); delays beyond LONGEST_DELAY months count at it.
DELAY_WINDOW_MONTHS = 24
LONGEST_DELAY = 12
DRAW_CHUNK = 100  # draws apportioned at a time (bounded memory)


@dataclass(frozen=True)
class CashForecast:
    yearly: pl.DataFrame  # table, year, mean, lo80, hi80 of the total (EUR)
    delays: dict[str, Delay]  # per country group
    open_dossiers: int  # dossiers registered by the origin with cash still to pay


DOSSIER_SQL = """
SELECT dossier_id, min(registration_date) AS registered,
       any_value(return_country ORDER BY role <> 'principal') AS country,
       any_value(reintegration_partner ORDER BY reintegration_partner IS NULL,
                 role <> 'principal') AS partner,
       any_value(dossier_status) AS status, max(departure_date) AS departure
FROM dossier_persons GROUP BY dossier_id
"""


def departed_delays(
    con: duckdb.DuckDBPyConnection, origin: int, groups: dict[str, str]
) -> dict[str, np.ndarray]:
    """Per country group, the delays (departure month − registration month) of the
    departed dossiers registered in the estimation window, departed by the origin."""
    end = month_of(origin - TEMPLATE_LAG_MONTHS + 1)
    start = month_of(origin - TEMPLATE_LAG_MONTHS - DELAY_WINDOW_MONTHS + 1)
    frame = query_frame(
        con,
        f"""WITH d AS ({DOSSIER_SQL})
            SELECT country, (year(departure) * 12 + month(departure) - 1)
                          - (year(registered) * 12 + month(registered) - 1) AS delay
            FROM d WHERE status = 'departed' AND registered >= $start AND registered < $end
              AND departure < $until""",
        {"start": start, "end": end, "until": month_of(origin + 1)},
    )
    out: dict[str, list[int]] = {group: [] for group in sorted(set(groups.values()))}
    for country, delay in frame.iter_rows():
        if country in groups:
            out[groups[country]].append(max(int(delay), 0))
    return {group: np.asarray(d, np.int64) for group, d in out.items()}


def _pad(pmf: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length)
    out[: len(pmf)] = pmf
    return out


def _restricted(sampling: Sampling, columns: np.ndarray) -> Sampling:
    """The sampling with only the chosen (template, month) columns."""
    matrix = sampling.matrix
    keep = columns[matrix.indices]
    row_of_entry = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    nnz = np.bincount(row_of_entry[keep], minlength=matrix.shape[0])
    kept = sparse.csr_matrix(
        (
            matrix.data[keep],
            matrix.indices[keep],
            np.concatenate([[0], np.cumsum(nnz)]).astype(matrix.indptr.dtype),
        ),
        shape=matrix.shape,
    )
    return Sampling(kept, sampling.countries, sampling.draws, sampling.months)


def template_partners(con: duckdb.DuckDBPyConnection, sim: Simulation) -> np.ndarray:
    """Per template dossier: its reintegration partner (index into ``PARTNERS``)."""
    ids = sim.templates.persons.select("dossier_id", "template").unique("template")
    with registered(con, chosen=ids.select("dossier_id")):
        partner = query_frame(
            con,
            f"""WITH d AS ({DOSSIER_SQL}) SELECT dossier_id, partner FROM d
                SEMI JOIN chosen USING (dossier_id)""",
        )
    joined = ids.join(partner, on="dossier_id", how="left").sort("template")
    code = {p: i for i, p in enumerate(PARTNERS)}
    out = np.full(sim.templates.count, code["none"], np.int64)
    out[joined["template"].to_numpy()] = [
        code.get(p or "none", code["none"]) for p in joined["partner"].to_list()
    ]
    return out


def _tables(scenario_files: Iterable[str | Path] | None):
    rules = applicable_rules()
    files = default_scenarios() if scenario_files is None else [Path(f) for f in scenario_files]
    tables = [built_in_table(rules.before_table), built_in_table(rules.after_table)]
    return tables + [load_scenario(f) for f in files], rules


def new_registrations_cash(
    sim: Simulation,
    priced: list,
    partners: np.ndarray,
    classes: list[tuple[np.ndarray, np.ndarray]],
    lags: PaymentLags,
) -> np.ndarray:
    """Cash of the simulated dossiers: (draws, columns, tables, cells, lines), cells =
    partner × category, columns ``[before horizon, horizon months…, after horizon]``."""
    months = np.asarray(sim.months)
    first, n_months = int(months[0]), len(months)
    n_cells = len(PARTNERS) * len(CATEGORIES)
    source = [LINES.index(line) for line in PAID]
    draws, tables = sim.sampling.draws, len(priced)
    by_departure = None
    for template_mask, pmf in classes:
        commitments = np.zeros((draws, n_months, tables, n_cells, len(PAID)), np.int64)
        for p in range(len(PARTNERS)):
            chosen = template_mask & (partners == p)
            if not chosen.any():
                continue
            sampling = _restricted(sim.sampling, np.repeat(chosen, n_months))
            for k, (_level, _key, cents) in enumerate(level_draws(sampling, priced, ("category",))):
                commitments[:, :, :, p * len(CATEGORIES) + k] = cents[..., source]
        for lo in range(0, draws, DRAW_CHUNK):
            dep_months, moved = departures(commitments[lo : lo + DRAW_CHUNK], months, pmf)
            if by_departure is None:
                by_departure = np.zeros((draws, *moved.shape[1:]), np.int64)
            by_departure[lo : lo + DRAW_CHUNK] += moved
    out = np.zeros((draws, n_months + 2, tables, n_cells, len(CASH_LINES)), np.int64)
    for lo in range(0, draws, DRAW_CHUNK):
        cash = payments(by_departure[lo : lo + DRAW_CHUNK], dep_months, PAID, lags, first, n_months)
        out[lo : lo + DRAW_CHUNK] = with_total(cash, PAID)
    return out


def open_dossiers_cash(
    con: duckdb.DuckDBPyConnection,
    sim: Simulation,
    tables: list,
    delays: dict[str, Delay],
    lags: PaymentLags,
) -> tuple[np.ndarray, int]:
    """Cash in the horizon of the dossiers registered by the origin (departed or still
    registered, not yet paid in full), priced under every table: (1, columns, tables,
    cells, lines) and how many dossiers."""
    origin, months = sim.origin, np.asarray(sim.months)
    first, n_months = int(months[0]), len(months)
    oldest = month_of(first - lags.longest_lag)  # departures before it are paid
    n_cells = len(PARTNERS) * len(CATEGORIES)
    empty = np.zeros((1, n_months + 2, len(tables), n_cells, len(CASH_LINES)), np.int64)
    others = [c for c in INPUT_COLUMNS if c != "previous_return_support_date"]
    persons = query_frame(
        con,
        f"""WITH d AS ({DOSSIER_SQL}),
            open AS (SELECT * FROM d WHERE registered < $until
                     AND status IN {tuple(COSTING_STATUSES)}
                     AND (status = 'registered' OR departure >= $oldest))
            SELECT {", ".join(f"p.{c}" for c in others)}, p.ticket_cost_eur,
                   {EARLIER_SUPPORT_SQL},
                   open.registered AS _registered, open.country AS _country,
                   coalesce(open.partner, 'none') AS _partner, open.departure AS _departure
            FROM dossier_persons p JOIN open USING (dossier_id)
            ORDER BY p.dossier_id, p.person_id""",
        {"until": month_of(origin + 1), "oldest": oldest},
    )
    if persons.is_empty():
        return empty, 0
    prepared = prepare(persons.select(INPUT_COLUMNS))
    category = evaluate_cents(prepared, built_in_table(applicable_rules().after_table))["category"]
    category = category.fill_null(len(CATEGORIES)).to_numpy().astype(np.int64) - 1
    partner = np.array([PARTNERS.index(p) for p in persons["_partner"].to_list()])
    cell = partner * len(CATEGORIES) + category
    # A ticket not yet bought: the mean ticket of the country's departed templates.
    tickets = (
        sim.templates.persons.filter(pl.col("ticket_cost_eur").is_not_null())
        .group_by("return_country")
        .agg((pl.col("ticket_cost_eur").mean() * 100).round().cast(pl.Int64).alias("_mean"))
    )
    ticket = (
        persons.join(tickets, on="return_country", how="left")
        .select(pl.coalesce((pl.col("ticket_cost_eur") * 100).cast(pl.Int64), "_mean", pl.lit(0)))
        .to_series()
        .to_numpy()
    )
    amounts = np.zeros((persons.height, len(tables), len(PAID)), np.int64)
    for t, table in enumerate(tables):
        evaluated = evaluate_cents(prepared, table)
        for j, line in enumerate(PAID):
            if line == "ticket":
                amounts[:, t, j] = np.where(evaluated["ticket_eligible"].to_numpy(), ticket, 0)
            else:
                amounts[:, t, j] = evaluated[line].cast(pl.Int64).to_numpy()
    registration = np.array([month_index(d) for d in persons["_registered"].to_list()])
    departure = np.array(
        [month_index(d) if d is not None else -1 for d in persons["_departure"].to_list()]
    )
    status = persons["dossier_status"].to_numpy()
    # a registered dossier leaves on its planned date if that lies after the origin
    known = (status == "departed") | (departure > origin)
    groups = [sim.groups.get(c) for c in persons["_country"].to_list()]
    fallback = Delay(np.asarray(lags.delay_fallback.at_month(origin)), 0, "fallback parameter")
    # by departure month: the known departures as they are, the others by the delay
    pieces = []
    rows = np.flatnonzero(known)
    if len(rows):
        dep_months = np.arange(int(departure[rows].min()), int(departure[rows].max()) + 1)
        moved = np.zeros((1, len(dep_months), len(tables), n_cells, len(PAID)), np.int64)
        where = (departure[rows] - dep_months[0], slice(None), cell[rows])
        np.add.at(moved[0], where, amounts[rows])
        pieces.append((dep_months, moved))
    unknown = np.flatnonzero(~known)
    for group in sorted({groups[i] for i in unknown}, key=str):
        pmf = (delays.get(group) or fallback).pmf
        of_group = unknown[[groups[i] == group for i in unknown]]
        reg_months = np.unique(registration[of_group])
        commitments = np.zeros((1, len(reg_months), len(tables), n_cells, len(PAID)), np.int64)
        where = (np.searchsorted(reg_months, registration[of_group]), slice(None), cell[of_group])
        np.add.at(commitments[0], where, amounts[of_group])
        conditional = [conditional_delay(pmf, origin + 1 - m) for m in reg_months]
        length = max(len(c) for c in conditional)
        pieces.append(
            departures(commitments, reg_months, np.stack([_pad(c, length) for c in conditional]))
        )
    start = min(int(m[0]) for m, _ in pieces)
    span = np.arange(start, max(int(m[-1]) for m, _ in pieces) + 1)
    by_departure = np.zeros((1, len(span), len(tables), n_cells, len(PAID)), np.int64)
    for dep_months, moved in pieces:
        by_departure[:, dep_months[0] - start : dep_months[-1] - start + 1] += moved
    cash = with_total(payments(by_departure, span, PAID, lags, first, n_months), PAID)
    return cash, int(persons["dossier_id"].n_unique())


MONEY = forecast_money_sql(interval_columns(DEFAULT_LEVELS))
CASH_FORECAST_SQL = f"""
CREATE OR REPLACE TABLE budget_forecast_cash AS
SELECT "table", level, "key", period, "month", "year", budget_line,
       {MONEY}, $origin::DATE AS origin, $draws::INTEGER AS draws, 'cash' AS basis
FROM new_rows
"""


def build_cash_forecast(
    con: duckdb.DuckDBPyConnection,
    simulation: Simulation | None = None,
    scenario_files: Iterable[str | Path] | None = None,
    lags: PaymentLags | None = None,
    progress: Progress | None = None,
) -> CashForecast:
    """Replace table ``budget_forecast_cash``: per table (as ``budget_forecast``, with
    each minus 2025 paired draw by draw), level (``partner``: IOM, Caritas, none;
    ``category``: the 2026 categories; ``part``: new registrations, open dossiers;
    ``total``), key, period (each month of the horizon, each calendar year, and
    ``after horizon``) and cash line: mean and 80 %/95 % intervals in EUR, from the same
    draws as the commitments (``simulation``, default the one behind
    ``volume_forecast``). Returns the yearly totals and the delays used."""
    say = progress or (lambda _m: None)
    sim = simulation or simulation_of_volume_forecast(con, progress)
    lags = lags or load_payment_lags()
    tables, rules = _tables(scenario_files)
    months = np.asarray(sim.months)
    first, n_months = int(months[0]), len(months)

    minimum = lags.delay_estimate.at_month(sim.origin)
    fallback = np.asarray(lags.delay_fallback.at_month(sim.origin))
    delays = estimate_delays(
        departed_delays(con, sim.origin, sim.groups), minimum, fallback, LONGEST_DELAY
    )
    for group, delay in delays.items():
        say(f"delay to departure, {group}: {delay.source} ({delay.departures} departures)")
    pmf_length = max(LONGEST_DELAY + 1, *(len(d.pmf) for d in delays.values()))

    say(f"pricing {sim.templates.count:,} templates × {n_months} months for the cash basis")
    pricer = TemplatePricer(sim.templates, sim.months, built_in_table(rules.after_table))
    priced = [pricer.price(table) for table in tables]
    partners = template_partners(con, sim)
    # templates by delay class: the groups sharing one delay go together
    country_of_template = np.repeat(np.arange(len(sim.countries)), sim.templates.size)
    group_of_country = np.array([sim.groups[c] for c in sim.countries], dtype=object)
    classes: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    for group, delay in delays.items():
        pmf = _pad(delay.pmf, pmf_length)
        mask = group_of_country[country_of_template] == group
        key = pmf.tobytes()
        previous = classes.get(key, (np.zeros_like(mask), pmf))[0]
        classes[key] = (previous | mask, pmf)
    say("moving the commitments to the months they are paid")
    new = new_registrations_cash(sim, priced, partners, list(classes.values()), lags)
    say("adding the open dossiers registered by the origin")
    open_cash, n_open = open_dossiers_cash(con, sim, tables, delays, lags)

    names = [t.name for t in tables]
    outputs = names + [f"{name} - {rules.before_table}" for name in names[1:]]

    def with_differences(cash: np.ndarray) -> np.ndarray:  # draws, columns, tables, lines
        diffs = [cash[:, :, t] - cash[:, :, 0] for t in range(1, len(names))]
        return np.concatenate([cash, np.stack(diffs, axis=2)], axis=2)

    by_cell = new + open_cash  # draws, columns, tables, cells, lines
    cells = by_cell.reshape(*by_cell.shape[:3], len(PARTNERS), len(CATEGORIES), -1)
    keys = [("total", "total", by_cell.sum(axis=3))]
    keys += [("partner", p, cells[:, :, :, i].sum(axis=3)) for i, p in enumerate(PARTNERS)]
    keys += [("category", c, cells[:, :, :, :, k].sum(axis=3)) for k, c in enumerate(CATEGORIES)]
    keys += [
        ("part", PARTS[0], new.sum(axis=3)),
        ("part", PARTS[1], np.broadcast_to(open_cash.sum(axis=3), new.shape[:3] + new.shape[4:])),
    ]
    periods = cash_periods(first, n_months)
    frames = []
    for level, key, draws in keys:
        stats = summarise_cash(
            with_differences(np.ascontiguousarray(draws)), periods, DEFAULT_LEVELS
        )
        index = np.indices((len(outputs), len(periods), len(CASH_LINES))).reshape(3, -1)
        frames.append(
            pl.DataFrame(
                {
                    "table": np.asarray(outputs, dtype=object)[index[0]],
                    "level": level,
                    "key": key,
                    "period": np.asarray([p[0] for p in periods], dtype=object)[index[1]],
                    "month": pl.Series([p[1] for p in periods], dtype=pl.Date).gather(index[1]),
                    "year": pl.Series([p[2] for p in periods], dtype=pl.Int32).gather(index[1]),
                    "budget_line": np.asarray(CASH_LINES, dtype=object)[index[2]],
                    # stats: periods × outputs × lines
                    **{name: s.transpose(1, 0, 2).reshape(-1) for name, s in stats.items()},
                },
                schema_overrides={
                    "table": pl.String,
                    "period": pl.String,
                    "budget_line": pl.String,
                },
            )
        )
    rows = pl.concat(frames)
    say("writing budget_forecast_cash")
    with registered(con, new_rows=rows):
        con.execute(
            CASH_FORECAST_SQL, {"origin": month_of(sim.origin), "draws": sim.sampling.draws}
        )
    record_build(con, "budget_forecast_cash")
    yearly = query_frame(
        con,
        """SELECT "table", "year", period, mean, lo80, hi80 FROM budget_forecast_cash
           WHERE level = 'total' AND period IN ('year', $after) AND budget_line = 'total'
           ORDER BY "year" NULLS LAST, "table" """,
        {"after": AFTER},
    )
    return CashForecast(yearly, delays, n_open)


__all__ = [
    "PARTNERS",
    "PARTS",
    "CashForecast",
    "build_cash_forecast",
    "departed_delays",
    "open_dossiers_cash",
]
