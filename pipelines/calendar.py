"""Belgian working days, for the schedule of the monthly report (no Dagster here).

Public holidays (federal): New Year, Easter Monday, Labour Day, Ascension, Whit Monday,
the National Day (21 July), Assumption (15 August), All Saints (1 November), Armistice
(11 November) and Christmas.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm, 'Meeus/Jones/Butcher')."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@cache
def public_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [easter + timedelta(days=n) for n in (1, 39, 50)]
    return frozenset([date(year, m, d) for m, d in fixed] + moving)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def first_working_day(year: int, month: int) -> date:
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def parse_month(text: str) -> date:
    """``YYYY-MM`` as the first day of that month; ValueError saying what is expected."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"month must look like 2026-05, not {text!r}") from None


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
