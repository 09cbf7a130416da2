"""From tests to alarms: Benjamini-Hochberg across every country and indicator of a
month, a minimum count, and the upper bound.

An indicator value becomes an alarm when
- at least ``MIN_COUNT`` dossiers are behind its count (column ``dossiers``: fewer are
  not a pattern - one family of seven is one decision - and would point at a handful
  of people);
- it is above its expectation (score > 0; the upper bound is the single-test limit,
  shown for reading - the decision is the q-value's);
- its q-value (Benjamini-Hochberg over all tests of the same month with at least
  ``MIN_COUNT``) is at most ``FDR``: of the alarms raised in a month, at most about 5 %
  are expected to be chance.
Values below the minimum count cannot alarm and so do not enter the family.
"""

from __future__ import annotations

import numpy as np
import polars as pl

FDR = 0.05
MIN_COUNT = 5


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Adjusted p-values (q-values) of the step-up procedure; NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def decide_alarms(
    tests: pl.DataFrame, fdr: float = FDR, min_count: int = MIN_COUNT
) -> pl.DataFrame:
    """Add ``q_value`` and ``alarm`` to rows with ``month``, ``dossiers``, ``score``
    and ``p_value`` (NaN or null: untested)."""
    in_family = (
        pl.col("p_value").is_not_null()
        & pl.col("p_value").is_not_nan()
        & (pl.col("dossiers") >= min_count)
    )
    frame = tests.with_row_index("_row").with_columns(in_family.alias("_family"))
    family = frame.filter(pl.col("_family"))
    q = np.full(family.height, np.nan)
    months = family["month"].to_numpy()
    p = family["p_value"].to_numpy()
    for month in np.unique(months):
        rows = months == month
        q[rows] = benjamini_hochberg(p[rows])
    qs = pl.DataFrame({"_row": family["_row"], "q_value": q})
    return (
        frame.join(qs, on="_row", how="left")
        .with_columns(
            (pl.col("_family") & (pl.col("q_value") <= fdr) & (pl.col("score") > 0.0))
            .fill_null(False)
            .alias("alarm")
        )
        .sort("_row")
        .drop("_row", "_family")
    )
