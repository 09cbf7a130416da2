"""The finance workbook: a summary sheet, then one sheet per table. Numbers are numbers
(EUR, count, share and date formats), hidden cells are text (``<5``, ``x``), headers are
frozen and filterable. Every row of every table (the page may show only a head).

The summary sheet's figures are numbers too (read back from the page text of each
headline: value, then range), next to that text. A total row (an emphasised row after
a block of rows) is a ``SUM`` formula over the block, with the value cached for readers
that do not recalculate, wherever the total is that sum (a mean or a percentile of a
total is not: it stays a number); filters stop above the totals. Dates are dates.

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
from xlsxwriter.utility import xl_range

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
    "datetime": "yyyy-mm-dd hh:mm",
    "month": "yyyy-mm",
}
# the summary's figures, as the page rounds them
SUMMARY_FORMATS = {
    "eur0": '#,##0 "€"',
    "eur2": '#,##0.00 "€"',
    "share1": "0.0%",
    "share0": "0%",
    "number0": "#,##0",
    "number1": "#,##0.0",
    "number2": "#,##0.00",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


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
    figures = {k: book.add_format({"num_format": v}) for k, v in SUMMARY_FORMATS.items()}
    muted = book.add_format({"font_color": "#6b7280"})
    for i, (label, value) in enumerate(report.facts):
        summary.write_string(3 + i, 0, for_spreadsheet(label), bold)
        numbers = fact_numbers(report.lang, value)
        if numbers is None:  # no figure (e.g. – : not tested): the text
            summary.write_string(3 + i, 1, for_spreadsheet(value))
            continue
        for j, (number, kind) in enumerate(numbers[:3], start=1):
            summary.write_number(3 + i, j, float(number), figures[kind])
        summary.write_string(3 + i, 4, for_spreadsheet(value), muted)
    row = 4 + len(report.facts)
    for warning in report.warnings:
        summary.write_string(row, 0, for_spreadsheet(warning), bold)
        row += 1
    names = sheet_names(report)
    for section in report.sections:
        summary.write_string(row, 0, for_spreadsheet(section.title), bold)
        contents = ", ".join(names[t.key] for t in section.tables) or section.intro
        summary.write_string(row, 1, for_spreadsheet(contents))
        row += 1
    summary.write_string(row + 1, 0, for_spreadsheet(report.footnote), wrap)
    summary.set_column(0, 0, 46)
    summary.set_column(1, 3, 14)
    summary.set_column(4, 4, 40)

    for section in report.sections:
        for table in section.tables:
            sheet = book.add_worksheet(names[table.key])
            columns = _columns(table)
            for j, (column, part) in enumerate(columns):
                label = column.label if part is None else f"{column.label} ({('≥', '≤')[part]})"
                sheet.write_string(0, j, for_spreadsheet(label), header)
                width = max(len(column.label) + 2, 12 if column.kind != "text" else 14)
                sheet.set_column(j, j, min(width, 48))
            cells = [_cells(table, values) for values in table.rows]
            block = 0  # first row of the block of plain rows above
            for i, values in enumerate(cells, start=1):
                total = (i - 1) in table.emphasis
                style = emphasis if total else formats
                for j, ((column, _part), item) in enumerate(zip(columns, values, strict=True)):
                    above = [row[j] for row in cells[block : i - 1]] if total else []
                    if _is_sum(item, above):
                        # the block is sheet rows block+1 .. i-1 (0-based)
                        formula = f"=SUM({xl_range(block + 1, j, i - 1, j)})"
                        sheet.write_formula(
                            i, j, formula, _number_format(column, style), float(item)
                        )
                    else:
                        _write(sheet, i, j, item, column, style, hidden)
                if total:
                    block = i
            sheet.freeze_panes(1, 0)
            body = _filtered_rows(table)
            if body:
                sheet.autofilter(0, 0, body, len(columns) - 1)
            if table.note:
                sheet.write_string(len(table.rows) + 2, 0, for_spreadsheet(table.note))
    book.close()
    return buffer.getvalue()


def _cells(table: Table, values: tuple) -> list:
    """A row's workbook cells: an ``eur_range`` value becomes two (low, high)."""
    out = []
    for column, value in zip(table.columns, values, strict=True):
        if column.kind != "eur_range":
            out.append(value)
        elif isinstance(value, tuple):
            out += list(value)
        else:  # empty or hidden: the same in both cells
            out += [value, value]
    return out


