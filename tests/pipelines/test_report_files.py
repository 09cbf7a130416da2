"""The report files read back: the workbook's figures are numbers (the summary's too),
its totals ``SUM`` formulas with the value cached, filters stop above the totals, dates
are dates, text from the data is never a formula; the PDF breaks no number nor word and
leaves no table's title or last rows alone on a page, and no page near-empty."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from pipelines.report import write_report
from pipelines.report.model import HIDDEN, SMALL_CELL, Column, Report, Section, Table
from pipelines.report.render_pdf import render_document, render_pdf
from pipelines.report.render_xlsx import fact_numbers, render_xlsx, sheet_names
from pipelines.warehouse import connect


@pytest.fixture(scope="module")
def files(built_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report_files")
    with connect(built_warehouse, read_only=True) as con:
        written = write_report(con, out, languages=["en", "fr"])
    return {f.report.lang: f for f in written}


def _books(content):
    """The workbook twice: with the formulas, and with their cached values."""
    source = content if not isinstance(content, bytes) else io.BytesIO(content)
    formulas = openpyxl.load_workbook(source)
    if isinstance(content, bytes):
        source = io.BytesIO(content)
    return formulas, openpyxl.load_workbook(source, data_only=True)


def _report(tables: list[Table], facts=None, lang: str = "en") -> Report:
    sections = [Section("s", "Section", "An introduction.", tables)]
    return Report(date(2026, 3, 1), lang, "Title", "Subtitle", facts or [], sections, "Footnote.")


# --- XLSX ------------------------------------------------------------------------------


def test_the_summary_figures_are_numbers(files):
    report = files["en"].report
    book = openpyxl.load_workbook(files["en"].xlsx)
    summary = book["Summary"]
    for i, (label, value) in enumerate(report.facts, start=4):
        assert summary.cell(i, 1).value == label
        if not re.search(r"\d", value):  # e.g. – : not tested
            continue
        cell = summary.cell(i, 2)
        assert cell.data_type == "n", (label, cell.value)
        assert cell.number_format != "General", label
        expected = fact_numbers("en", value)
        shown = [summary.cell(i, j).value for j in range(2, 2 + len(expected))]
        assert shown == pytest.approx([float(n) for n, _ in expected]), label
        assert summary.cell(i, 5).value.lstrip("'") == value  # the page text beside
    ytd = summary.cell(4, 2)
    assert "€" in ytd.number_format and ytd.value > 0


def test_headline_figures_read_back_in_every_language():
    assert fact_numbers("en", "€ 1,234,567") == [(Decimal("1234567"), "eur0")]
    assert fact_numbers("nl", "+€ 174.718 (+40,2 %)") == [
        (Decimal("174718"), "eur0"),
        (Decimal("0.402"), "share1"),
    ]
    assert fact_numbers("fr", "−174\u202f718 € (−40,2 %)") == [
        (Decimal("-174718"), "eur0"),
        (Decimal("-0.402"), "share1"),
    ]
    assert fact_numbers("en", "€ 5 (€ 1 – € 9)") == [
        (Decimal(5), "eur0"),
        (Decimal(1), "eur0"),
        (Decimal(9), "eur0"),
    ]
    assert fact_numbers("en", "3 / 40") == [(Decimal(3), "number0"), (Decimal(40), "number0")]
    assert fact_numbers("en", "–") is None
    assert fact_numbers("en", "from 2026-01-01") is None  # not only figures: text


def test_totals_are_sum_formulas_with_the_value_cached(files):
    formulas, values = _books(files["en"].xlsx)
    report = files["en"].report
    names = sheet_names(report)
    checked = 0
    for key, name in names.items():
        sheet, cached = formulas[name], values[name]
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                match = re.fullmatch(r"=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)", cell.value)
                assert match and match[1] == match[3] == cell.column_letter, cell.value
                assert int(match[4]) == cell.row - 1  # the rows right above
                above = [cached.cell(r, cell.column).value for r in range(int(match[2]), cell.row)]
                numbers = [v for v in above if isinstance(v, int | float)]
                assert cached[cell.coordinate].value == pytest.approx(sum(numbers), abs=1e-6)
                assert cell.row - 2 in report.table(key).emphasis, (name, cell.coordinate)
                checked += 1
    assert checked >= 10
    comparison = formulas[names["comparison"]]
    last = comparison.max_row
    assert comparison.cell(last, 1).value == "Total"
    for column in range(3, 9):  # persons … worse off: the rows (and the pool) add up
        assert str(comparison.cell(last, column).value).startswith("=SUM("), column
    total = report.table("comparison").rows[-1]
    assert values[names["comparison"]].cell(last, 3).value == total[2]


def test_a_total_that_is_not_the_sum_stays_a_number(files):
    """A budget total's percentiles are not the sum of the lines' percentiles."""
    formulas, _ = _books(files["en"].xlsx)
    budget = formulas[sheet_names(files["en"].report)["budget"]]
    total = next(r for r in budget.iter_rows() if r[0].value == "Total (without tickets)")
    assert total[2].data_type == "n" and total[3].data_type == "n"  # 2025 80 % low, high


def test_filters_stop_above_the_totals(files):
    book = openpyxl.load_workbook(files["en"].xlsx)
    report = files["en"].report
    filtered = 0
    for key, name in sheet_names(report).items():
        table, sheet = report.table(key), book[name]
        if not sheet.auto_filter.ref:
            continue
        _, top, _, bottom = range_boundaries(sheet.auto_filter.ref)
        assert top == 1
        totals = [i for i in sorted(table.emphasis) if i > 0 and i - 1 not in table.emphasis]
        if totals:
            assert bottom == totals[0] + 1, name  # the sheet row above the first total
            filtered += 1
        else:
            assert bottom == len(table.rows) + 1, name
    assert filtered >= 3  # spend, budget, countries, comparison, ...
    comparison = book[sheet_names(report)["comparison"]]
    assert range_boundaries(comparison.auto_filter.ref)[3] == comparison.max_row - 1


def test_dates_are_dates(files):
    book = openpyxl.load_workbook(files["en"].xlsx)
    spend = book[sheet_names(files["en"].report)["spend"]]
    months = [row[0] for row in spend.iter_rows(min_row=2) if row[0].is_date]
    assert len(months) >= 12
    assert all(isinstance(c.value, datetime) and c.number_format == "yyyy-mm" for c in months)
    assert months[0].value.date() == date(files["en"].report.month.year, 1, 1)


def test_a_crafted_table_formulas_injection_negative_numbers_and_dates():
    columns = [
        Column("name", "Name"),
        Column("n", "Count", "count"),
        Column("amount", "Amount", "eur"),
        Column("range", "Range", "eur_range"),
        Column("day", "Day", "date"),
    ]
    rows = [
        (
            '=HYPERLINK("http://x")',
            10,
            Decimal("-5.25"),
            (Decimal(1), Decimal(2)),
            date(2026, 3, 2),
        ),
        ("+1", SMALL_CELL, HIDDEN, HIDDEN, "2026-03-04"),
        ("-2", 7, Decimal("10.00"), (Decimal(3), Decimal(5)), datetime(2026, 3, 5, 14, 30)),
        ("@cmd", 5, Decimal("-0.75"), None, None),
        ("\tTab", 3, Decimal("1"), (Decimal(1), Decimal(1)), None),
        ("Total", 25, Decimal("5.00"), (Decimal(5), Decimal(9)), None),
    ]
    table = Table("t", "Crafted", "Crafted", columns, rows, emphasis={5})
    formulas, values = _books(render_xlsx(_report([table], [("Loss", "−€ 1,234 (−5.0 %)")])))
    sheet, cached = formulas["Crafted"], values["Crafted"]
    names = [sheet.cell(r, 1).value for r in range(2, 7)]
    assert names == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@cmd", "'\tTab"]
    assert all(sheet.cell(r, 1).data_type == "s" for r in range(2, 8))
    assert sheet.cell(2, 3).value == -5.25 and sheet.cell(2, 3).data_type == "n"
    assert sheet.cell(3, 2).value == "<5" and sheet.cell(3, 3).value == "x"
    # the total: SUM over the rows above (hidden cells are text: not added)
    assert sheet.cell(7, 2).value == "=SUM(B2:B6)" and cached.cell(7, 2).value == 25
    assert sheet.cell(7, 3).value == "=SUM(C2:C6)" and cached.cell(7, 3).value == 5
    assert sheet.cell(7, 4).value == "=SUM(D2:D6)" and cached.cell(7, 4).value == 5
    assert sheet.cell(7, 5).data_type == "n" and sheet.cell(7, 5).value == 9  # not 8: a number
    assert sheet.auto_filter.ref == "A1:F6"
    days = [sheet.cell(r, 6) for r in (2, 3, 4)]
    assert all(c.is_date for c in days)
    assert days[1].value == datetime(2026, 3, 4)  # an ISO date text in a date column
    assert days[2].value == datetime(2026, 3, 5, 14, 30) and "hh:mm" in days[2].number_format
    summary = formulas["Summary"]
    assert [summary.cell(4, j).value for j in (2, 3)] == [-1234, pytest.approx(-0.05)]
    assert summary.cell(4, 5).value == "−€ 1,234 (−5.0 %)"


# --- PDF -------------------------------------------------------------------------------


def _pdf_pages(content: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


_NUMBER = re.compile(r"\d[\d,.\u202f]*\d|\d")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_number_of_the_page_is_whole_in_the_pdf(files, lang):
    """The PDF text has each number of the HTML tables unbroken (a number broken over
    two lines reads ``0.01 3`` or ``1,234,5 67``)."""
    flat = " ".join(" ".join(_pdf_pages(files[lang].pdf.read_bytes())).split())
    flat = flat.replace("\u202f", " ")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", files[lang].html.read_text(encoding="utf-8"))
    numbers = {n for c in cells for n in _NUMBER.findall(html.unescape(c))}
    assert len(numbers) > 100
    missing = sorted(n for n in numbers if n.replace("\u202f", " ") not in flat)
    assert not missing, missing[:20]


def test_narrow_columns_shrink_rather_than_break_a_number_or_word():
    columns = [Column("word", "Countries and territories")] + [
        Column(f"c{j}", f"Amount {j}", "eur") for j in range(14)
    ]
    rows = [
        ("countries", *[Decimal("1234567890.12") * (j + 1) for j in range(14)]),
        ("Democratic Republic of the Congo", *[Decimal("-987654321") for _ in range(14)]),
    ]
    report = _report([Table("wide", "Wide", "Wide", columns, rows)])
    text = " ".join(_pdf_pages(render_pdf(report)))
    words = text.split()
    assert "countries" in words and "Countries" in words and "territories" in words
    for j in range(14):
        assert f"{Decimal('1234567890.12') * (j + 1):,.0f}" in words
    assert "−987,654,321" in text or "-987,654,321" in text


@pytest.mark.parametrize("n", range(30, 52))
def test_no_table_title_or_last_rows_alone_on_a_page(n):
    """Whatever the length of the first table, the second table's title has at least
    three of its rows on its page, and no page holds one or two rows of a table."""
    columns = [Column("name", "Name"), Column("v", "Value", "count")]
    first = Table("a", "First table", "A", columns, [(f"alpha{i:03d}", i) for i in range(n)])
    second = Table("b", "Second table", "B", columns, [(f"beta{i:03d}", i) for i in range(8)])
    pages = _pdf_pages(render_pdf(_report([first, second])))
    for page in pages:
        for prefix in ("alpha", "beta"):
            rows = len(re.findall(rf"\b{prefix}\d{{3}}\b", page))
            assert rows == 0 or rows >= 3, (n, prefix, rows)
        if "Second table" in page:
            assert len(re.findall(r"\bbeta\d{3}\b", page)) >= 3, n
        lines = [line for line in page.splitlines() if line.strip()]
        assert "Second table" not in lines[-2:], n  # the footer is the last line
    assert sum(len(re.findall(r"\bbeta\d{3}\b", p)) for p in pages) == 8


def _page_images(content: bytes, scale: float = 1.0):
    import pypdfium2

    document = pypdfium2.PdfDocument(content)
    try:
        return [page.render(scale=scale).to_pil().convert("L") for page in document]
    finally:
        document.close()


def _filled_height(image) -> float:
    """Share of the page's height down to its last inked row (the page number in the
    footer excluded: the bottom 6 %)."""
    import numpy as np

    pixels = np.asarray(image)
    body = pixels[: int(pixels.shape[0] * 0.94)]
    inked = np.flatnonzero((body < 200).any(axis=1))
    return 0.0 if not len(inked) else (inked[-1] + 1) / pixels.shape[0]


NEAR_EMPTY = 1 / 3  # a page (but the last) filled less than this is near-empty


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_pages_are_rendered_for_the_eye_review(files, lang):
    """Every page of the PDF rendered (pdfium) to test-artefacts/report-LANG-pNN.png for
    the eye review; none blank, none but the last near-empty, and every page break where
    the layout planned it (fpdf2 broke no table on its own)."""
    from tests.browser import artefact_path

    images = _page_images(files[lang].pdf.read_bytes())
    assert len(images) >= 3
    for old in artefact_path("x").parent.glob(f"report-{lang}-p*.png"):
        old.unlink()
    fills = []
    for number, image in enumerate(images, start=1):
        image.save(artefact_path(f"report-{lang}-p{number:02d}.png"))
        fills.append(round(_filled_height(image), 2))
    assert min(fills) > 0.05, fills
    assert min(fills[1:-1]) > NEAR_EMPTY, fills  # the cover holds the headline alone
    assert fills[0] > 0.2, fills
    assert render_document(files[lang].report).unplanned_breaks == []


def _long(key: str, title: str, prefix: str, n: int, words: int = 1) -> Table:
    columns = [Column("name", "Name"), Column("v", "Value", "count")]
    filler = " ".join(["word"] * (words - 1))
    rows = [(f"{prefix}{i:03d} {filler}".strip(), i) for i in range(n)]
    return Table(key, title, title, columns, rows)


def _sections_report(*sections: Section) -> Report:
    return Report(date(2026, 3, 1), "en", "Title", "Subtitle", [], list(sections), "Footnote.")


@pytest.mark.parametrize("n", [44, 46, 48, 52, 60, 90, 95, 100, 140])
def test_a_table_ending_its_section_leaves_no_near_empty_page(n):
    """A long table followed by a section that needs a page of its own: its last page
    is never near-empty (a slightly smaller font ends it a page earlier, or rows move
    onto the last page), and every row is shown once."""
    first = Section("a", "First section", "Intro.", [_long("a", "First table", "alpha", n)])
    second = Section("b", "Second section", "Intro.", [_long("b", "Second table", "beta", 60)])
    document = render_document(_sections_report(first, second))
    content = bytes(document.output())
    pages, images = _pdf_pages(content), _page_images(content)
    fills = [_filled_height(image) for image in images]
    assert min(fills[1:-1]) > NEAR_EMPTY, (n, [round(f, 2) for f in fills])
    assert document.unplanned_breaks == []
    shown = [int(m) for page in pages for m in re.findall(r"\balpha(\d{3})\b", page)]
    assert sorted(shown) == list(range(n)), n
    for page in pages:
        rows = len(re.findall(r"\balpha\d{3}\b", page))
        assert rows == 0 or rows >= 3, (n, rows)


def test_a_short_section_follows_on_the_same_page_when_it_fits_whole():
    """Sections start a new page unless the whole section fits below the previous one;
    one that does not fit whole is never started at the foot of a page."""
    short = [Section(k, f"Short {k}", "Intro.", [_long(k, f"Table {k}", k, 6)]) for k in "xyz"]
    long = Section("l", "Long section", "Intro.", [_long("l", "Long table", "long", 30)])
    pages = _pdf_pages(render_pdf(_sections_report(*short, long)))
    assert all(f"Short {k}" in pages[1] for k in "xyz"), pages[1]  # page 1: the cover
    assert "Long section" not in pages[1] and "Long section" in pages[2]


def test_the_title_is_repeated_on_every_page_a_table_continues():
    pages = _pdf_pages(render_pdf(_report([_long("a", "First table", "alpha", 150)])))
    with_rows = [p for p in pages if re.search(r"\balpha\d{3}\b", p)]
    assert len(with_rows) >= 3
    assert "First table" in with_rows[0] and "(continued)" not in with_rows[0]
    assert all("First table (continued)" in p for p in with_rows[1:])


def test_a_row_taller_than_a_page_is_cut_where_the_workbook_has_it_whole():
    """A cell long enough to fill more than a page: its row is cut at a space, says
    where the whole text is, and stays on one page (a page never breaks in a row)."""
    table = _long("a", "First table", "alpha", 5, words=6000)
    document = render_document(_report([table]))
    pages = _pdf_pages(bytes(document.output()))
    assert document.unplanned_breaks == []
    assert "(XLSX: First table)" in " ".join(pages)
    for i in range(5):
        holding = [p for p in pages if f"alpha{i:03d}" in p]
        assert len(holding) == 1, i


def test_a_report_written_without_a_source_names_none(files):
    """write_report from a connection alone (no warehouse file name): the subtitle says
    when it was made and stops there, not "… from " with nothing after it."""
    en, fr = files["en"].report.subtitle, files["fr"].report.subtitle
    assert "Generated " in en and not en.rstrip().endswith("from"), en
    assert "Produit le " in fr and not fr.rstrip().endswith("à partir de"), fr
