"""Who is better or worse off under the 2026 table, per return country, protected by the
small-cell rule (persons, better, worse and the unchanged that would follow from them)."""

from __future__ import annotations

from datetime import date

import polars as pl

from models.disclosure import OTHER, THRESHOLD, protect_counts
from pipelines.entitlements import UNDER_BOTH_TABLES_SQL
from pipelines.report.model import HIDDEN, SMALL_CELL, Column, Section, Table
from pipelines.report.sections.common import Context, country_names, dsum, shift_month
from pipelines.warehouse import query_frame

COMPARISON_SQL = f"""
WITH person AS (
    SELECT p.return_country AS country, e25.total AS t25, e26.total AS t26
    {UNDER_BOTH_TABLES_SQL}
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
        ctx.con, COMPARISON_SQL, {"start": date(year, 1, 1), "stop": shift_month(ctx.month, 1)}
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
    persons = dict(per_country.select("country", "persons").iter_rows())
    rows = [
        _protected_row(r, persons[r["country"]], names, shown_counts, money, whole)
        for r in shown.iter_rows(named=True)
    ]
    if pool.height:
        pooled = pool.row(0, named=True)
        rows.append(_protected_row(pooled, None, names, shown_counts, money, whole, L("r_other")))
    rows.append(
        (L("r_total"), "", totals["persons"])
        + tuple(dsum(per_country[c]) for c in money)
        + tuple(_whole_total(totals[c]) if c in whole else totals[c] for c in shown_counts[1:])
    )
    if protected["total_hidden"].any():
        rows = [(L("r_total"), "", _whole_total(totals["persons"]), *(HIDDEN,) * 5)]
    table = Table(
        "comparison", L("t_comparison"), L("t_comparison"), columns, rows, emphasis={len(rows) - 1}
    )
    intro = L("s_comparison_intro", year=year, month=L.month(ctx.month))
    return Section("comparison", L("s_comparison"), intro, [table])


def _whole_total(n: int):
    return SMALL_CELL if n < THRESHOLD else HIDDEN


def _protected_row(
    r: dict, persons: int | None, names, counts, money, whole, label: str | None = None
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
        return SMALL_CELL if persons is not None and persons < THRESHOLD else HIDDEN

    hidden = r["suppression"] is not None
    return (
        label or r["country"],
        "" if label else names.get(r["country"], ""),
        count(counts[0]),
        *(HIDDEN if hidden or r[c] is None else r[c] for c in money),
        *(count(c) for c in counts[1:]),
    )
