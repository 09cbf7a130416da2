"""The report as PDF with fpdf2 (pure Python; the DejaVu fonts ship with matplotlib), from
the same sections, tables and charts as the HTML page."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fpdf import FPDF, FontFace

from pipelines.report.formatting import NUMERIC, cell_text, page_rows
from pipelines.report.labels import Labels
from pipelines.report.model import Report, Table

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
ACCENT = (31, 90, 150)
MUTED = (107, 114, 128)


class _Document(FPDF):
    def __init__(self, report: Report):
        super().__init__(orientation="landscape", format="A4")
        self.report = report
        self.add_font("dejavu", "", FONTS / "DejaVuSans.ttf")
        self.add_font("dejavu", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(f"{report.title} – {report.month:%Y-%m}")
        self.set_lang(report.lang)
        self.set_creator("reab")
        self.unplanned_breaks: list[str] = []  # tables fpdf2 broke where we did not plan
        # a table's measures (they do not depend on where it lands): the section's fit,
        # the chart's size and the table's own plan measure it once
        self.measured: dict[tuple[int, float, float | None], _Measured] = {}

    def footer(self):
        self.set_y(-10)
        self.set_font("dejavu", "", 7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.report.title} – {self.report.month:%Y-%m} · {self.page_no()}")
        self.set_text_color(0, 0, 0)


MIN_SIZE = 5.0  # pt: a table's font shrinks down to this before a number could break
KEEP = 3  # rows: a table's title never ends a page with fewer, and no page holds fewer
WHOLE = 10  # rows: a table this short moves to the next page whole rather than split
SLACK = 0.6  # mm: kept free per column width against rounding in fpdf2's line breaks
ROW_SLACK = 0.02  # mm per row: fpdf2 draws a row exactly lines × line height
TEXT_WIDTH = 80.0  # mm: a text column wider than this wraps (at spaces)
CHART_HEIGHT, CHART_MIN = 95.0, 70.0  # mm
HEADER_WIDTH = 24.0  # mm: a header wraps (at spaces) rather than widen its column beyond
LAST_PAGE_FILL = 0.35  # a table ending its section leaves no last page filled less
SHRINK = 1.0  # pt: how much smaller its font may get to end one page earlier instead


@dataclass
class _Layout:
    size: float
    widths: list[float]
    texts: list[list[str]]  # per shown row, per column


def _layout(
    pdf: FPDF, L: Labels, table: Table, rows: list[int], largest: float | None = None
) -> _Layout:
    """Column widths by content: a number (the whole cell: ``1,234 – 5,678`` too) is
    never broken, nor a word; text wraps at spaces only. When the narrowest such widths
    do not fit the page, the table's font shrinks (down to ``MIN_SIZE``); room left over
    goes to the columns that would wrap, then to all in proportion. ``largest``: a
    font size not to exceed."""
    texts = [
        [cell_text(L, c, v) for c, v in zip(table.columns, table.rows[i], strict=True)]
        for i in rows
    ]
    size = 7.0 if len(table.columns) <= 9 else 6.0
    if largest is not None:
        size = max(MIN_SIZE, min(size, largest))
    room = pdf.epw
    while True:
        need, want = _column_widths(pdf, table, texts, size, rows)
        if sum(need) <= room or size <= MIN_SIZE:
            break
        size = max(MIN_SIZE, size - 0.5)
    if sum(want) <= room:
        extra = room - sum(want)
        widths = [w + extra * w / sum(want) for w in want]
    elif sum(need) < room:
        spare, stretch = room - sum(need), [w - n for w, n in zip(want, need, strict=True)]
        widths = [n + spare * s / sum(stretch) for n, s in zip(need, stretch, strict=True)]
    else:  # even at the smallest font: the narrowest widths (the table is wider)
        widths = need
    return _Layout(size, widths, texts)


def _column_widths(
    pdf: FPDF, table: Table, texts: list[list[str]], size: float, rows: list[int]
) -> tuple[list[float], list[float]]:
    """Per column, the narrowest width that breaks no number nor word, and the width
    that would show the column without wrapping (text columns within ``TEXT_WIDTH``)."""
    pad = 2 * pdf.c_margin + SLACK
    need, want = [], []
    for j, column in enumerate(table.columns):
        numeric = column.kind in NUMERIC
        narrow = wide = 0.0
        for k, row in enumerate(texts):
            pdf.set_font("dejavu", "B" if rows[k] in table.emphasis else "", size)
            text = row[j]
            whole = pdf.get_string_width(text)
            if numeric:
                narrow = max(narrow, whole)
            else:
                narrow = max([narrow] + [pdf.get_string_width(w) for w in text.split()])
            wide = max(wide, whole)
        pdf.set_font("dejavu", "B", size)
        words = [pdf.get_string_width(w) for w in column.label.split()] or [0.0]
        label = pdf.get_string_width(column.label)
        narrow = max(narrow, *words)
        wide = max(wide, min(label, max(HEADER_WIDTH, *words)))
        if not numeric:
            wide = min(wide, max(TEXT_WIDTH, narrow))
        need.append(narrow + pad)
        want.append(max(wide, narrow) + pad)
    return need, want


def _lines(pdf: FPDF, width: float, height: float, text: str) -> int:
    if not text:
        return 1
    return len(pdf.multi_cell(width, height, text, dry_run=True, output="LINES"))


def _cell_lines(pdf: FPDF, layout: _Layout, texts: list[str], bold: bool) -> list[int]:
    pdf.set_font("dejavu", "B" if bold else "", layout.size)
    height = layout.size * 0.5
    return [_lines(pdf, w, height, t) for w, t in zip(layout.widths, texts, strict=True)]


def _row_height(pdf: FPDF, layout: _Layout, texts: list[str], bold: bool) -> float:
    return max(_cell_lines(pdf, layout, texts, bold)) * layout.size * 0.5 + ROW_SLACK


def _clipped(
    pdf: FPDF, layout: _Layout, texts: list[str], bold: bool, room: float, sheet: str
) -> list[str]:
    """A row that would be taller than a page, its longest texts cut at a space (with
    "…" and where the whole text is) until it fits: a page never breaks inside a row."""
    texts = list(texts)
    mark = f" … (XLSX: {sheet})"
    while _row_height(pdf, layout, texts, bold) > room:
        lines = _cell_lines(pdf, layout, texts, bold)
        j = max(range(len(texts)), key=lambda c: lines[c])
        words = texts[j].removesuffix(mark).split(" ")
        fit = max(1, int(len(words) * room / (lines[j] * layout.size * 0.5)) - 1)
        if fit >= len(words):
            fit = len(words) - 1
        if fit < 1:  # one word taller than the page: nothing left to cut
            break
        texts[j] = " ".join(words[:fit]) + mark
    return texts


def _chunks(heights: list[float], heading: float, first: float, page: float) -> list[int]:
    """How many rows go on each page: as many as fit, but the first page (after the
    title) holds ``KEEP`` rows or the whole table moves on (``first`` < 0), and the last
    page holds ``KEEP`` rows too (taken from the page before). ``first``, ``page``: the
    room on this page and on a fresh one (a continued title above the rows)."""
    n = len(heights)
    counts, room, k = [], first, 0
    while k < n:
        used, start = heading, k
        while k < n and used + heights[k] <= room:
            used += heights[k]
            k += 1
        if k == start:  # a row taller than a page: alone (fpdf2 breaks it)
            k += 1
        counts.append(k - start)
        room = page
    if len(counts) > 1 and counts[-1] < KEEP:
        move = min(KEEP - counts[-1], counts[-2] - KEEP)
        if move > 0:
            counts[-2] -= move
            counts[-1] += move
    return counts


@dataclass
class _Measured:
    shown: list[int]
    layout: _Layout
    heading: float  # the header row
    heights: list[float]  # per shown row, the last one with what follows the table
    notes: list[str]
    after: float
    title: float
    continued: float  # the title repeated (continued) on the pages after a break

    @property
    def height(self) -> float:
        return self.title + self.heading + sum(self.heights)


def _continued(L: Labels, table: Table) -> str:
    return f"{table.title} ({L('continued')})"


def _measure(
    pdf: _Document, L: Labels, table: Table, tail: float = 0.0, largest: float | None = None
) -> _Measured:
    key = (id(table), tail, largest)
    if key not in pdf.measured:
        pdf.measured[key] = _measure_now(pdf, L, table, tail, largest)
    return pdf.measured[key]


def _measure_now(
    pdf: FPDF, L: Labels, table: Table, tail: float, largest: float | None
) -> _Measured:
    shown, left = page_rows(table)
    layout = _layout(pdf, L, table, shown, largest)
    heading = _row_height(pdf, layout, [c.label for c in table.columns], bold=True)
    notes = [table.note] if table.note else []
    if left:
        notes.append(f"… +{left} (XLSX: {table.sheet})")
    pdf.set_font("dejavu", "", 7)
    after = sum(4 * _lines(pdf, pdf.epw, 4, note) for note in notes) + 3 + tail
    pdf.set_font("dejavu", "B", 9)
    title = 5 * _lines(pdf, pdf.epw, 5, table.title)
    continued = 5 * _lines(pdf, pdf.epw, 5, _continued(L, table))
    room = pdf.page_break_trigger - pdf.t_margin - max(title, continued) - heading - after
    heights = []
    for k, i in enumerate(shown):
        bold = i in table.emphasis
        if _row_height(pdf, layout, layout.texts[k], bold) > room:
            layout.texts[k] = _clipped(pdf, layout, layout.texts[k], bold, room, table.sheet)
        heights.append(_row_height(pdf, layout, layout.texts[k], bold))
    if heights:
        heights[-1] += after  # the notes stay with the last rows
    return _Measured(shown, layout, heading, heights, notes, after, title, continued)


@dataclass
class _Plan:
    measured: _Measured
    counts: list[int]  # rows per page
    new_page: bool  # the title starts a fresh page


def _plan(
    pdf: _Document, L: Labels, table: Table, tail: float, largest: float | None = None
) -> _Plan:
    """Where the table's rows go from the current position: the title with at least
    ``KEEP`` rows, a short table whole, no page with fewer than ``KEEP`` rows."""
    m = _measure(pdf, L, table, tail, largest)
    top = pdf.page_break_trigger - pdf.t_margin
    page, first = top - m.continued, pdf.page_break_trigger - pdf.y - m.title
    fresh = pdf.y <= pdf.t_margin + 1
    counts = _chunks(m.heights, m.heading, first, page)
    whole = m.heading + sum(m.heights) <= top - m.title and len(m.shown) <= WHOLE
    if not fresh and (
        (counts and counts[0] < min(KEEP, len(m.shown))) or (len(counts) > 1 and whole)
    ):
        return _Plan(m, _chunks(m.heights, m.heading, top - m.title, page), True)
    if not counts and m.heading + m.after > first and not fresh:
        return _Plan(m, counts, True)
    return _Plan(m, counts, False)


def _last_page_fill(m: _Measured, counts: list[int], page: float) -> float:
    """How full the table's last page is (its continued title, header and rows)."""
    if not counts:
        return 1.0
    return (m.continued + m.heading + sum(m.heights[len(m.heights) - counts[-1] :])) / page