def _is_number(value) -> bool:
    return (
        isinstance(value, Decimal | int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _is_sum(value, above: list) -> bool:
    """Whether ``value`` is the sum of the numbers ``above`` (what ``SUM`` adds: hidden
    cells are text, empty cells nothing), exactly for money and counts. At least two
    numbers: one row's value is no total."""
    if not _is_number(value) or any(
        v is not None and not is_hidden(v) and not _is_number(v) for v in above
    ):
        return False
    numbers = [v for v in above if _is_number(v)]
    if len(numbers) < 2:
        return False
    if isinstance(value, float) or any(isinstance(v, float) for v in numbers):
        total = math.fsum(float(v) for v in numbers)
        return math.isclose(total, float(value), rel_tol=1e-9, abs_tol=1e-9)
    return sum(Decimal(v) for v in numbers) == Decimal(value)


def _filtered_rows(table: Table) -> int:
    """The last row (sheet index) the filter covers: the rows above the first total (an
    emphasised row after plain rows), so that sorting and filtering leave totals alone."""
    for i in sorted(table.emphasis):
        if i > 0 and (i - 1) not in table.emphasis:
            return i
    return len(table.rows)


def _number_format(column: Column, style):
    if column.kind == "number":
        return style.get(f"number{column.decimals}", style["number3"])
    return style.get(column.kind)


def _write(sheet, i, j, value, column: Column, style, hidden) -> None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return
    if (
        column.kind in ("date", "month")
        and isinstance(value, str)
        and not is_hidden(value)
        and _ISO_DATE.fullmatch(value)
    ):
        value = date.fromisoformat(value if len(value) == 10 else value + "-01")
    if is_hidden(value):
        sheet.write_string(i, j, str(value), hidden)
    elif _is_number(value):
        sheet.write_number(i, j, float(value), _number_format(column, style))
    elif isinstance(value, datetime):
        kind = "datetime" if column.kind != "month" else "month"
        sheet.write_datetime(i, j, value, style[kind])
    elif isinstance(value, date):
        sheet.write_datetime(i, j, value, style.get(column.kind, style["date"]))
    else:
        sheet.write_string(i, j, for_spreadsheet(str(value)))


def fact_numbers(lang: str, text: str) -> list[tuple[Decimal, str]] | None:
    """The figures of a headline as the page shows it (``€ 1,234 (€ 1,000 – € 1,500)``,
    ``+€ 5 (+1.2 %)``, ``3 / 40``): (value, format key) each, or None when the text is
    not only figures (then it stays text)."""
    thousands, point = {"en": (",", "."), "nl": (".", ","), "fr": ("\u202f", ",")}.get(
        lang, (",", ".")
    )
    t, p = re.escape(thousands), re.escape(point)
    pattern = re.compile(
        rf"(?P<sign>[+\-\u2212])?(?P<pre>€\s?)?"
        rf"(?P<int>\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{p}(?P<dec>\d+))?(?P<post>\s?[%€])?"
    )
    found = []
    for match in pattern.finditer(text):
        number = Decimal(match["int"].replace(thousands, "") + "." + (match["dec"] or "0"))
        if match["sign"] in ("-", "\u2212"):
            number = -number
        decimals = len(match["dec"] or "")
        post = (match["post"] or "").strip()
        if post == "%":
            found.append((number / 100, f"share{min(decimals, 1)}"))
        elif match["pre"] or post == "€":
            found.append((number, f"eur{0 if decimals == 0 else 2}"))
        else:
            found.append((number, f"number{min(decimals, 2)}"))
    rest = re.sub(r"[\s()/\u2013]", "", pattern.sub("", text))
    return found if found and not rest else None
