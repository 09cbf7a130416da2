"""Shared by the report sections: the context, small helpers, country names."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

import duckdb
import polars as pl
import pycountry

from data_contracts.countries import countries
from models.disclosure import THRESHOLD
from models.forecast import month_index, month_of
from pipelines.report.labels import TEXT, Labels
from pipelines.report.model import SMALL_CELL
from pipelines.warehouse import scalar, table_exists
from rules.budget_lines import AMOUNT_COLUMNS
from rules.parameters import applicable_rules

LINES = (*AMOUNT_COLUMNS, "ticket")
TOP_COUNTRIES = 10
PAGE_ROWS = 25  # longer tables show their head on the page, all rows in the workbook
ALARM_MONTHS = 12
TIMELINE_MONTHS = 24


class ReportError(ValueError):
    """The report cannot be made (e.g. the warehouse is empty); the message says why."""


@cache
def country_names(lang: str = "en") -> dict[str, str]:
    """ISO3 → country name: English from the versioned country reference; Dutch and
    French from the ISO 3166 translations that ship with pycountry (the English name
    where a code has none, e.g. XKX, STA)."""
    english = dict(countries().select("iso3", "name").iter_rows())
    if lang == "en":
        return english
    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    names = {}
    for code, name in english.items():
        country = pycountry.countries.get(alpha_3=code)
        if country is None:
            names[code] = name
            continue
        common = getattr(country, "common_name", None)
        names[code] = translation.gettext(common or country.name)
        if common and names[code] == common:  # no translation of the common name
            names[code] = translation.gettext(country.name)
    return names


def has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, table) and bool(scalar(con, f'SELECT count(*) > 0 FROM "{table}"'))


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    L: Labels
    month: date
    origin: date | None  # last history month of the stored forecast
    draws: int | None
    next_year: int | None
    monitored_to: date | None  # the last month misuse monitoring has tested
    # the latest registration, when the report month is partial (its extract does not
    # cover the month to its end): the month is shown to date, out of every comparison
    partial_to: date | None = None

    @property
    def complete_month(self) -> date:
        """The last complete month up to the report month: the month itself, or the one
        before when it is partial."""
        return shift_month(self.month, -1) if self.partial_to else self.month


def shift_month(month: date, by: int) -> date:
    return month_of(month_index(month) + by)


def table_of_year(year: int) -> str:
    """The table that applies to registrations of ``year`` (rule A-2026)."""
    rules = applicable_rules()
    return rules.after_table if year >= rules.new_table_from.value.year else rules.before_table


def dsum(series: pl.Series) -> Decimal:
    """Exact sum of a Decimal column (0 when empty)."""
    total = series.sum()
    return Decimal(0) if total is None else Decimal(total)


def label_of(L: Labels, prefix: str, value: str) -> str:
    """The translation of a stored value (status, group, method), else the value."""
    return L(prefix + value) if prefix + value in TEXT else value


def table_name(name: str) -> str:
    """A table or scenario as the report shows it: a stored difference ``"2026 - 2025"``
    with a minus sign, as the column headings (``2026 − 2025``); a name (``2026``,
    ``degressive_1500``) as it is, in every language."""
    return " − ".join(part.strip() for part in name.split(" - "))


def count_or_small(n: int):
    return SMALL_CELL if 0 < n < THRESHOLD else n