def _fill_last_page(m: _Measured, counts: list[int], page: float) -> list[int]:
    """Rows moved from the page before onto the last one until the last page is
    ``LAST_PAGE_FILL`` full (or the page before would be emptier than the last)."""
    counts = list(counts)
    while (
        len(counts) > 1
        and _last_page_fill(m, counts, page) < LAST_PAGE_FILL
        and counts[-2] > max(KEEP, counts[-1] + 1)
    ):
        counts[-2] -= 1
        counts[-1] += 1
    return counts


def _ending_plan(pdf: _Document, L: Labels, table: Table, tail: float) -> _Plan:
    """For a table that ends its section (what follows starts a new page): when its last
    page would be under ``LAST_PAGE_FILL`` full, a font up to ``SHRINK`` pt smaller if
    that ends the table a page earlier; else rows moved onto the last page."""
    plan = _plan(pdf, L, table, tail)
    page = pdf.page_break_trigger - pdf.t_margin
    if len(plan.counts) < 2 or _last_page_fill(plan.measured, plan.counts, page) >= LAST_PAGE_FILL:
        return plan
    size = plan.measured.layout.size
    while size - 0.5 >= max(MIN_SIZE, plan.measured.layout.size - SHRINK):
        size -= 0.5
        smaller = _plan(pdf, L, table, tail, largest=size)
        if len(smaller.counts) < len(plan.counts):
            return smaller
    return _Plan(plan.measured, _fill_last_page(plan.measured, plan.counts, page), plan.new_page)


