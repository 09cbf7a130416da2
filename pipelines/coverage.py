"""Which months the warehouse's registrations cover, and which of them are complete.

An extract is delivered during or after the month it covers. A month is *complete*
when the latest registration in the warehouse falls in its last week or later; the
month of the latest registration is otherwise *partial* (shown "to date" and left out
of comparisons with full-month figures). Every verb and report section that picks a
default month, or refuses one, reads it from here, so their messages agree and never
print an inverted range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from models.forecast import month_index, month_of
from pipelines.calendar import previous_month
from pipelines.warehouse import fetch_one

COMPLETE_WITHIN_DAYS = 7  # a registration this close to the month's end completes it


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return month_of(month_index(day) + 1)


@dataclass(frozen=True)
class Coverage:
    """The registrations in the warehouse: first and latest date, and the complete months."""

    first: date  # the earliest registration date
    latest: date  # the latest registration date

    @property
    def first_month(self) -> date:
        return month_start(self.first)

    @property
    def latest_month(self) -> date:
        """The latest month with data (complete or partial)."""
        return month_start(self.latest)

    @property
    def latest_is_partial(self) -> bool:
        return (next_month(self.latest_month) - self.latest).days > COMPLETE_WITHIN_DAYS

    @property
    def last_complete(self) -> date | None:
        """The latest complete month, None when the data do not cover one yet."""
        if not self.latest_is_partial:
            return self.latest_month
        before = previous_month(self.latest_month)
        return before if before >= self.first_month else None

    def is_partial(self, month: date) -> bool:
        return month_start(month) == self.latest_month and self.latest_is_partial

    def describe(self) -> str:
        """The range in words, e.g. ``from 2026-11-02 to 2026-11-18 (2026-11 partial)``."""
        text = f"registrations from {self.first:%Y-%m-%d} to {self.latest:%Y-%m-%d}"
        if self.latest_is_partial:
            text += f" ({self.latest_month:%Y-%m} partial"
            text += (
                f"; complete months to {self.last_complete:%Y-%m})"
                if self.last_complete
                else "; no complete month yet)"
            )
        return text

    def month_problem(self, month: date, *, complete: bool = False) -> str | None:
        """Why ``month`` cannot be reported on (None when it can); ``complete`` asks for
        a complete month."""
        month = month_start(month)
        if not self.first_month <= month <= self.latest_month:
            return f"no data for {month:%Y-%m}: the warehouse holds {self.describe()}"
        if complete and self.is_partial(month):
            return (
                f"{month:%Y-%m} is not complete yet (registrations to {self.latest:%Y-%m-%d}); "
                f"the warehouse holds {self.describe()}"
            )
        return None


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage | None:
    """The warehouse's registration coverage; None when it holds no dossier."""
    first, latest = fetch_one(
        con, "SELECT min(registration_date), max(registration_date) FROM dossier_persons"
    )
    if first is None:
        return None
    return Coverage(first, latest)


def registrations_in(con: duckdb.DuckDBPyConnection, month: date) -> int:
    """Registering persons of ``month`` (a month inside the range may still have none)."""
    start = month_start(month)
    return fetch_one(
        con,
        "SELECT count(*) FROM dossier_persons WHERE registration_date >= ? "
        "AND registration_date < ?",
        [start, next_month(start)],
    )[0]
