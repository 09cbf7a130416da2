"""What the management report says: every table read from the warehouse, protected by
the small-cell rule, in one language. No formatting here (that is the renderers' job)
and no Dagster.

Money is summed as DECIMAL in SQL and carried as ``Decimal`` EUR; counts as ``int``.
"""

from __future__ import annotations

import gettext
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

import duckdb
import polars as pl
import pycountry

from data_contracts.countries import countries
from models.disclosure import COMPLEMENTARY, OTHER, SMALL, THRESHOLD, protect_counts
from models.forecast import month_index, month_of
from pipelines.forecast import last_complete_month
from pipelines.report import charts
from pipelines.report.labels import TEXT, Labels
from pipelines.report.model import HIDDEN, SMALL_CELL, Column, Report, Section, Table
from pipelines.warehouse import fetch_one, query_frame, scalar
from rules.budget_lines import AMOUNT_COLUMNS
from rules.parameters import applicable_rules

LINES = (*AMOUNT_COLUMNS, "ticket")
TOP_COUNTRIES = 10
PAGE_ROWS = 25  # longer tables show their head on the page, all rows in the workbook
ALARM_MONTHS = 12
TIMELINE_MONTHS = 24


class ReportError(ValueError):
    """The report cannot be made (e.g. the warehouse is empty); the message says why."""


@cache
def country_names(lang: str = "en") -> dict[str, str]:
    """ISO3 → country name: English from the versioned country reference; Dutch and
    French from the ISO 3166 translations that ship with pycountry (the English name
    where a code has none, e.g. XKX, STA)."""
    english = dict(countries().select("iso3", "name").iter_rows())
    if lang == "en":
        return english
    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    names = {}
    for code, name in english.items():
        country = pycountry.countries.get(alpha_3=code)
        if country is None:
            names[code] = name
            continue
        common = getattr(country, "common_name", None)
        names[code] = translation.gettext(common or country.name)
        if common and names[code] == common:  # no translation of the common name
            names[code] = translation.gettext(country.name)
    return names


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    exists = scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = $t", {"t": table}
    )
    return bool(exists) and bool(scalar(con, f'SELECT count(*) > 0 FROM "{table}"'))


def report_month(con: duckdb.DuckDBPyConnection, month: date | None) -> date:
    """The month reported on: ``month`` (checked against the data) or the latest complete
    month of registrations."""
    if not _has_rows(con, "dossier_persons"):
        raise ReportError("the warehouse holds no dossiers yet: ingest extracts first")
    last = month_of(last_complete_month(con))
    first = scalar(con, "SELECT min(registration_date) FROM dossier_persons")
    if month is None:
        return last
    month = month.replace(day=1)
    if not first.replace(day=1) <= month <= last:
        raise ReportError(
            f"no complete month {month:%Y-%m} in the warehouse: it holds registrations "
            f"from {first:%Y-%m} to {last:%Y-%m} (the last complete month)"
        )
    return month


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    L: Labels
    month: date
    origin: date | None  # last history month of the stored forecast
    draws: int | None
    next_year: int | None


def _forecast_origin(con) -> tuple[date | None, int | None, int | None]:
    if not _has_rows(con, "budget_forecast"):
        return None, None, None
    origin, draws, year = fetch_one(
        con, "SELECT max(origin), max(draws), max(year) FROM budget_forecast"
    )
    return origin, draws, year


# --- spend to date -------------------------------------------------------------------

ACTUALS_SQL = """
SELECT date_trunc('month', p.registration_date)::DATE AS month,
       count(DISTINCT p.dossier_id) AS dossiers,
       count(*) AS persons,
       sum(e.total) AS commitments,
       sum(CASE WHEN e.ticket_eligible THEN coalesce(p.ticket_cost_eur, 0) ELSE 0 END)
           AS ticket,
       sum(coalesce(p.paid_return_premium_eur, 0) + coalesce(p.paid_reintegration_eur, 0))
           AS paid
FROM dossier_persons p JOIN entitlements e USING (dossier_id, person_id)
WHERE e."table" = 'applicable' AND p.dossier_status IN ('departed', 'registered')
  AND p.registration_date >= $start AND p.registration_date < $stop
GROUP BY 1 ORDER BY 1
"""


def actual_months(con, start: date, stop: date) -> pl.DataFrame:
    """Commitments (applicable table), tickets and payments per registration month."""
    return query_frame(con, ACTUALS_SQL, {"start": start, "stop": stop})


def forecast_months(
    con, table: str, origin: date | None = None, source: str = "budget_forecast"
) -> pl.DataFrame:
    """Monthly programme totals of one table: the current forecast, or the archived one
    made at ``origin``."""
    where = "AND origin = $origin" if origin else ""
    return query_frame(
        con,
        f"""SELECT month, mean, lo80, hi80, lo95, hi95 FROM {source}
            WHERE "table" = $t AND level = 'total' AND period = 'month'
              AND budget_line = 'total' {where}
            ORDER BY month""",
        {"t": table} | ({"origin": origin} if origin else {}),
    )


