"""Misuse alarms of the last twelve months with their timeline (the same months), and the
lifted countries against 2022-2024 in every month since the lifting."""

from __future__ import annotations

import math

import polars as pl

from models.disclosure import THRESHOLD
from pipelines.report import charts
from pipelines.report.labels import Labels
from pipelines.report.model import HIDDEN, SMALL_CELL, Column, Section, Table
from pipelines.report.sections.common import (
    ALARM_MONTHS,
    PAGE_ROWS,
    Context,
    count_or_small,
    country_names,
    label_of,
    shift_month,
)
from pipelines.warehouse import query_frame


def localised_reason(L: Labels, r: dict) -> str:
    indicator = L(f"i_{r['indicator']}")
    values = {
        "indicator": indicator,
        "observed": L.number(r["observed"]),
        "expected": L.number(r["expected"], 1),
        "upper": L.number(r["upper"], 1),
        "method": label_of(L, "m_", r["method"]),
        "q": f"{r['q_value']:.2g}".replace(".", "," if L.lang != "en" else "."),
    }
    key = "reason" if r["indicator"].startswith("registered_") else "reason_share"
    return L(key, **values)


def alarms_section(ctx: Context) -> tuple[Section, int]:
    L = ctx.L
    # the chart shows the months of the table: the same twelve months
    timeline_start = shift_month(ctx.month, -ALARM_MONTHS + 1)
    timeline = query_frame(
        ctx.con,
        """SELECT a.month, a.country, a.grouping, a.indicator, a.observed, a.expected,
                  a.upper, a.q_value, a.method, l.first_seen
           FROM misuse_alarms a LEFT JOIN misuse_alarm_log l
             USING (grouping, country, month, indicator)
           WHERE a.alarm AND a.month BETWEEN $start AND $month
           ORDER BY a.month DESC, a.country, a.indicator""",
        {"start": timeline_start, "month": ctx.month},
    )
    alarms = timeline
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
    # every month since the restrictions were lifted (the table starts there) to the
    # report month, not only the last few
    focus = query_frame(
        ctx.con,
        """SELECT month, country, observed, expected_from_before_2025, ratio_to_before_2025
           FROM misuse_focus
           WHERE indicator = 'registered_dossiers' AND month <= $month
           ORDER BY country, month""",
        {"month": ctx.month},
    )
    focus_note = (
        L("note_focus", start=L.month(focus["month"].min()), month=L.month(ctx.month))
        if focus.height
        else None
    )
    focus_table = Table(
        "focus",
        L("t_focus"),
        L("t_focus"),
        [
            Column("month", L("c_month"), "month"),
            Column("country", L("c_country")),
            Column("name", L("c_name")),
            Column("observed", f"{L('c_dossiers')} ({L('c_observed').lower()})", "count"),
            Column("expected", f"{L('c_expected')} (2022–2024)", "number"),
            Column("ratio", L("c_ratio"), "number", decimals=2),
        ],
        [_focus_row(r, names) for r in focus.iter_rows(named=True)],
        note=focus_note,
    )
    chart = charts.alarm_timeline(L, timeline, timeline_start, ctx.month)
    # a month not tested gives no count, rather than a reassuring 0
    tested = ctx.monitored_to is not None and ctx.monitored_to >= ctx.month
    this_month = alarms.filter(pl.col("month") == ctx.month).height if tested else None
    intro = L("s_alarms_intro", month=L.month(ctx.month))
    section = Section("alarms", L("s_alarms"), intro, [table, focus_table], [chart])
    return section, this_month


def _focus_row(r: dict, names: dict[str, str]) -> tuple:
    """A lifted country's month against 2022-2024: the expectation is a third of a
    three-year count, so it is hidden with that count when the count is small; no ratio
    to nothing."""
    observed, expected = r["observed"], r["expected_from_before_2025"]
    before = round((expected or 0) * 3)
    small = 0 < observed < THRESHOLD or 0 < before < THRESHOLD
    ratio = r["ratio_to_before_2025"]
    if not expected or ratio is None or not math.isfinite(ratio):
        ratio = None
    return (
        r["month"],
        r["country"],
        names.get(r["country"], ""),
        count_or_small(observed),
        HIDDEN if 0 < before < THRESHOLD else expected,
        HIDDEN if small else ratio,
    )
