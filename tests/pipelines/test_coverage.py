"""Complete and partial months: what every default month and refusal is read from."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelines.coverage import Coverage

days = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))


def test_a_month_is_complete_when_its_last_week_is_covered():
    assert not Coverage(date(2026, 8, 3), date(2026, 10, 30)).latest_is_partial
    assert Coverage(date(2026, 8, 3), date(2026, 10, 24)).latest_is_partial
    assert Coverage(date(2026, 8, 3), date(2026, 10, 25)).last_complete == date(2026, 10, 1)
    assert Coverage(date(2026, 8, 3), date(2026, 11, 18)).last_complete == date(2026, 10, 1)


def test_a_single_partial_month_has_no_complete_month():
    covered = Coverage(date(2026, 11, 2), date(2026, 11, 18))
    assert covered.last_complete is None
    assert covered.describe() == (
        "registrations from 2026-11-02 to 2026-11-18 (2026-11 partial; no complete month yet)"
    )
    assert covered.month_problem(date(2026, 11, 1)) is None
    assert "is not complete yet" in covered.month_problem(date(2026, 11, 1), complete=True)
    assert "no data for 2026-10" in covered.month_problem(date(2026, 10, 1))


@given(days, st.integers(0, 2000), days)
def test_ranges_are_never_inverted_and_refusals_name_them(first, length, asked):
    covered = Coverage(first, first + timedelta(days=length))
    mentioned = re.findall(r"\d{4}-\d{2}-\d{2}", covered.describe())
    assert mentioned == sorted(mentioned)
    complete = covered.last_complete
    assert complete is None or covered.first_month <= complete <= covered.latest_month
    problem = covered.month_problem(asked)
    inside = covered.first_month <= asked.replace(day=1) <= covered.latest_month
    assert (problem is None) == inside
    if problem:
        assert covered.describe() in problem
