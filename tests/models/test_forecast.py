"""forecast_counts: calibrated on series with known parameters; clear input errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.forecast import (
    forecast_counts,
    mase_scale,
    month_of,
    seasonal_naive,
    simple_exponential_smoothing,
    summarise_draws,
)


def negbin_series(rng, months: int, level: float, alpha: float, amplitude: float) -> np.ndarray:
    m = np.arange(months)
    mu = level * np.exp(amplitude * np.sin(2 * np.pi * m / 12 + rng.uniform(0, 6)))
    return rng.poisson(rng.gamma(1 / alpha, mu * alpha))


def history(counts, first=date(2015, 1, 1)) -> pl.DataFrame:
    start = first.year * 12 + first.month - 1
    return pl.DataFrame(
        {"month": [month_of(start + i) for i in range(len(counts))], "count": counts}
    )


def test_intervals_are_calibrated_over_many_origins():
    """Simulated negative-binomial series with known level, seasonality, dispersion:
    over 30 series × 5 origins × 12 months, the 80 % and 95 % intervals hold about
    80 % and 95 % of what followed (discrete counts: a little more is expected)."""
    rng = np.random.default_rng(20261122)
    inside = {80: [], 95: []}
    for series in range(30):
        counts = negbin_series(
            rng, 120, level=rng.uniform(0.5, 40), alpha=rng.uniform(0.05, 0.5), amplitude=0.4
        )
        for origin in range(48, 108, 12):
            f = forecast_counts(history(counts[:origin]), 12, draws=1000, seed=series)
            actual = counts[origin : origin + 12]
            for level in inside:
                lo, hi = f[f"lo{level}"].to_numpy(), f[f"hi{level}"].to_numpy()
                inside[level].extend(((actual >= lo) & (actual <= hi)).tolist())
    assert 0.75 <= np.mean(inside[80]) <= 0.88, np.mean(inside[80])
    assert 0.92 <= np.mean(inside[95]) <= 0.99, np.mean(inside[95])


def test_mean_is_unbiased_for_a_known_level():
    """30 flat series at 50 a month: forecast means average within 4 % of 50."""
    relative = []
    for seed in range(30):
        counts = negbin_series(np.random.default_rng(seed), 96, level=50, alpha=0.05, amplitude=0)
        f = forecast_counts(history(counts), 6)
        relative.append(f["mean"].mean() / 50 - 1)
    assert abs(np.mean(relative)) < 0.04, np.mean(relative)
    assert np.max(np.abs(relative)) < 0.3
    assert f.columns == ["month", "mean", "lo80", "hi80", "lo95", "hi95"]
    assert f["month"].to_list()[0] == date(2023, 1, 1)
    assert (f["lo95"] <= f["lo80"]).all() and (f["hi80"] <= f["hi95"]).all()


def test_other_levels_and_a_short_history():
    f = forecast_counts(history([3, 0, 1, 2, 5, 0, 1]), 3, levels=(50, 90))
    assert f.columns == ["month", "mean", "lo50", "hi50", "lo90", "hi90"]
    assert f.height == 3


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"month": [date(2020, 1, 1)]}), "missing \\['count'\\]"),
        (pl.DataFrame({"month": ["2020-01"], "count": [1]}), "must be a date"),
        (pl.DataFrame({"month": [date(2020, 1, 15)], "count": [1]}), "not the first of a month"),
        (
            pl.DataFrame({"month": [date(2020, 1, 1), date(2020, 3, 1)], "count": [1, 2]}),
            "skips from 2020-01-01 to 2020-03-01",
        ),
        (pl.DataFrame({"month": [date(2020, 1, 1)], "count": [-1]}), "at least 0"),
        (pl.DataFrame({"month": [date(2020, 1, 1)], "count": [1.5]}), "whole numbers"),
        (
            pl.DataFrame({"month": [], "count": []}, schema={"month": pl.Date, "count": pl.Int64}),
            "empty",
        ),
    ],
)
def test_bad_history_is_named(frame, message):
    with pytest.raises(ValueError, match=message):
        forecast_counts(frame, 3)


def test_bad_horizon_and_levels():
    with pytest.raises(ValueError, match="horizon"):
        forecast_counts(history([1, 2, 3]), 0)
    with pytest.raises(ValueError, match="between 0 and 100"):
        forecast_counts(history([1, 2, 3]), 2, levels=(80, 100))


def test_baselines():
    counts = np.arange(24, dtype=float)
    assert seasonal_naive(counts, 14).tolist() == [*range(12, 24), 12, 13]
    assert seasonal_naive(np.array([4.0, 7.0]), 2).tolist() == [7.0, 7.0]
    flat = simple_exponential_smoothing(np.full(10, 5.0), 3)
    assert flat.tolist() == [5.0, 5.0, 5.0]
    assert mase_scale(counts) == 12.0


@given(
    st.integers(1, 400),
    st.sampled_from([50, 80, 90, 95, 99]),
    st.integers(0, 2**31),
)
@settings(max_examples=60, deadline=None)
def test_summarise_draws_is_numpys_inverted_cdf_quantile(n, level, seed):
    draws = np.random.default_rng(seed).integers(-50, 50, (n, 3, 2))
    bounds = summarise_draws(draws, (level,))
    tail = (100 - level) / 200
    for name, share in ((f"lo{level}", tail), (f"hi{level}", 1 - tail)):
        expected = np.quantile(draws, share, axis=0, method="inverted_cdf")
        assert np.array_equal(bounds[name], expected)
        assert bounds[name].dtype == draws.dtype