def _forecast_year(con, table: str, year: int, line: str = "total") -> dict | None:
    rows = query_frame(
        con,
        """SELECT mean, lo80, hi80, lo95, hi95 FROM budget_forecast
           WHERE "table" = $t AND level = 'total' AND period = 'year' AND year = $y
             AND budget_line = $l""",
        {"t": table, "y": year, "l": line},
    )
    return rows.row(0, named=True) if rows.height else None


def _shift(month: date, by: int) -> date:
    return month_of(month_index(month) + by)


def table_of_year(year: int) -> str:
    """The table that applies to registrations of ``year`` (rule A-2026)."""
    rules = applicable_rules()
    return rules.after_table if year >= rules.new_table_from.value.year else rules.before_table


def baseline_origin(con, year: int) -> date | None:
    """The latest archived forecast made before ``year`` began (what the year's budget
    was built on), if any."""
    if not _has_rows(con, "budget_forecast_archive"):
        return None
    return scalar(
        con,
        "SELECT max(origin) FROM budget_forecast_archive WHERE origin < $start",
        {"start": date(year, 1, 1)},
    )


def spend_section(ctx: Context) -> tuple[Section, dict]:
    """Actual months of the report's year next to the forecast made before the year
    (archived), then the current forecast for the months after its origin."""
    L, year = ctx.L, ctx.month.year
    start, stop = date(year, 1, 1), date(year + 1, 1, 1)
    table_name = table_of_year(year)
    # the current forecast continues the actual months only when it starts right after
    # the report month; a report on an earlier month shows no later knowledge
    fresh = ctx.origin is not None and ctx.origin == ctx.month
    actual = actual_months(ctx.con, start, min(stop, _shift(ctx.month, 1)))
    current = (
        forecast_months(ctx.con, table_name).filter(pl.col("month") > ctx.month)
        if fresh
        else pl.DataFrame(schema={"month": pl.Date})
    )
    baseline_at = baseline_origin(ctx.con, year)
    baseline = (
        forecast_months(ctx.con, table_name, baseline_at, "budget_forecast_archive")
        if baseline_at
        else pl.DataFrame(schema={"month": pl.Date})
    )
    before = {r["month"]: r for r in baseline.iter_rows(named=True)}
    columns = [
        Column("month", L("c_month"), "month"),
        Column("dossiers", L("c_dossiers"), "count"),
        Column("persons", L("c_persons"), "count"),
        Column("commitments", L("c_commitments"), "eur"),
        Column("ticket", L("c_ticket"), "eur"),
        Column("paid", L("c_paid"), "eur"),
        Column("forecast", L("c_forecast"), "eur"),
        Column("range80", "80 %", "eur_range"),
        Column("range95", "95 %", "eur_range"),
    ]

    def forecast_cells(f: dict | None) -> tuple:
        if not f:
            return (None, None, None)
        return (f["mean"], (f["lo80"], f["hi80"]), (f["lo95"], f["hi95"]))

    rows: list[tuple] = []
    for r in actual.iter_rows(named=True):
        rows.append(
            (r["month"], r["dossiers"], r["persons"], r["commitments"], r["ticket"], r["paid"])
            + forecast_cells(before.get(r["month"]))
        )
    for f in current.filter(pl.col("month") < stop).iter_rows(named=True):
        rows.append((f["month"], None, None, None, None, None) + forecast_cells(f))
    sums = {c: actual[c].sum() for c in ("dossiers", "persons")} | {
        c: _dsum(actual[c]) for c in ("commitments", "ticket", "paid")
    }
    planned = (
        sum((before[m]["mean"] for m in actual["month"] if m in before), Decimal(0))
        if before
        else None
    )
    emphasis = {len(rows)}
    rows.append(
        (L("r_to_date", year=year), sums["dossiers"], sums["persons"])
        + (sums["commitments"], sums["ticket"], sums["paid"], planned, None, None)
    )
    facts = {"ytd": sums["commitments"], "planned": planned, "projected": None}
    facts["baseline"] = baseline_at
    rest = _forecast_year(ctx.con, table_name, year) if fresh else None
    if fresh and (rest is not None or ctx.month.month == 12):
        rest = rest or dict.fromkeys(("mean", "lo80", "hi80", "lo95", "hi95"), Decimal(0))
        projected = {k: sums["commitments"] + rest[k] for k in rest}
        emphasis.add(len(rows))
        rows.append(
            (L("r_projected", year=year), None, None, None, None, None) + forecast_cells(projected)
        )
        facts["projected"] = projected
    if baseline_at:
        note = L("note_baseline", baseline=L.short_month(baseline_at), table=table_name)
    else:
        note = L("note_no_baseline", year=year, before=f"{year - 1}-12")
    table = Table("spend", L("t_spend"), L("t_spend"), columns, rows, emphasis=emphasis, note=note)
    chart_actual = actual_months(
        ctx.con, _shift(ctx.month, -TIMELINE_MONTHS + 1), _shift(ctx.month, 1)
    )
    chart = charts.fan_chart(
        L,
        chart_actual.select("month", "commitments"),
        current,
        baseline.filter(pl.col("month") <= ctx.month) if baseline_at else None,
        L.short_month(baseline_at) if baseline_at else None,
    )
    intro = L("s_spend_intro", year=year, origin=L.short_month(ctx.month))
    return Section("spend", L("s_spend"), intro, [table], [chart]), facts


