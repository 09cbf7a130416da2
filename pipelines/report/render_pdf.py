"""The report as PDF with fpdf2 (pure Python; the DejaVu fonts ship with matplotlib), from
the same sections, tables and charts as the HTML page."""

from __future__ import annotations

import io
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

    def footer(self):
        self.set_y(-10)
        self.set_font("dejavu", "", 7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.report.title} – {self.report.month:%Y-%m} · {self.page_no()}")
        self.set_text_color(0, 0, 0)


def _widths(L: Labels, table: Table, rows: list[int]) -> list[float]:
    """Column widths in proportion to their longest text (within bounds)."""
    widths = []
    for j, column in enumerate(table.columns):
        texts = [cell_text(L, column, table.rows[i][j]) for i in rows]
        longest = max([len(t) for t in texts] + [min(len(column.label), 14)])
        widths.append(min(max(longest, 4), 60))
    return widths


def _table(pdf: _Document, L: Labels, table: Table) -> None:
    pdf.set_font("dejavu", "B", 9)
    pdf.multi_cell(0, 5, table.title, new_x="LMARGIN", new_y="NEXT")
    shown, left = page_rows(table)
    size = 7 if len(table.columns) <= 9 else 6
    pdf.set_font("dejavu", "", size)
    align = ["RIGHT" if c.kind in NUMERIC else "LEFT" for c in table.columns]
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=_widths(L, table, shown),
        text_align=align,
        headings_style=FontFace(emphasis="BOLD", fill_color=(243, 244, 246)),
        line_height=size * 0.5,
        borders_layout="HORIZONTAL_LINES",
        repeat_headings=1,
    ) as pdf_table:
        pdf_table.row([c.label for c in table.columns])
        for i in shown:
            style = bold if i in table.emphasis else None
            pdf_table.row(
                [cell_text(L, c, v) for c, v in zip(table.columns, table.rows[i], strict=True)],
                style=style,
            )
    notes = [table.note] if table.note else []
    if left:
        notes.append(f"… +{left} (XLSX: {table.sheet})")
    pdf.set_text_color(*MUTED)
    for note in notes:
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def render_pdf(report: Report) -> bytes:
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
    for number, section in enumerate(report.sections, 1):
        pdf.add_page()
        pdf.start_section(section.title)
        pdf.set_font("dejavu", "B", 13)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(0, 7, f"{number}. {section.title}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("dejavu", "", 8.5)
        pdf.multi_cell(0, 4.5, section.intro, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for chart in section.charts:
            pdf.image(
                io.BytesIO(chart.png),
                w=240,
                h=95,
                keep_aspect_ratio=True,
                alt_text=chart.description,
            )
            pdf.ln(2)
        for table in section.tables:
            _table(pdf, L, table)
    pdf.set_font("dejavu", "", 7)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4, report.footnote, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
