"""The engine evaluates each distinct (profile, date facts) once and gathers the result.

These tests aim at that shortcut: dossiers get *twins* — the same persons with their
dates shifted, often across a rule boundary (the new table, the degressive dates,
the refusal grace, the five-year window) — so that many persons share a profile
while their dates differ. If anything a table reads were missing from the
evaluation key, twins would be given each other's amounts and the reference would
disagree; and evaluating without the shortcut must give the same frame.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rules import engine
from tests.factories import household, typed_row
from tests.rules.test_cases import engine_rows, persons_frame, reference_rows, table_for
from tests.rules.test_engine_matches_reference import _differences, dossier

SHIFTS = st.sampled_from([-400, -90, -61, -60, -59, -1, 1, 30, 59, 60, 61, 365, 1827])
DATE_FIELDS = (
    "registration_date",
    "departure_date",
    "decision_notified_on",
    "previous_return_support_date",
)


def shifted(row: dict, days: int, fields: tuple[str, ...], suffix: str) -> dict | None:
    """The row with new ids and the ``fields`` moved by ``days``; None if that breaks
    the contract (e.g. a notification after the registration)."""
    twin = {**row, "dossier_id": row["dossier_id"] + suffix}
    twin["person_id"] = row["person_id"] + suffix
    if row["annex_parent_id"]:
        twin["annex_parent_id"] = row["annex_parent_id"] + suffix
    for field in fields:
        if twin[field] is not None:
            twin[field] = twin[field] + timedelta(days=days)
    try:
        return typed_row(twin)
    except ValidationError:
        return None


@st.composite
def population_with_twins(draw) -> list[dict]:
    """Up to 6 dossiers, each with up to 3 twins whose dates are shifted."""
    rows = []
    for n in range(draw(st.integers(1, 6))):
        original = dossier(draw, n)
        rows += original
        for t in range(draw(st.integers(1, 3))):
            days = draw(SHIFTS)
            fields = draw(st.sets(st.sampled_from(DATE_FIELDS), min_size=1))
            twin = [shifted(r, days, tuple(sorted(fields)), f"~{t}") for r in original]
            if None not in twin:
                rows += twin
    return rows


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(persons=population_with_twins())
def test_twins_get_what_the_reference_gives_them(persons):
    for key in ("2025", "2026", "degressive_1500"):
        ref = reference_rows(persons, key)
        eng = engine_rows(persons, key)
        for i, (r, e) in enumerate(zip(ref, eng, strict=True)):
            diff = _differences(r, e)
            assert not diff, f"table {key}, row {i} ({r['dossier_id']}/{r['person_id']}): {diff}"


@SETTINGS
@given(persons=population_with_twins())
def test_the_shortcut_changes_nothing(persons):
    prepared = engine.prepare(persons_frame(persons))
    assert prepared.profiles.height <= len(persons)
    for key in ("2025", "2026"):
        shortcut = engine.evaluate_cents(prepared, table_for(key), deduplicate=True)
        every_row = engine.evaluate_cents(prepared, table_for(key), deduplicate=False)
        assert shortcut.equals(every_row)


def test_persons_differing_only_in_dates_share_a_profile():
    rows = _household()
    twins = [shifted(r, 400, DATE_FIELDS, "~1") for r in rows]
    prepared = engine.prepare(persons_frame(rows + twins))
    profile = prepared.rows["_profile"].to_list()
    assert profile[: len(rows)] == profile[len(rows) :]
    assert prepared.profiles.height == len(set(profile))


def _household() -> list[dict]:
    """The factory household (principal, partner, annex child), typed."""
    return [typed_row(row) for row in household()]


def test_keys_outside_the_dense_range_give_the_same_result(monkeypatch):
    persons = persons_frame(_household())
    prepared = engine.prepare(persons)
    expected = engine.evaluate_cents(prepared, table_for("2026"))
    monkeypatch.setattr(engine, "_DENSE_KEYS_LIMIT", 0)
    assert engine.evaluate_cents(prepared, table_for("2026")).equals(expected)


def test_amaar_beyond_the_int32_range_is_kept_exactly():
    persons = persons_frame(_household())
    big = persons.with_columns(
        pl.lit(30_000_000).cast(pl.Decimal(14, 2)).alias("amaar_estimated_cost_eur")
    )
    out = engine.evaluate_cents(engine.prepare(big), table_for("2026"))
    # AMAAR and the total are Int64: 30 M EUR is kept exactly, not wrapped.
    assert out["amaar"].max() == 3_000_000_000


def test_a_large_population_of_distinct_persons_is_evaluated_row_by_row(monkeypatch):
    rows = [
        shifted(r, 0, (), f"~{n}") | {"amaar_estimated_cost_eur": n + 1}
        for n in range(4)
        for r in _household()
    ]
    prepared = engine.prepare(persons_frame(rows))
    assert engine._worth_deduplicating(prepared)  # small: always the shortcut
    monkeypatch.setattr(engine, "_LARGE_POPULATION", 1)
    assert not engine._worth_deduplicating(prepared)
    row_by_row = engine.evaluate_cents(prepared, table_for("2026"))
    assert row_by_row.equals(engine.evaluate_cents(prepared, table_for("2026"), deduplicate=True))
