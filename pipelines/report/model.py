"""The report as data: sections of tables and charts, rendered alike to HTML, PDF and XLSX.

Every value a renderer shows comes from a ``Table`` cell: the renderers format, they
never compute. Money cells are ``Decimal`` EUR (exact); counts are ``int``; a count
hidden by the small-cell rule is ``SMALL_CELL`` (shown ``<5``) and a value hidden with
it ``HIDDEN`` (shown ``x``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal


class _Marker(str):
    """A hidden cell: text in every format, never a number."""


SMALL_CELL = _Marker("<5")  # a count below the threshold
HIDDEN = _Marker("x")  # hidden so that a small count cannot be derived

# eur_range: a (low, high) pair; one "low – high" cell on the page, two in the workbook
Kind = Literal["text", "count", "number", "eur", "eur_range", "share", "date", "month"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    decimals: int = 1  # for "number"


@dataclass
class Table:
    """``sheet`` names the workbook sheet (at most 31 characters); ``rows`` are tuples
    in column order; ``emphasis`` marks rows (by index) such as totals."""

    key: str
    title: str
    sheet: str
    columns: list[Column]
    rows: list[tuple]
    note: str | None = None
    emphasis: set[int] = field(default_factory=set)
    page_rows: int | None = None  # the page shows this many (the workbook shows all)

    def column(self, key: str) -> list:
        i = [c.key for c in self.columns].index(key)
        return [row[i] for row in self.rows]


@dataclass
class Chart:
    key: str
    title: str
    svg: str  # for HTML: inline, text stays text
    png: bytes  # for PDF
    description: str  # alt text


@dataclass
class Section:
    key: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass
class Report:
    month: date
    lang: str
    title: str
    subtitle: str
    facts: list[tuple[str, str]]  # headline label → formatted value
    sections: list[Section]
    footnote: str
    warnings: list[str] = field(default_factory=list)  # what is out of date, and why

    def table(self, key: str) -> Table:
        for section in self.sections:
            for table in section.tables:
                if table.key == key:
                    return table
        raise KeyError(key)


def is_hidden(value) -> bool:
    return isinstance(value, _Marker)


def eur(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100
