"""What the management report says: every table read from the warehouse, protected by
the small-cell rule, in one language. No formatting here (that is the renderers' job)
and no Dagster.

Money is summed as DECIMAL in SQL and carried as ``Decimal`` EUR; counts as ``int``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb

from pipelines.coverage import coverage, registrations_in
from pipelines.report.labels import Labels
from pipelines.report.model import Report, Section
from pipelines.report.sections.alarms import alarms_section
from pipelines.report.sections.budget import budget_section, countries_section
from pipelines.report.sections.common import Context, ReportError, has_rows
from pipelines.report.sections.comparison import comparison_section
from pipelines.report.sections.quality import backtest_section, parameters_section, quality_section
from pipelines.report.sections.spend import spend_section
from pipelines.warehouse import fetch_one, scalar


def report_month(
    con: duckdb.DuckDBPyConnection, month: date | None, *, complete: bool = False
) -> tuple[date, date | None]:
    """The month reported on: ``month`` (checked against the data) or the latest month
    with data; and the latest registration date when that month is partial (else None).
    ``complete`` refuses a partial month (the schedule's strict reports)."""
    covered = coverage(con)
    if covered is None:
        raise ReportError("the warehouse holds no dossiers yet: ingest extracts first")
    month = covered.latest_month if month is None else month.replace(day=1)
    problem = covered.month_problem(month, complete=complete)
    if problem is None and not registrations_in(con, month):
        problem = f"no registration in {month:%Y-%m}: the warehouse holds {covered.describe()}"
    if problem:
        raise ReportError(problem)
    return month, covered.latest if covered.is_partial(month) else None


def _forecast_origin(con) -> tuple[date | None, int | None, int | None]:
    if not has_rows(con, "budget_forecast"):
        return None, None, None
    origin, draws, year = fetch_one(
        con, "SELECT max(origin), max(draws), max(year) FROM budget_forecast"
    )
    return origin, draws, year


def _missing(ctx: Context, key: str, title: str, what: str) -> Section:
    return Section(key, title, ctx.L("missing", what=what))


def build_report(
    con: duckdb.DuckDBPyConnection,
    month: date | None = None,
    lang: str = "en",
    source: str = "",
    generated_at: str = "",
    progress: Callable[[str], None] | None = None,
    complete: bool = False,
) -> Report:
    """The report of ``month`` (default: the latest month with data, partial or not;
    ``complete`` refuses a partial one) in ``lang``."""
    say = progress or (lambda _m: None)
    L = Labels(lang)
    month, partial_to = report_month(con, month, complete=complete)
    origin, draws, next_year = _forecast_origin(con)
    monitored_to = (
        scalar(con, "SELECT max(month) FROM misuse_alarms")
        if has_rows(con, "misuse_alarms")
        else None
    )
    ctx = Context(con, L, month, origin, draws, next_year, monitored_to, partial_to)
    needed = [t for t in ("entitlements", "table_comparison") if not has_rows(con, t)]
    if needed:
        raise ReportError(
            f"the warehouse has no {' or '.join(needed)} yet: bring it up to date first "
            "(reab update --db WAREHOUSE, or materialise the entitlements assets)"
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
    if monitored_to is not None:
        alarms, alarms_now = alarms_section(ctx)
    else:
        what = L("missing_table", table="misuse_alarms")
        alarms, alarms_now = _missing(ctx, "alarms", L("s_alarms"), what), None
    sections.append(alarms)
    quality, (quarantined, read) = quality_section(ctx)
    sections.append(quality)
    if next_year is not None and has_rows(con, "budget_assumptions"):
        sections.append(parameters_section(ctx))
    if has_rows(con, "forecast_backtest"):
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
        if source:
            subtitle += " · " + L("generated", at=generated_at, db=source)
        else:  # a report written from a connection alone: no file name to give
            subtitle += " · " + L("generated_no_source", at=generated_at)
    return Report(month, lang, L("title"), subtitle, facts, sections, L("footnote"), warnings)


def freshness_warnings(ctx: Context) -> list[str]:
    """What the reader must know before trusting the figures: tables behind the
    dossiers, a forecast from another month."""
    L, warnings = ctx.L, []
    month = L.short_month(ctx.complete_month)
    if ctx.partial_to is not None:
        warnings.append(L("w_partial", month=L.month(ctx.month), to=str(ctx.partial_to)))
    if ctx.origin is not None and ctx.origin < ctx.complete_month:
        warnings.append(L("w_forecast_old", origin=L.short_month(ctx.origin), month=month))
    if ctx.origin is not None and ctx.origin > ctx.complete_month:
        warnings.append(L("w_earlier_month", origin=L.short_month(ctx.origin), month=month))
    missing = scalar(
        ctx.con,
        """SELECT count(*) FROM dossier_persons p ANTI JOIN
               (SELECT dossier_id, person_id FROM entitlements WHERE "table" = 'applicable') e
               USING (dossier_id, person_id)""",
    )
    if missing:
        warnings.append(L("w_entitlements", n=L.number(missing)))
    if ctx.monitored_to is not None and ctx.monitored_to < ctx.complete_month:
        warnings.append(L("w_alarms", tested=L.short_month(ctx.monitored_to), month=month))
    return warnings


def _facts(ctx, spend, budget, alarms_now, quarantined, read) -> list[tuple[str, str]]:
    L, year, next_year = ctx.L, ctx.month.year, ctx.next_year

    def interval(c) -> str:
        return f"{L.eur(c['mean'])} ({L.eur(c['lo80'])} – {L.eur(c['hi80'])})"

    ytd = (
        L("fact_ytd_complete", year=year, month=L.short_month(ctx.complete_month))
        if ctx.partial_to is not None
        else L("fact_ytd", year=year)
    )
    facts = [(ytd, L.eur(spend["ytd"]))]
    if spend["planned"]:
        gap = spend["ytd"] - spend["planned"]
        sign = "+" if gap >= 0 else "−"
        share = L.share(float(abs(gap) / spend["planned"]))
        label = L("fact_against_plan", baseline=L.short_month(spend["baseline"]))
        facts.append((label, f"{sign}{L.eur(abs(gap))} ({sign}{share})"))
    if spend["projected"]:
        facts.append((L("fact_projected", year=year), interval(spend["projected"])))
    if budget.get("next"):
        facts.append((L("fact_next", year=next_year), interval(budget["next"])))
    if budget.get("next_2025"):
        facts.append((L("fact_next_2025", year=next_year), interval(budget["next_2025"])))
    if budget.get("diff"):
        facts.append((L("fact_diff", year=next_year), interval(budget["diff"])))
    if budget.get("ticket"):
        facts.append((L("fact_ticket", year=next_year), interval(budget["ticket"])))
    bridge = budget.get("bridge")
    if bridge:

        def signed(value) -> str:
            return f"{'+' if value >= 0 else '−'}{L.eur(abs(value))}"

        facts.append(
            (
                L("fact_bridge", year0=bridge["year0"], year1=bridge["year1"]),
                " / ".join(signed(bridge[step]) for step in ("volume", "mix", "price (table)")),
            )
        )
    alarms = "–" if alarms_now is None else L.number(alarms_now)  # – : not tested
    facts.append((L("fact_alarms", month=L.month(ctx.month)), alarms))
    facts.append((L("fact_quarantine"), f"{L.number(quarantined)} / {L.number(read)}"))
    return facts
