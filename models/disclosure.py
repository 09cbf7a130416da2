"""Statistical disclosure control for distributed reports: no per-country count below
``THRESHOLD`` appears, and the totals still add up.

Per group (for example: one budget line, one month), every row whose count is below
the threshold is *suppressed* (its count and the amounts that go with it are hidden;
a report shows ``<5``). The suppressed rows are pooled into one row ``OTHER`` whose
count and amounts are their sums, so the shown rows plus ``OTHER`` equal the group's
total. A pool that would disclose something - a single member (its value is the pool's)
or a sum below the threshold - takes in the smallest shown rows as well
(*complementary* suppression) until it has at least two members and a sum at or above
the threshold. Only when the whole group is below the threshold is ``OTHER`` itself
hidden, and then the group's total must not be shown either (``total_hidden``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

THRESHOLD = 5
OTHER = "other countries"
SMALL = "small"  # below the threshold: shown as "<5"
COMPLEMENTARY = "complementary"  # hidden so that a small one cannot be derived


def _pool(counts: list[int], threshold: int) -> list[int]:
    """Positions (into ``counts``) that go into the pool."""
    order = sorted(range(len(counts)), key=lambda i: (counts[i], i))
    pool = [i for i in order if counts[i] < threshold]
    if not pool:
        return pool
    rest = [i for i in order if counts[i] >= threshold]
    while rest and (len(pool) < 2 or sum(counts[i] for i in pool) < threshold):
        pool.append(rest.pop(0))
    return pool


def protect_counts(
    frame: pl.DataFrame,
    key: str,
    count: str,
    amounts: Sequence[str] = (),
    by: Sequence[str] = (),
    threshold: int = THRESHOLD,
) -> pl.DataFrame:
    """``frame`` with one row per ``key`` (e.g. country) within each ``by`` group;
    returns its rows with ``count`` and ``amounts`` set to null where suppressed, a
    column ``suppression`` (null, ``SMALL`` or ``COMPLEMENTARY``), one ``OTHER`` row per
    group that had suppressions, and ``total_hidden`` (true for every row of a group
    whose total is itself below the threshold)."""
    if frame[count].null_count():
        raise ValueError(f"column {count!r} has missing counts: cannot protect them")
    if (frame[count] < 0).any():
        raise ValueError(f"column {count!r} has negative counts")
    groups = frame.partition_by(list(by), maintain_order=True) if by else [frame]
    out: list[pl.DataFrame] = []
    for group in groups:
        counts = group[count].cast(pl.Int64).to_list()
        pooled = _pool(counts, threshold)
        suppression: list[str | None] = [None] * len(counts)
        for i in pooled:
            suppression[i] = SMALL if counts[i] < threshold else COMPLEMENTARY
        hidden = pl.Series("suppression", suppression, dtype=pl.String)
        total_hidden = sum(counts) < threshold
        shown = group.with_columns(hidden, pl.lit(total_hidden).alias("total_hidden"))
        shown = shown.with_columns(
            [
                pl.when(pl.col("suppression").is_null()).then(pl.col(c)).otherwise(None).alias(c)
                for c in (count, *amounts)
            ]
        )
        out.append(shown)
        if pooled:
            members = group[pooled]
            other = {c: [None if total_hidden else members[c].sum()] for c in (count, *amounts)}
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