def _dsum(series: pl.Series) -> Decimal:
    """Exact sum of a Decimal column (0 when empty)."""
    total = series.sum()
    return Decimal(0) if total is None else Decimal(total)


# --- next year's budget --------------------------------------------------------------


def budget_section(ctx: Context) -> tuple[Section, dict]:
    L, year = ctx.L, ctx.next_year
    frame = query_frame(
        ctx.con,
        """SELECT "table", budget_line, mean, lo80, hi80, lo95, hi95 FROM budget_forecast
           WHERE level = 'total' AND period = 'year' AND year = $y""",
        {"y": year},
    )
    cells = {(r["table"], r["budget_line"]): r for r in frame.iter_rows(named=True)}
    columns = [Column("line", L("c_line"))]
    for table, label in (("2025", "c_t2025"), ("2026", "c_t2026"), ("2026 - 2025", "c_diff")):
        key = table.replace(" - ", "_minus_")
        columns += [
            Column(f"{key}_mean", f"{L(label)}: {L('c_mean')}", "eur"),
            Column(f"{key}_80", f"{L(label)}: 80 %", "eur_range"),
            Column(f"{key}_95", f"{L(label)}: 95 %", "eur_range"),
        ]
    rows = []
    for line in LINES:
        row: list = [L(f"l_{line}")]
        for table in ("2025", "2026", "2026 - 2025"):
            c = cells.get((table, line))
            row += [c["mean"], (c["lo80"], c["hi80"]), (c["lo95"], c["hi95"])] if c else [None] * 3
        rows.append(tuple(row))
    lines = Table(
        "budget",
        L("t_budget"),
        L("t_budget"),
        columns,
        rows,
        emphasis={LINES.index("total")},
    )
    tables = sorted({t for t, _ in cells if " - " not in t}, key=lambda t: (t != "2025", t))
    every = Table(
        "tables",
        L("t_tables"),
        L("t_tables"),
        [
            Column("table", L("c_table")),
            Column("mean", L("c_mean"), "eur"),
            Column("range80", "80 %", "eur_range"),
            Column("range95", "95 %", "eur_range"),
            Column("diff", f"− 2025: {L('c_mean')}", "eur"),
            Column("diff80", "− 2025: 80 %", "eur_range"),
        ],
        [_table_row(cells, t) for t in tables],
    )
    chart = charts.budget_bars(L, year, cells, [line for line in LINES if line != "total"])
    facts = {"next": cells.get(("2026", "total")), "diff": cells.get(("2026 - 2025", "total"))}
    section = Section(
        "budget", L("s_budget", year=year), L("s_budget_intro", year=year), [lines, every], [chart]
    )
    return section, facts


def _table_row(cells: dict, table: str) -> tuple:
    c = cells[(table, "total")]
    d = cells.get((f"{table} - 2025", "total"))
    return (
        table,
        c["mean"],
        (c["lo80"], c["hi80"]),
        (c["lo95"], c["hi95"]),
        d["mean"] if d else None,
        (d["lo80"], d["hi80"]) if d else None,
    )


# --- top countries -------------------------------------------------------------------


