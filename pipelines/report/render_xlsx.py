"""The finance workbook: a summary sheet, then one sheet per table. Numbers are numbers
(EUR, count, share and date formats), hidden cells are text (``<5``, ``x``), headers are
frozen and filterable. Every row of every table (the page may show only a head).

Text is text: the workbook never turns a string into a formula or a link, and a table's
text cell that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab or
carriage return first; e.g. after a save as CSV) gets a leading ``'``."""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

from pipelines.report.labels import Labels
from pipelines.report.model import Column, Report, Table, is_hidden
from pipelines.safe_text import for_spreadsheet

FORMATS = {
    "count": "#,##0",
    "number0": "#,##0",
    "number1": "#,##0.0",
    "number2": "#,##0.00",
    "number3": "0.000",
    "eur": '#,##0.00 "€"',
    "eur_range": '#,##0.00 "€"',
    "share": "0.0%",
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
}


def _columns(table: Table) -> list[tuple[Column, int | None]]:
    """Workbook columns: an ``eur_range`` column becomes two (low, high)."""
    out: list[tuple[Column, int | None]] = []
    for column in table.columns:
        if column.kind == "eur_range":
            out += [(column, 0), (column, 1)]
        else:
            out.append((column, None))
    return out


def sheet_names(report: Report) -> dict[str, str]:
    """Table key → a unique valid sheet name (at most 31 characters)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for section in report.sections:
        for table in section.tables:
            base = re.sub(r"[\[\]:*?/\\]", "-", table.sheet)[:31]
            name, n = base, 2
            while name.lower() in used:
                name = f"{base[:28]} {n}"
                n += 1
            used.add(name.lower())
            names[table.key] = name
    return names


def render_xlsx(report: Report) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "remove_timezone": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    book.set_properties({"title": report.title, "subject": f"{report.month:%Y-%m}"})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1f5a96"})
    header = book.add_format({"bold": True, "bg_color": "#f3f4f6", "bottom": 1, "text_wrap": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    hidden = book.add_format({"align": "right", "font_color": "#6b7280"})
    formats = {k: book.add_format({"num_format": v}) for k, v in FORMATS.items()}
    emphasis = {k: book.add_format({"num_format": v, "bold": True}) for k, v in FORMATS.items()}

    summary = book.add_worksheet(Labels(report.lang)("t_summary")[:31])
    summary.write(0, 0, report.title, title)
    summary.write(1, 0, report.subtitle)
    for i, (label, value) in enumerate(report.facts):
        summary.write(3 + i, 0, label, bold)
        summary.write(3 + i, 1, value)
    row = 4 + len(report.facts)
    for warning in report.warnings:
        summary.write(row, 0, warning, bold)
        row += 1
    names = sheet_names(report)
    for section in report.sections:
        summary.write(row, 0, section.title, bold)
        summary.write(row, 1, ", ".join(names[t.key] for t in section.tables) or section.intro)
        row += 1
    summary.write(row + 1, 0, report.footnote, wrap)
    summary.set_column(0, 0, 46)
    summary.set_column(1, 1, 60)

    for section in report.sections:
        for table in section.tables:
            sheet = book.add_worksheet(names[table.key])
            columns = _columns(table)
            for j, (column, part) in enumerate(columns):
                label = column.label if part is None else f"{column.label} ({('≥', '≤')[part]})"
                sheet.write(0, j, label, header)
                width = max(len(column.label) + 2, 12 if column.kind != "text" else 14)
                sheet.set_column(j, j, min(width, 48))
            for i, values in enumerate(table.rows, start=1):
                style = emphasis if (i - 1) in table.emphasis else formats
                j = 0
                for column, value in zip(table.columns, values, strict=True):
                    if column.kind != "eur_range":
                        parts = [value]
                    elif isinstance(value, tuple):
                        parts = list(value)
                    else:  # empty or hidden: the same in both cells
                        parts = [value, value]
                    for item in parts:
                        _write(sheet, i, j, item, column, style, hidden)
                        j += 1
            sheet.freeze_panes(1, 0)
            if table.rows:
                sheet.autofilter(0, 0, len(table.rows), len(columns) - 1)
            if table.note:
                sheet.write(len(table.rows) + 2, 0, table.note)
    book.close()
    return buffer.getvalue()


def _write(sheet, i, j, value, column: Column, style, hidden) -> None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return
    if is_hidden(value):
        sheet.write_string(i, j, str(value), hidden)
    elif isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        fmt = style.get(column.kind)
        if column.kind == "number":
            fmt = style.get(f"number{column.decimals}")
        sheet.write_number(i, j, float(value), fmt)
    elif isinstance(value, datetime | date):
        sheet.write_datetime(i, j, value, style.get(column.kind, style["date"]))
    else:
        sheet.write_string(i, j, for_spreadsheet(str(value)))
