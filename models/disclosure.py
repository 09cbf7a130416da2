"""Statistical disclosure control for distributed reports: no per-country count below
``THRESHOLD`` appears, and the totals still add up.

Per group (for example: one budget line, one month), every row whose count is below
the threshold is *suppressed* (its count and the amounts that go with it are hidden;
a report shows ``<5``). The suppressed rows are pooled into one row ``OTHER`` whose
count and amounts are their sums, so the shown rows plus ``OTHER`` equal the group's
total. The pool always takes in the smallest shown row as well (*complementary*
suppression), and more until no hidden count can be narrowed down: a pool of small
rows alone would bound each of them (two rows below 5 summing to 8 are 4 and 4), a
single member would be the pool, and a small row pooled with rows of at least 5 must
still be anywhere from 0 to 4 given the pool's sum (1 and 5 pooled as 6 would not).
When the group has no row to complement with, the pool is the whole group and its
total must not be shown (``total_hidden``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

THRESHOLD = 5
OTHER = "other countries"
SMALL = "small"  # below the threshold: shown as "<5"
COMPLEMENTARY = "complementary"  # hidden so that a small one cannot be derived


def _is_small(counts: tuple[int, ...], threshold: int) -> bool:
    primary, *others = counts
    return primary < threshold or any(0 < c < threshold for c in others)


def _discloses(pool: list[int], rows: list[tuple[int, ...]], threshold: int) -> bool:
    """Whether a reader could narrow a hidden count down from the pool's sums.

    A reader sees which hidden rows are small (``<5``: 0 to threshold - 1) and which are
    not (so at least the threshold). A small row's count is then at most the pool's sum
    minus the threshold for every other row that is not small; that bound must leave it
    anywhere in 0 .. threshold - 1. The other counts of a hidden row are never marked, so
    their pool sums only need to be 0 or at least the threshold."""
    if len(pool) < 2:
        return True
    sums = [sum(rows[i][k] for i in pool) for k in range(len(rows[0]))]
    big = sum(rows[i][0] >= threshold for i in pool)
    if big < len(pool) and sums[0] - threshold * big < threshold - 1:
        return True
    return sums[0] < threshold or any(0 < s < threshold for s in sums[1:])


def _pool(rows: list[tuple[int, ...]], threshold: int) -> tuple[list[int], bool]:
    """Positions (into ``rows``) that go into the pool, and whether the pool still
    discloses something with every row it could take (then the group's total is hidden)."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i], i))
    pool = [i for i in order if _is_small(rows[i], threshold)]
    if not pool:
        return pool, False
    rest = [i for i in order if not _is_small(rows[i], threshold)]
    complemented = False
    while rest and (not complemented or _discloses(pool, rows, threshold)):
        pool.append(rest.pop(0))
        complemented = True
    return pool, not complemented or _discloses(pool, rows, threshold)


def protect_counts(
    frame: pl.DataFrame,
    key: str,
    count: str | Sequence[str],
    amounts: Sequence[str] = (),
    by: Sequence[str] = (),
    threshold: int = THRESHOLD,
) -> pl.DataFrame:
    """``frame`` with one row per ``key`` (e.g. country) within each ``by`` group;
    returns its rows with ``count`` and ``amounts`` set to null where suppressed, a
    column ``suppression`` (null, ``SMALL`` or ``COMPLEMENTARY``), one ``OTHER`` row per
    group that had suppressions, and ``total_hidden`` (true for every row of a group
    whose total is itself below the threshold). ``count`` may name several count
    columns; the first orders the pooling."""
    counts = [count] if isinstance(count, str) else list(count)
    for column in counts:
        if frame[column].null_count():
            raise ValueError(f"column {column!r} has missing counts: cannot protect them")
        if (frame[column] < 0).any():
            raise ValueError(f"column {column!r} has negative counts")
    hidden_columns = (*counts, *amounts)
    groups = frame.partition_by(list(by), maintain_order=True) if by else [frame]
    out: list[pl.DataFrame] = []
    for group in groups:
        rows = list(group.select(pl.col(counts).cast(pl.Int64)).iter_rows())
        pooled, total_hidden = _pool(rows, threshold)
        suppression: list[str | None] = [None] * len(rows)
        for i in pooled:
            suppression[i] = SMALL if _is_small(rows[i], threshold) else COMPLEMENTARY
        hidden = pl.Series("suppression", suppression, dtype=pl.String)
        shown = group.with_columns(hidden, pl.lit(total_hidden).alias("total_hidden"))
        shown = shown.with_columns(
            [
                pl.when(pl.col("suppression").is_null()).then(pl.col(c)).otherwise(None).alias(c)
                for c in hidden_columns
            ]
        )
        out.append(shown)
        if pooled:
            members = group[pooled]
            other = {c: [None if total_hidden else members[c].sum()] for c in hidden_columns}
            row = pl.DataFrame(
                {
                    **{c: [group[c][0]] for c in by},
                    key: [OTHER],
                    **other,
                    "suppression": [None],
                    "total_hidden": [total_hidden],
                }
            )
            out.append(row)
    return pl.concat(out, how="diagonal_relaxed")