def countries_section(ctx: Context) -> Section:
    L, year = ctx.L, ctx.next_year
    money = query_frame(
        ctx.con,
        """SELECT key AS country,
                  max(mean) FILTER ("table" = '2025') AS mean_2025,
                  max(mean) FILTER ("table" = '2026') AS mean_2026,
                  max(lo80) FILTER ("table" = '2026') AS lo80,
                  max(hi80) FILTER ("table" = '2026') AS hi80,
                  max(mean) FILTER ("table" = '2026 - 2025') AS diff
           FROM budget_forecast
           WHERE level = 'country' AND period = 'year' AND year = $y AND budget_line = 'total'
           GROUP BY key""",
        {"y": year},
    )
    volume = query_frame(
        ctx.con,
        """SELECT key AS country, sum(mean) AS dossiers_forecast FROM volume_forecast
           WHERE level = 'country' AND unit = 'dossiers' AND year(month) = $y GROUP BY key""",
        {"y": year},
    )
    recent = query_frame(
        ctx.con,
        """SELECT return_country AS country, count(DISTINCT dossier_id) AS dossiers_12m
           FROM dossier_persons
           WHERE dossier_status IN ('departed', 'registered')
             AND registration_date >= $start AND registration_date < $stop
           GROUP BY 1""",
        {"start": _shift(ctx.month, -11), "stop": _shift(ctx.month, 1)},
    )
    frame = (
        money.join(volume, on="country", how="left")
        .join(recent, on="country", how="left")
        .with_columns(pl.col("dossiers_12m").fill_null(0), pl.col("dossiers_forecast").fill_null(0))
        .sort("mean_2026", descending=True)
    )
    amounts = ["mean_2025", "mean_2026", "diff", "dossiers_forecast"]
    protected = protect_counts(frame, "country", "dossiers_12m", amounts=amounts)
    shown = protected.filter((pl.col("country") != OTHER) & pl.col("suppression").is_null()).head(
        TOP_COUNTRIES
    )
    top = set(shown["country"])
    rest = frame.filter(~pl.col("country").is_in(list(top)))
    names = country_names(L.lang)
    rows = [
        (
            r["country"],
            names.get(r["country"], ""),
            r["dossiers_12m"],
            r["dossiers_forecast"],
            r["mean_2025"],
            r["mean_2026"],
            (r["lo80"], r["hi80"]),
            r["diff"],
        )
        for r in shown.iter_rows(named=True)
    ]
    if protected["total_hidden"].any():  # too few dossiers to show any count
        rows = [(*row[:2], HIDDEN, *row[3:]) for row in rows]
    hidden_total = bool(protected["total_hidden"].any())
    if rest.height:
        pooled = HIDDEN if hidden_total else _count_or_small(int(rest["dossiers_12m"].sum()))
        rows.append(
            (L("r_other"), f"{rest.height}", pooled)
            + (float(rest["dossiers_forecast"].sum()),)
            + (_dsum(rest["mean_2025"]), _dsum(rest["mean_2026"]), None, _dsum(rest["diff"]))
        )
    total = (
        L("r_total"),
        "",
        HIDDEN if hidden_total else int(frame["dossiers_12m"].sum()),
        float(frame["dossiers_forecast"].sum()),
        _dsum(frame["mean_2025"]),
        _dsum(frame["mean_2026"]),
        None,
        _dsum(frame["diff"]),
    )
    rows.append(total)
    columns = [
        Column("country", L("c_country")),
        Column("name", L("c_name")),
        Column("dossiers_12m", L("c_dossiers_12m"), "count"),
        Column("dossiers_forecast", f"{L('c_dossiers_fc')} {year}", "number"),
        Column("mean_2025", L("c_t2025"), "eur"),
        Column("mean_2026", L("c_t2026"), "eur"),
        Column("range80", f"{L('c_t2026')}: 80 %", "eur_range"),
        Column("diff", L("c_diff"), "eur"),
    ]
    table = Table(
        "countries",
        L("t_countries"),
        L("t_countries"),
        columns,
        rows,
        note=L("note_pool_intervals"),
        emphasis={len(rows) - 1},
    )
    intro = L("s_countries_intro", year=year)
    return Section("countries", L("s_countries", year=year), intro, [table])


def _label(L: Labels, prefix: str, value: str) -> str:
    """The translation of a stored value (status, group, method), else the value."""
    return L(prefix + value) if prefix + value in TEXT else value


def _count_or_small(n: int):
    return SMALL_CELL if 0 < n < THRESHOLD else n


# --- table comparison ----------------------------------------------------------------


COMPARISON_SQL = """
WITH person AS (
    SELECT p.return_country AS country, e25.total AS t25, e26.total AS t26
    FROM dossier_persons p
    JOIN entitlements e25 ON e25.dossier_id = p.dossier_id AND e25.person_id = p.person_id
                          AND e25."table" = '2025'
    JOIN entitlements e26 ON e26.dossier_id = p.dossier_id AND e26.person_id = p.person_id
                          AND e26."table" = '2026'
    WHERE p.dossier_status IN ('departed', 'registered')
      AND p.registration_date >= $start AND p.registration_date < $stop
)
SELECT country, count(*) AS persons, sum(t25) AS cost_2025, sum(t26) AS cost_2026,
       sum(t26) - sum(t25) AS difference,
       count(*) FILTER (WHERE t26 > t25) AS better,
       count(*) FILTER (WHERE t26 < t25) AS worse,
       count(*) FILTER (WHERE t26 = t25) AS unchanged
FROM person GROUP BY country ORDER BY persons DESC, country
"""


