"""The volume / mix / price bridge adds up and puts each change where it belongs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.bridge import YearCost, bridge


def test_more_dossiers_alike_is_all_volume():
    b = bridge(YearCost(100_000, 10), YearCost(150_000, 15), 150_000)
    assert (b.volume_cents, b.mix_cents, b.price_cents) == (50_000, 0, 0)


def test_same_dossiers_dearer_table_is_all_price():
    b = bridge(YearCost(100_000, 10), YearCost(130_000, 10), 100_000)
    assert (b.volume_cents, b.mix_cents, b.price_cents) == (0, 0, 30_000)


def test_same_count_dearer_households_is_mix():
    b = bridge(YearCost(100_000, 10), YearCost(120_000, 10), 120_000)
    assert (b.volume_cents, b.mix_cents, b.price_cents) == (0, 20_000, 0)


def test_no_dossiers_this_year_puts_next_year_in_volume_and_price():
    b = bridge(YearCost(0, 0), YearCost(80_000, 4), 60_000)
    assert (b.volume_cents, b.mix_cents, b.price_cents) == (60_000, 0, 20_000)


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        bridge(YearCost(0, -1), YearCost(0, 0), 0)


@given(
    st.integers(0, 10**12),
    st.floats(0, 1e6),
    st.integers(0, 10**12),
    st.floats(0, 1e6),
    st.integers(0, 10**12),
)
def test_the_steps_add_up_to_the_cent(c0, n0, c1, n1, c1_old):
    b = bridge(YearCost(c0, n0), YearCost(c1, n1), c1_old)
    assert b.volume_cents + b.mix_cents + b.price_cents == c1 - c0
    steps = b.steps()
    assert steps[0][1] + sum(v for _, v in steps[1:-1]) == steps[-1][1]
