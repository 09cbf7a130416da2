"""No English in the Dutch and French reports: every text the report generates (units,
dated values, booleans, "none", table names, the authored labels and sources of the
working values) is in the report's language. Checked on the visible text of the HTML
(and the charts' text), with what is English by nature left out: codes and ISO codes,
identifiers (warehouse tables, parameters, rule ids, commands), proper names, and what
the report quotes in its own wording and says so: the quarantine reasons (the rules'
wording) and the sources of the working values (citations of the rules reference)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from pipelines.report import build_report
from pipelines.report.labels import AUTHORED, TEXT
from pipelines.report.render_html import render_html
from pipelines.warehouse import connect

# English words (and phrases) that are not words of Dutch or French; whole words,
# case-insensitive except True/False.
ENGLISH = [
    "from", "countries", "country", "none", "table", "tables", "forecast", "forecasts",
    "commitments", "commitment", "mean", "volumes", "working", "working parameters", "with",
    "volume response", "same population", "step", "amount", "amounts", "the", "and", "of",
    "not", "published", "unchanged", "adult", "adults", "minor", "minors", "premium",
    "support", "share", "month", "months", "year", "whether", "which", "registering",
    "registered", "other", "rows", "files", "reason", "expected", "upper", "bound",
    "seasonal", "naive", "backtest", "quarantined", "ingested", "rejected", "lifted",
    "better", "worse", "paid", "projected", "budgeted", "yes", "flag", "due", "top-up",
    "confirmed", "value", "values", "cap", "rest", "to date", "per person", "per minor",
    "per adult", "in kind", "people", "persons", "tickets only", "last", "twelve",
]  # fmt: skip
CASED = ["True", "False"]
DUTCH = {"of", "rest"}  # Dutch words too ("or"; "the rest")

# left out before the words are looked for
PROPER = ["Post Arrival Package", "post-arrival package", "Frontex", "EURP", "Benjamini–Hochberg"]
IDENTIFIER = re.compile(
    r"`[^`]*`"  # commands
    r"|reab forecast --as-of \S+"
    r"|\b\w*_\w*\b"  # warehouse tables, parameters, scenarios (degressive_1500)
    r"|\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b"  # rule ids (T26-PREMIUM)
    r"|\bseed \d+\b"  # the source documents
)


class _Visible(HTMLParser):
    """Visible text: the page's text and the charts' text; not styles, SVG metadata,
    nor the quoted cells (``quoted``: table key → column indexes, None for every one)."""

    SKIP = ("style", "script", "metadata", "title")

    def __init__(self, quoted: dict[str, set[int] | None]):
        super().__init__()
        self.parts: list[str] = []
        self._quoted = quoted
        self._skip = 0
        self._table: str | None = None
        self._column = -1
        self._cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self._skip += 1
        if tag == "table":
            self._table = attrs.get("data-table")
        if tag == "tr":
            self._column = -1
        if tag == "td":
            self._cell, self._column = True, self._column + 1
        if attrs.get("aria-label"):
            self.parts.append(attrs["aria-label"])

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip -= 1
        if tag == "table":
            self._table = None
        if tag == "td":
            self._cell = False

    def handle_data(self, data):
        if self._skip or (self._cell and self._is_quoted()):
            return
        if data.strip():
            self.parts.append(data.strip())

    def _is_quoted(self) -> bool:
        if self._table not in self._quoted:
            return False
        columns = self._quoted[self._table]
        return columns is None or self._column in columns


def english_in(text: str, names: list[str], allowed: set[str] = frozenset()) -> list[str]:
    for name in sorted(names, key=len, reverse=True):  # country names, proper names
        text = text.replace(name, " ")
    text = IDENTIFIER.sub(" ", text)
    words = [w for w in ENGLISH if w not in allowed]
    found = [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.I)]
    return found + [w for w in CASED if re.search(rf"\b{w}\b", text)]


@pytest.fixture(scope="module")
def reports(built_warehouse):
    with connect(built_warehouse, read_only=True) as con:
        return {lang: build_report(con, lang=lang) for lang in ("nl", "fr")}


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_no_english_word_in_the_visible_text(reports, lang):
    from pipelines.report.sections.common import country_names

    report = reports[lang]
    sources = [c.key for c in report.table("parameters").columns].index("source")
    parser = _Visible({"quarantine": None, "parameters": {sources}})
    parser.feed(render_html(report))
    names = [*country_names(lang).values(), *country_names("en").values(), *PROPER]
    leaks = {}
    for line in parser.parts:
        found = english_in(line, names, DUTCH if lang == "nl" else set())
        if found:
            leaks[line] = found
    assert not leaks, "\n".join(f"{words}: {line}" for line, words in leaks.items())


def test_the_check_finds_english():
    assert english_in("from 2022-01-01: none", []) == ["from", "none"]
    assert english_in("vanaf 2022-01-01: False", []) == ["False"]
    assert english_in("volumes, working parameters and response", []) == [
        "volumes", "working", "working parameters", "and",
    ]  # fmt: skip
    assert english_in("meer of minder", [], DUTCH) == []
    assert not english_in("tabel budget_forecast_archive, T26-PREMIUM, `reab update`", [])
    assert not english_in("Verenigd Koninkrijk", ["Verenigd Koninkrijk"])


def test_parameter_values_units_and_tables_are_translated(reports):
    nl = {r[2]: r for r in reports["nl"].table("parameters").rows}
    fr = {r[2]: r for r in reports["fr"].table("parameters").rows}
    restricted = "vanaf 2022-01-01: geen; vanaf 2025-01-01: BLR JOR MNG PAK"
    assert nl["restricted_countries"][4] == restricted
    assert nl["restricted_countries"][5] == "landen"
    assert fr["vulnerability_cumulative"][4] == "à partir du 2022-01-01 : non"
    assert nl["partner_service_fee"][4].endswith(": 500,00")
    assert not any(" - " in r[0] for r in nl.values())  # 2026 − 2025, not 2026 - 2025


def test_the_dutch_says_vastleggingen_and_every_text_has_three_languages():
    dutch = " ".join(texts[1] for texts in TEXT.values())
    assert "ngagement" not in dutch and "inschrijvende" not in dutch
    assert "vastleggingen" in dutch.lower()
    assert all(len(t) == 2 and all(t) for t in AUTHORED.values())


def test_a_response_that_cannot_be_estimated_is_explained_in_every_language(
    built_warehouse, tmp_path
):
    """When the history cannot tell an elasticity, the bands' note gives the model's
    reason in the report's language (the model's message itself is English)."""
    from datetime import date

    import numpy as np

    from models.response import NotIdentifiedError, estimate_response
    from pipelines.bands import _response_frame
    from pipelines.warehouse import replace_table

    with pytest.raises(NotIdentifiedError) as raised:  # the same support everywhere
        estimate_response(["AAA", "BBB"], 2025 * 12, np.ones((2, 6)), np.full((2, 6), 900.0))
    db = tmp_path / "copy.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    with connect(db) as con:
        replace_table(
            con, "volume_response", _response_frame(None, raised.value, date(2026, 11, 1))
        )
        notes = {
            lang: build_report(con, lang=lang).table("bands").note for lang in ("en", "nl", "fr")
        }
    assert str(raised.value) in notes["en"]
    for lang in ("nl", "fr"):
        assert TEXT["why_no_relative_change"][("nl", "fr").index(lang) + 1] in notes[lang]
        assert not english_in(notes[lang], [], DUTCH if lang == "nl" else set()), notes[lang]
