"""Small-cell rule: no count below 5 is shown, a hidden one cannot be derived, and the
totals still add up."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.disclosure import COMPLEMENTARY, OTHER, SMALL, THRESHOLD, protect_counts


def test_a_small_country_is_pooled_with_the_next_smallest():
    frame = pl.DataFrame(
        {
            "country": ["GEO", "MNG", "PER", "SYR"],
            "persons": [12, 3, 7, 20],
            "amount_cents": [120_000, 30_000, 70_000, 200_000],
        }
    )
    out = protect_counts(frame, "country", "persons", amounts=["amount_cents"])
    rows = {r["country"]: r for r in out.iter_rows(named=True)}
    assert rows["MNG"]["persons"] is None and rows["MNG"]["suppression"] == SMALL
    assert rows["MNG"]["amount_cents"] is None
    # alone, MNG's 3 would be total - shown; PER joins the pool
    assert rows["PER"]["persons"] is None and rows["PER"]["suppression"] == COMPLEMENTARY
    assert rows[OTHER]["persons"] == 10 and rows[OTHER]["amount_cents"] == 100_000
    assert rows["GEO"]["persons"] == 12 and rows["SYR"]["suppression"] is None


def test_a_group_below_the_threshold_hides_its_total():
    frame = pl.DataFrame({"line": ["a", "a", "b"], "country": ["X", "Y", "X"], "n": [1, 2, 9]})
    out = protect_counts(frame, "country", "n", by=["line"])
    a = out.filter(pl.col("line") == "a")
    assert a["total_hidden"].all() and a["n"].null_count() == a.height
    assert out.filter(pl.col("line") == "b")["n"].to_list() == [9]


@pytest.mark.parametrize("bad", [[3, None], [3, -1]])
def test_missing_or_negative_counts_are_refused(bad):
    with pytest.raises(ValueError, match="counts"):
        protect_counts(pl.DataFrame({"c": ["X", "Y"], "n": bad}), "c", "n")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=12), min_size=1, max_size=4))
def test_no_small_count_shows_and_totals_add_up(groups):
    frame = pl.DataFrame(
        {
            "line": [g for g, counts in enumerate(groups) for _ in counts],
            "country": [f"C{i}" for counts in groups for i in range(len(counts))],
            "n": [n for counts in groups for n in counts],
            "eur": [100 * n + 1 for counts in groups for n in counts],
        }
    )
    out = protect_counts(frame, "country", "n", amounts=["eur"], by=["line"])
    for g, counts in enumerate(groups):
        part = out.filter(pl.col("line") == g)
        shown = part.filter(pl.col("n").is_not_null())
        assert (shown["n"] >= THRESHOLD).all()  # countries and the pool alike
        small = [c for c in counts if c < THRESHOLD]
        # hidden only when even every row pooled would narrow a small one down
        big = len(counts) - len(small)
        hopeless = big == 0 or sum(counts) - THRESHOLD * big < THRESHOLD - 1
        assert part["total_hidden"].any() == (bool(small) and hopeless)
        if part["total_hidden"].any():
            assert part["total_hidden"].all() and shown.height == 0
            continue
        assert shown["n"].sum() == sum(counts)  # the shown rows and the pool add up
        assert shown["eur"].sum() == sum(100 * n + 1 for n in counts)
        members = part.filter(pl.col("suppression").is_not_null())
        assert members.height != 1  # a lone hidden value would be the pool's
        assert (members["suppression"] == SMALL).sum() == len(small)
        # small rows never pool alone: the sum would bound each of them
        assert not small or (members["suppression"] == COMPLEMENTARY).any()
        # a reader who knows which hidden rows are small (<5) and which are 5 or more
        # cannot narrow a small one below its full range 0..4
        pool = part.filter(pl.col("country") == OTHER)["n"].item() if small else 0
        complements = (members["suppression"] == COMPLEMENTARY).sum()
        assert not small or pool - THRESHOLD * complements >= THRESHOLD - 1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
        min_size=1,
        max_size=12,
    )
)
def test_several_counts_per_row_none_small_shows(rows):
    # persons, of whom better off, of whom worse off (the two parts never exceed the whole)
    persons = [max(p, b + w) for p, b, w in rows]
    frame = pl.DataFrame(
        {
            "country": [f"C{i}" for i in range(len(rows))],
            "persons": persons,
            "better": [b for _, b, _ in rows],
            "worse": [w for _, _, w in rows],
        }
    )
    out = protect_counts(frame, "country", ["persons", "better", "worse"])
    if out["total_hidden"].any():
        return
    for column, values in (
        ("persons", persons),
        ("better", frame["better"].to_list()),
        ("worse", frame["worse"].to_list()),
    ):
        shown = out[column].drop_nulls()
        assert ((shown == 0) | (shown >= THRESHOLD)).all()
        assert shown.sum() == sum(values)
    assert out.filter(pl.col("suppression").is_not_null()).height != 1


def test_two_small_rows_never_pool_alone():
    # 4 and 4 pooled alone would show 8: both could only be 4
    frame = pl.DataFrame({"country": ["A", "B", "C"], "n": [4, 4, 20]})
    rows = {r["country"]: r for r in protect_counts(frame, "country", "n").iter_rows(named=True)}
    assert rows["C"]["suppression"] == COMPLEMENTARY and rows[OTHER]["n"] == 28
    only_small = protect_counts(frame.head(2), "country", "n")
    assert only_small["total_hidden"].all() and only_small["n"].null_count() == 3


def test_a_pool_does_not_pin_a_small_row_next_to_a_complement():
    # 1 and 5 pooled as 6: the 5 is at least 5, so the 1 would be 1
    frame = pl.DataFrame({"country": ["A", "B", "C"], "n": [1, 5, 30]})
    rows = {r["country"]: r for r in protect_counts(frame, "country", "n").iter_rows(named=True)}
    assert rows["C"]["suppression"] == COMPLEMENTARY and rows[OTHER]["n"] == 36


def test_a_small_part_hides_its_row():
    frame = pl.DataFrame(
        {"country": ["A", "B", "C"], "persons": [40, 30, 25], "better": [2, 0, 10]}
    )
    out = protect_counts(frame, "country", ["persons", "better"])
    rows = {r["country"]: r for r in out.iter_rows(named=True)}
    assert rows["A"]["suppression"] == SMALL and rows["A"]["better"] is None
    # the pool takes the smallest other row, C; B's zero better off is shown
    assert rows["C"]["suppression"] == COMPLEMENTARY and rows["B"]["better"] == 0
    assert (rows[OTHER]["persons"], rows[OTHER]["better"]) == (65, 12)