def comparison_section(ctx: Context) -> Section:
    """Persons registered in the report's year up to the report month, under both tables
    (as ``table_comparison``, total line). ``unchanged`` is protected though not shown:
    persons - better - worse would show it."""
    L, year = ctx.L, ctx.month.year
    per_country = query_frame(
        ctx.con, COMPARISON_SQL, {"start": date(year, 1, 1), "stop": _shift(ctx.month, 1)}
    )
    counts = ["persons", "better", "worse", "unchanged"]
    money = ["cost_2025", "cost_2026", "difference"]
    totals = {c: int(per_country[c].sum()) for c in counts}
    # a part whose programme total is itself below 5 is shown in no row; when that part
    # is `unchanged` (not shown), worse off goes too, or persons - better - worse would
    # show it
    whole = {c for c in counts[1:] if 0 < totals[c] < THRESHOLD}
    if "unchanged" in whole:
        whole.add("worse")
    protected = protect_counts(
        per_country, "country", [c for c in counts if c not in whole], amounts=money
    )
    names = country_names(L.lang)
    columns = [
        Column("country", L("c_country")),
        Column("name", L("c_name")),
        Column("persons", L("c_persons"), "count"),
        Column("cost_2025", L("c_cost2025"), "eur"),
        Column("cost_2026", L("c_cost2026"), "eur"),
        Column("difference", L("c_diff"), "eur"),
        Column("better", L("c_better"), "count"),
        Column("worse", L("c_worse"), "count"),
    ]
    shown_counts = counts[:3]
    shown = protected.filter(pl.col("country") != OTHER)
    pool = protected.filter(pl.col("country") == OTHER)
    raw = {r["country"]: r for r in per_country.iter_rows(named=True)}
    rows = [
        _protected_row(r, raw.get(r["country"]), names, shown_counts, money, whole)
        for r in shown.iter_rows(named=True)
    ]
    if pool.height:
        pooled = pool.row(0, named=True)
        rows.append(_protected_row(pooled, None, names, shown_counts, money, whole, L("r_other")))
    rows.append(
        (L("r_total"), "", totals["persons"])
        + tuple(_dsum(per_country[c]) for c in money)
        + tuple(_whole_total(totals[c]) if c in whole else totals[c] for c in shown_counts[1:])
    )
    if protected["total_hidden"].any():
        rows = [(L("r_total"), "", SMALL_CELL if totals["persons"] < THRESHOLD else HIDDEN)]
        rows[0] += (HIDDEN,) * 5
    table = Table(
        "comparison", L("t_comparison"), L("t_comparison"), columns, rows, emphasis={len(rows) - 1}
    )
    intro = L("s_comparison_intro", year=year, month=L.month(ctx.month))
    return Section("comparison", L("s_comparison"), intro, [table])


def _whole_total(n: int):
    return SMALL_CELL if n < THRESHOLD else HIDDEN


def _protected_row(
    r: dict, raw: dict | None, names, counts, money, whole, label: str | None = None
) -> tuple:
    """A row of the comparison as shown: a hidden row's persons are ``<5`` where they
    are below 5, else ``x``; its parts (better, worse off) are always ``x``, as are the
    parts of a column hidden whole (``whole``)."""

    def count(c):
        if c in whole:
            return HIDDEN
        if r[c] is not None:
            return r[c]
        if c != counts[0]:  # a part is never marked: <5 or x would tell 0 from 5+
            return HIDDEN
        own = raw[c] if raw else None
        return SMALL_CELL if own is not None and own < THRESHOLD else HIDDEN

    hidden = r["suppression"] in (SMALL, COMPLEMENTARY)
    return (
        label or r["country"],
        "" if label else names.get(r["country"], ""),
        count(counts[0]),
        *(HIDDEN if hidden or r[c] is None else r[c] for c in money),
        *(count(c) for c in counts[1:]),
    )


# --- misuse alarms -------------------------------------------------------------------


def localised_reason(L: Labels, r: dict) -> str:
    indicator = L(f"i_{r['indicator']}")
    values = {
        "indicator": indicator,
        "observed": L.number(r["observed"]),
        "expected": L.number(r["expected"], 1),
        "upper": L.number(r["upper"], 1),
        "method": _label(L, "m_", r["method"]),
        "q": f"{r['q_value']:.2g}".replace(".", "," if L.lang != "en" else "."),
        "denominator": L.number(r["denominator"] or 0),
    }
    key = "reason" if r["indicator"].startswith("registered_") else "reason_share"
    return L(key, **values)