def _table(
    pdf: _Document, L: Labels, table: Table, tail: float = 0.0, ends_page: bool = False
) -> None:
    """A table after its title; ``tail``: the height of what must end on its last page
    (the notes, and the footnote after the last table); ``ends_page``: what follows it
    starts a new page."""
    plan = _ending_plan(pdf, L, table, tail) if ends_page else _plan(pdf, L, table, tail)
    m, counts = plan.measured, plan.counts
    layout, notes = m.layout, m.notes
    if plan.new_page:
        pdf.add_page()  # the title goes with its first rows, a short table stays whole
    start_page = pdf.page
    pdf.set_font("dejavu", "B", 9)
    pdf.multi_cell(0, 5, table.title, new_x="LMARGIN", new_y="NEXT")
    align = ["RIGHT" if c.kind in NUMERIC else "LEFT" for c in table.columns]
    bold = FontFace(emphasis="BOLD")
    start = 0
    for n, count in enumerate(counts or [0]):
        if n:
            pdf.add_page()
            pdf.set_font("dejavu", "B", 9)
            pdf.multi_cell(0, 5, _continued(L, table), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("dejavu", "", layout.size)
        with pdf.table(
            col_widths=layout.widths,
            width=min(sum(layout.widths), pdf.epw),
            align="LEFT",
            text_align=align,
            headings_style=FontFace(emphasis="BOLD", fill_color=(243, 244, 246)),
            line_height=layout.size * 0.5,
            borders_layout="HORIZONTAL_LINES",
            repeat_headings=1,
        ) as pdf_table:
            pdf_table.row([c.label for c in table.columns])
            for k in range(start, start + count):
                style = bold if m.shown[k] in table.emphasis else None
                pdf_table.row(layout.texts[k], style=style)
        start += count
    pdf.set_text_color(*MUTED)
    pdf.set_font("dejavu", "", 7)
    for note in notes:
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    if pdf.page != start_page + max(len(counts), 1) - 1:
        pdf.unplanned_breaks.append(table.key)


def _section_fits(pdf: _Document, L: Labels, section, tail: float) -> bool:
    """Whether the whole section (the gap above it, title, intro, charts at full size,
    tables) fits below the current position; tables are measured only while it may."""
    room = pdf.page_break_trigger - pdf.y - 4
    pdf.set_font("dejavu", "B", 13)
    height = 7 * _lines(pdf, pdf.epw, 7, section.title) + 2
    pdf.set_font("dejavu", "", 8.5)
    height += 4.5 * _lines(pdf, pdf.epw, 4.5, section.intro)
    height += len(section.charts) * (CHART_HEIGHT + 2)
    for k, table in enumerate(section.tables):
        if height > room:
            return False
        last = k == len(section.tables) - 1
        height += _measure(pdf, L, table, tail if last else 0.0).height
    return height <= room


def render_pdf(report: Report) -> bytes:
    return bytes(render_document(report).output())


def render_document(report: Report) -> _Document:
    """The laid-out document (``render_pdf`` gives its bytes). A section starts a new
    page unless the whole section fits below what the page holds so far."""
    L = Labels(report.lang)
    pdf = _Document(report)
    pdf.add_page()
    pdf.set_font("dejavu", "B", 16)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 8, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
    pdf.set_font("dejavu", "", 8)
    pdf.multi_cell(0, 4.5, report.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(180, 83, 9)
    for warning in report.warnings:
        pdf.multi_cell(0, 4.5, warning, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_font("dejavu", "", 9)
    with pdf.table(
        col_widths=(2, 3),
        text_align=("LEFT", "RIGHT"),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        width=170,
        align="LEFT",
    ) as facts:
        for label, value in report.facts:
            facts.row([label, value])
    pdf.set_font("dejavu", "", 7)
    footnote = 4 * _lines(pdf, pdf.epw, 4, report.footnote)
    for number, section in enumerate(report.sections, 1):
        tail = footnote if number == len(report.sections) else 0.0
        # the first page holds the headline facts alone
        if number == 1 or not _section_fits(pdf, L, section, tail):
            pdf.add_page()
        else:
            pdf.ln(4)
        pdf.start_section(section.title)
        pdf.set_font("dejavu", "B", 13)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 7, f"{number}. {section.title}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("dejavu", "", 8.5)
        pdf.multi_cell(0, 4.5, section.intro, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        height = CHART_HEIGHT
        if section.charts and section.tables:
            # a smaller chart (down to CHART_MIN) when it keeps the first table whole
            first = _measure(pdf, L, section.tables[0]).height
            room = (pdf.page_break_trigger - pdf.y - first) / len(section.charts) - 2
            if CHART_MIN <= room < CHART_HEIGHT:
                height = room
        for chart in section.charts:
            pdf.image(
                io.BytesIO(chart.png),
                w=240,
                h=height,
                keep_aspect_ratio=True,
                alt_text=chart.description,
            )
            pdf.ln(2)
        for k, table in enumerate(section.tables):
            last = k == len(section.tables) - 1
            _table(pdf, L, table, tail=tail if last else 0.0, ends_page=last)
    pdf.set_font("dejavu", "", 7)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4, report.footnote, new_x="LMARGIN", new_y="NEXT")
    return pdf
