"""Spend to date against forecast: actual months, the forecast made before the year, the
current forecast after the report month, the projected year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from pipelines.report import charts
from pipelines.report.model import Column, Section, Table
from pipelines.report.sections.common import (
    TIMELINE_MONTHS,
    Context,
    dsum,
    has_rows,
    shift_month,
    table_of_year,
)
from pipelines.warehouse import query_frame, scalar

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


def _forecast_year(con, table: str, year: int) -> dict | None:
    """The current forecast's programme total of ``year`` (its months after the origin)."""
    rows = query_frame(
        con,
        """SELECT mean, lo80, hi80, lo95, hi95 FROM budget_forecast
           WHERE "table" = $t AND level = 'total' AND period = 'year' AND year = $y
             AND budget_line = 'total'""",
        {"t": table, "y": year},
    )
    return rows.row(0, named=True) if rows.height else None


def _archived_year(con, table: str, year: int, origin: date) -> dict | None:
    """The programme total of ``year`` as the forecast made at ``origin`` gave it."""
    rows = query_frame(
        con,
        """SELECT mean, lo80, hi80, lo95, hi95 FROM budget_forecast_archive
           WHERE "table" = $t AND origin = $o AND level = 'total' AND period = 'year'
             AND year = $y AND budget_line = 'total'""",
        {"t": table, "o": origin, "y": year},
    )
    return rows.row(0, named=True) if rows.height else None


def baseline_origin(con, year: int) -> date | None:
    """The latest archived forecast made before ``year`` began (what the year's budget
    was built on), if any."""
    if not has_rows(con, "budget_forecast_archive"):
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
    # the last complete month; a report on an earlier month shows no later knowledge
    last_full = ctx.complete_month
    fresh = ctx.origin is not None and ctx.origin == last_full
    actual = actual_months(ctx.con, start, min(stop, shift_month(ctx.month, 1)))
    complete = actual.filter(pl.col("month") <= last_full)
    current = (
        forecast_months(ctx.con, table_name).filter(pl.col("month") > last_full)
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
    for r in complete.iter_rows(named=True):
        rows.append(
            (r["month"], r["dossiers"], r["persons"], r["commitments"], r["ticket"], r["paid"])
            + forecast_cells(before.get(r["month"]))
        )
    later = {f["month"]: f for f in current.filter(pl.col("month") < stop).iter_rows(named=True)}
    if ctx.partial_to is not None:  # the month to date, next to its whole-month forecast
        label = L("r_partial", month=f"{ctx.month:%Y-%m}", to=str(ctx.partial_to))
        for r in actual.filter(pl.col("month") == ctx.month).iter_rows(named=True):
            rows.append(
                (label, r["dossiers"], r["persons"], r["commitments"], r["ticket"], r["paid"])
                + forecast_cells(later.pop(ctx.month, None))
            )
    for f in later.values():
        rows.append((f["month"], None, None, None, None, None) + forecast_cells(f))
    sums = {c: complete[c].sum() for c in ("dossiers", "persons")} | {
        c: dsum(complete[c]) for c in ("commitments", "ticket", "paid")
    }
    planned = (
        sum((before[m]["mean"] for m in complete["month"] if m in before), Decimal(0))
        if before
        else None
    )
    emphasis = {len(rows)}
    to_date = (
        L("r_to_complete", year=year, month=L.short_month(last_full))
        if ctx.partial_to is not None
        else L("r_to_date", year=year)
    )
    rows.append(
        (to_date, sums["dossiers"], sums["persons"])
        + (sums["commitments"], sums["ticket"], sums["paid"], planned, None, None)
    )
    facts = {
        "ytd": sums["commitments"],
        "planned": planned,
        "baseline": baseline_at,
        "projected": None,
    }
    rest = _forecast_year(ctx.con, table_name, year) if fresh else None
    if fresh and (rest is not None or last_full.month == 12):
        rest = rest or dict.fromkeys(("mean", "lo80", "hi80", "lo95", "hi95"), Decimal(0))
        projected = {k: sums["commitments"] + rest[k] for k in rest}
        emphasis.add(len(rows))
        rows.append(
            (L("r_projected", year=year), None, None, None, None, None) + forecast_cells(projected)
        )
        facts["projected"] = projected
    budgeted = _archived_year(ctx.con, table_name, year, baseline_at) if baseline_at else None
    if budgeted is not None:  # the whole year as forecast before it began, next to the above
        emphasis.add(len(rows))
        rows.append(
            (L("r_budgeted", year=year, baseline=L.short_month(baseline_at)), None, None)
            + (None, None, None)
            + forecast_cells(budgeted)
        )
        facts["budgeted"] = budgeted
    if baseline_at:
        note = L("note_baseline", baseline=L.short_month(baseline_at), table=table_name)
    else:
        note = L("note_no_baseline", year=year, before=f"{year - 1}-12")
    table = Table("spend", L("t_spend"), L("t_spend"), columns, rows, emphasis=emphasis, note=note)
    chart_actual = actual_months(  # complete months only: a partial month would dip
        ctx.con, shift_month(ctx.month, -TIMELINE_MONTHS + 1), shift_month(last_full, 1)
    )
    chart = charts.fan_chart(
        L,
        chart_actual.select("month", "commitments"),
        current,
        baseline.filter(pl.col("month") <= last_full) if baseline_at else None,
        L.short_month(baseline_at) if baseline_at else None,
    )
    intro = L("s_spend_intro", year=year, origin=L.short_month(last_full))
    return Section("spend", L("s_spend"), intro, [table], [chart]), facts