def alarms_section(ctx: Context) -> tuple[Section, int]:
    L = ctx.L
    start = _shift(ctx.month, -ALARM_MONTHS + 1)
    alarms = query_frame(
        ctx.con,
        """SELECT a.month, a.country, a.grouping, a.indicator, a.observed, a.denominator,
                  a.expected, a.upper, a.q_value, a.method, a.reason, l.first_seen
           FROM misuse_alarms a LEFT JOIN misuse_alarm_log l
             USING (grouping, country, month, indicator)
           WHERE a.alarm AND a.month BETWEEN $start AND $month
           ORDER BY a.month DESC, a.country, a.indicator""",
        {"start": start, "month": ctx.month},
    )
    names = country_names(L.lang)
    rows = []
    for r in alarms.iter_rows(named=True):
        # an alarm means observed > expected: with a small count, its expectation,
        # bound and q would narrow it down, so they go too
        small = r["observed"] < THRESHOLD
        rows.append(
            (
                r["month"],
                r["country"],
                names.get(r["country"], ""),
                L(f"g_{r['grouping']}"),
                L(f"i_{r['indicator']}"),
                SMALL_CELL if small else r["observed"],
                HIDDEN if small else r["expected"],
                HIDDEN if small else r["upper"],
                HIDDEN if small else r["q_value"],
                HIDDEN if small else localised_reason(L, r),
                r["first_seen"].date() if r["first_seen"] else None,
            )
        )
    columns = [
        Column("month", L("c_month"), "month"),
        Column("country", L("c_country")),
        Column("name", L("c_name")),
        Column("grouping", L("c_grouping")),
        Column("indicator", L("c_indicator")),
        Column("observed", L("c_observed"), "count"),
        Column("expected", L("c_expected"), "number"),
        Column("upper", L("c_upper"), "number"),
        Column("q", L("c_q"), "number", decimals=3),
        Column("reason", L("c_reason")),
        Column("first_seen", L("c_first_seen"), "date"),
    ]
    table = Table(
        "alarms",
        L("t_alarms"),
        L("t_alarms"),
        columns,
        rows,
        note=None if rows else L("no_alarms"),
        page_rows=PAGE_ROWS,
    )
    focus = query_frame(
        ctx.con,
        """SELECT month, country, observed, expected_from_before_2025, ratio_to_before_2025
           FROM misuse_focus
           WHERE indicator = 'registered_dossiers' AND month BETWEEN $start AND $month
           ORDER BY country, month""",
        {"start": _shift(ctx.month, -5), "month": ctx.month},
    )
    focus_table = Table(
        "focus",
        L("t_focus"),
        L("t_focus"),
        [
            Column("month", L("c_month"), "month"),
            Column("country", L("c_country")),
            Column("observed", f"{L('c_dossiers')} ({L('c_observed').lower()})", "count"),
            Column("expected", f"{L('c_expected')} (2022–2024)", "number"),
            Column("ratio", L("c_ratio"), "number", decimals=2),
        ],
        [_focus_row(r) for r in focus.iter_rows(named=True)],
    )
    timeline = query_frame(
        ctx.con,
        """SELECT month, country, indicator FROM misuse_alarms
           WHERE alarm AND month BETWEEN $start AND $month""",
        {"start": _shift(ctx.month, -TIMELINE_MONTHS + 1), "month": ctx.month},
    )
    chart = charts.alarm_timeline(L, timeline, _shift(ctx.month, -TIMELINE_MONTHS + 1), ctx.month)
    tested_to = scalar(ctx.con, "SELECT max(month) FROM misuse_alarms")
    this_month = int(alarms.filter(pl.col("month") == ctx.month).height)
    if tested_to is None or tested_to < ctx.month:
        this_month = None  # not tested: no count, rather than a reassuring 0
    intro = L("s_alarms_intro", month=L.month(ctx.month))
    section = Section("alarms", L("s_alarms"), intro, [table, focus_table], [chart])
    return section, this_month


def _focus_row(r: dict) -> tuple:
    """A lifted country's month against 2022-2024: the expectation is a third of a
    three-year count, so it is hidden with that count when the count is small; no ratio
    to nothing."""
    observed, expected = r["observed"], r["expected_from_before_2025"]
    before = round((expected or 0) * 3)
    small = 0 < observed < THRESHOLD or 0 < before < THRESHOLD
    ratio = (
        None
        if not expected or not math.isfinite(r["ratio_to_before_2025"] or 0)
        else (r["ratio_to_before_2025"])
    )
    return (
        r["month"],
        r["country"],
        _count_or_small(observed),
        HIDDEN if 0 < before < THRESHOLD else expected,
        HIDDEN if small else ratio,
    )


# --- data quality, parameters, backtest ----------------------------------------------


