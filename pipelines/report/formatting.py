"""Cell text for the page (HTML and PDF) in the report's language."""

from __future__ import annotations

import math
from datetime import date, datetime

from pipelines.report.labels import Labels
from pipelines.report.model import Column, Table, is_hidden

NUMERIC = ("count", "number", "eur", "eur_range", "share")


def cell_text(L: Labels, column: Column, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if is_hidden(value) or isinstance(value, str):
        return str(value)
    kind = column.kind
    if kind == "count":
        return L.number(value)
    if kind == "number":
        return L.number(value, column.decimals)
    if kind == "eur":
        return L.eur(value)
    if kind == "eur_range":
        low, high = value
        return f"{L.number(low)} – {L.number(high)}"
    if kind == "share":
        return L.share(value)
    if kind == "month" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def page_rows(table: Table) -> tuple[list[int], int]:
    """Indexes of the rows the page shows (the head, then emphasised rows), and how
    many are left to the workbook."""
    if table.page_rows is None or len(table.rows) <= table.page_rows:
        return list(range(len(table.rows))), 0
    head = list(range(table.page_rows))
    tail = sorted(i for i in table.emphasis if i >= table.page_rows)
    return head + tail, len(table.rows) - len(head) - len(tail)