def quality_section(ctx: Context) -> tuple[Section, tuple[int, int]]:
    L = ctx.L
    files = query_frame(
        ctx.con,
        """SELECT status, count(*) AS files, sum(rows_read)::BIGINT AS rows_read,
                  sum(rows_accepted)::BIGINT AS rows_accepted,
                  sum(rows_quarantined)::BIGINT AS rows_quarantined
           FROM ingested_files GROUP BY 1 ORDER BY files DESC""",
    )
    reasons = query_frame(
        ctx.con,
        """WITH parts AS (
               -- one reason per rule broken; quoted values (maybe ids) left out
               SELECT unnest(string_split(
                          regexp_replace(reason, '''[^'']*''', '''…''', 'g'), '; ')) AS part
               FROM quarantine)
           SELECT CASE WHEN part LIKE '%:%' THEN split_part(part, ':', 1) ELSE part END
                      AS rule,
                  count(*) AS n
           FROM parts GROUP BY 1 ORDER BY n DESC, rule""",
    )
    file_rows = [
        (_label(L, "st_", r["status"]), *tuple(r.values())[1:]) for r in files.iter_rows(named=True)
    ]
    read = int(files["rows_read"].sum() or 0)
    quarantined = int(files["rows_quarantined"].sum() or 0)
    if file_rows:
        file_rows.append(
            (L("r_total"), int(files["files"].sum()), read)
            + (int(files["rows_accepted"].sum()), quarantined)
        )
    files_table = Table(
        "files",
        L("t_files"),
        L("t_files"),
        [
            Column("status", L("c_status")),
            Column("files", L("c_files"), "count"),
            Column("rows_read", L("c_rows_read"), "count"),
            Column("rows_accepted", L("c_rows_accepted"), "count"),
            Column("rows_quarantined", L("c_rows_quarantined"), "count"),
        ],
        file_rows,
        emphasis={len(file_rows) - 1} if file_rows else set(),
        note=None if file_rows else L("missing", what=L("missing_table", table="ingested_files")),
    )
    reasons_table = Table(
        "quarantine",
        L("t_quarantine"),
        L("t_quarantine"),
        [Column("rule", L("c_rule_reason")), Column("rows", L("c_rows"), "count")],
        [tuple(r) for r in reasons.iter_rows()],
        page_rows=PAGE_ROWS,
        note=L("note_quarantine") if reasons.height else None,
    )
    section = Section("quality", L("s_quality"), L("s_quality_intro"), [files_table, reasons_table])
    return section, (quarantined, read)


def parameters_section(ctx: Context) -> Section:
    L, year = ctx.L, ctx.next_year
    frame = query_frame(
        ctx.con,
        """SELECT "table", rule, parameter, label, "values", unit, source, resting_cents,
                  resting_share FROM budget_assumptions WHERE year = $y
           ORDER BY "table", resting_cents DESC NULLS LAST, parameter""",
        {"y": year},
    )
    rows = [
        (
            r["table"],
            r["rule"],
            r["parameter"],
            r["label"],
            r["values"],
            r["unit"],
            r["source"],
            None if r["resting_cents"] is None else Decimal(r["resting_cents"]) / 100,
            r["resting_share"],
        )
        for r in frame.iter_rows(named=True)
    ]
    table = Table(
        "parameters",
        L("t_parameters"),
        L("t_parameters"),
        [
            Column("table", L("c_table")),
            Column("rule", L("c_rule")),
            Column("parameter", L("c_parameter")),
            Column("label", L("c_label")),
            Column("values", L("c_values")),
            Column("unit", L("c_unit")),
            Column("source", L("c_source")),
            Column("resting", L("c_resting"), "eur"),
            Column("share", L("c_resting_share"), "share"),
        ],
        rows,
    )
    intro = L("s_parameters_intro", year=year)
    return Section("parameters", L("s_parameters"), intro, [table])


def backtest_section(ctx: Context) -> Section:
    L = ctx.L
    frame = query_frame(
        ctx.con,
        """SELECT country_group, origins, mase_model, mase_seasonal_naive,
                  mase_exponential_smoothing, coverage80, coverage95, annual_bias,
                  horizon_months
           FROM forecast_backtest ORDER BY country_group = 'total', country_group""",
    )
    rows = [
        (_label(L, "grp_", r["country_group"]), *tuple(r.values())[1:-1])
        for r in frame.iter_rows(named=True)
    ]
    table = Table(
        "backtest",
        L("t_backtest"),
        L("t_backtest"),
        [
            Column("group", L("c_group")),
            Column("origins", L("c_origins"), "count"),
            Column("mase_model", L("c_mase_model"), "number", 2),
            Column("mase_naive", L("c_mase_naive"), "number", 2),
            Column("mase_ses", L("c_mase_ses"), "number", 2),
            Column("cov80", L("c_cov80"), "share"),
            Column("cov95", L("c_cov95"), "share"),
            Column("bias", L("c_bias"), "share"),
        ],
        rows,
        emphasis={len(rows) - 1} if rows else set(),
    )
    horizon = frame["horizon_months"][0] if frame.height else 12
    return Section("backtest", L("s_backtest"), L("s_backtest_intro", horizon=horizon), [table])


def _missing(ctx: Context, key: str, title: str, what: str) -> Section:
    return Section(key, title, ctx.L("missing", what=what))


# --- the whole report ----------------------------------------------------------------


def build_report(
    con: duckdb.DuckDBPyConnection,
    month: date | None = None,
    lang: str = "en",
    source: str = "",
    generated_at: str = "",
    progress: Callable[[str], None] | None = None,
) -> Report:
    """The report of ``month`` (default: the latest complete month) in ``lang``."""
    say = progress or (lambda _m: None)
    L = Labels(lang)
    month = report_month(con, month)
    origin, draws, next_year = _forecast_origin(con)
    ctx = Context(con, L, month, origin, draws, next_year)
    needed = [t for t in ("entitlements", "table_comparison") if not _has_rows(con, t)]
    if needed:
        raise ReportError(
            f"the warehouse has no {' or '.join(needed)} yet: run the entitlements assets "
            "(reab run, or reab entitlements) before the report"
        )
    say(f"report {month:%Y-%m} ({lang}): spend to date")
    spend, spend_facts = spend_section(ctx)
    sections = [spend]
    no_forecast = L("missing_forecast")
    budget_facts: dict = {}
    if next_year is not None:
        say(f"report {month:%Y-%m} ({lang}): budget {next_year} and countries")
        budget, budget_facts = budget_section(ctx)
        sections += [budget, countries_section(ctx)]
    else:
        sections.append(_missing(ctx, "budget", L("s_budget", year=month.year + 1), no_forecast))
    say(f"report {month:%Y-%m} ({lang}): table comparison, alarms, data quality")
    sections.append(comparison_section(ctx))
    if _has_rows(con, "misuse_alarms"):
        alarms, alarms_now = alarms_section(ctx)
    else:
        what = L("missing_table", table="misuse_alarms")
        alarms, alarms_now = _missing(ctx, "alarms", L("s_alarms"), what), None
    sections.append(alarms)
    quality, (quarantined, read) = quality_section(ctx)
    sections.append(quality)
    if next_year is not None and _has_rows(con, "budget_assumptions"):
        sections.append(parameters_section(ctx))
    if _has_rows(con, "forecast_backtest"):
        sections.append(backtest_section(ctx))
    else:
        what = L("missing_table", table="forecast_backtest")
        sections.append(_missing(ctx, "backtest", L("s_backtest"), what))
    facts = _facts(ctx, spend_facts, budget_facts, alarms_now, quarantined, read)
    warnings = freshness_warnings(ctx)
    subtitle = L(
        "subtitle",
        month=L.month(month),
        data_to=str(scalar(con, "SELECT max(registration_date) FROM dossier_persons")),
        origin=L.short_month(origin) if origin else "–",
        draws=L.number(draws or 0),
    )
    if generated_at:
        subtitle += " · " + L("generated", at=generated_at, db=source)
    return Report(month, lang, L("title"), subtitle, facts, sections, L("footnote"), warnings)


def freshness_warnings(ctx: Context) -> list[str]:
    """What the reader must know before trusting the figures: tables behind the
    dossiers, a forecast from another month."""
    L, warnings = ctx.L, []
    month = L.short_month(ctx.month)
    if ctx.origin is not None and ctx.origin < ctx.month:
        warnings.append(L("w_forecast_old", origin=L.short_month(ctx.origin), month=month))
    if ctx.origin is not None and ctx.origin > ctx.month:
        warnings.append(L("w_earlier_month", origin=L.short_month(ctx.origin), month=month))
    missing = scalar(
        ctx.con,
        """SELECT count(*) FROM dossier_persons p ANTI JOIN
               (SELECT dossier_id, person_id FROM entitlements WHERE "table" = 'applicable') e
               USING (dossier_id, person_id)""",
    )
    if missing:
        warnings.append(L("w_entitlements", n=L.number(missing)))
    if _has_rows(ctx.con, "misuse_alarms"):
        tested = scalar(ctx.con, "SELECT max(month) FROM misuse_alarms")
        if tested < ctx.month:
            warnings.append(L("w_alarms", tested=L.short_month(tested), month=month))
    return warnings


def _facts(ctx, spend, budget, alarms_now, quarantined, read) -> list[tuple[str, str]]:
    L, year, next_year = ctx.L, ctx.month.year, ctx.next_year

    def interval(c) -> str:
        return f"{L.eur(c['mean'])} ({L.eur(c['lo80'])} – {L.eur(c['hi80'])})"

    facts = [(L("fact_ytd", year=year), L.eur(spend["ytd"]))]
    if spend["planned"]:
        gap = spend["ytd"] - spend["planned"]
        share = float(gap / spend["planned"]) if spend["planned"] else 0.0
        facts.append(
            (
                L("fact_against_plan", baseline=L.short_month(spend["baseline"])),
                f"{'+' if gap >= 0 else '−'}{L.eur(abs(gap))} ({'+' if gap >= 0 else '−'}"
                f"{L.share(abs(share))})",
            )
        )
    if spend["projected"]:
        facts.append((L("fact_projected", year=year), interval(spend["projected"])))
    if budget.get("next"):
        facts.append((L("fact_next", year=next_year), interval(budget["next"])))
    if budget.get("diff"):
        facts.append((L("fact_diff", year=next_year), interval(budget["diff"])))
    alarms = "–" if alarms_now is None else L.number(alarms_now)  # – : not tested
    facts.append((L("fact_alarms", month=L.month(ctx.month)), alarms))
    facts.append((L("fact_quarantine"), f"{L.number(quarantined)} / {L.number(read)}"))
    return facts
