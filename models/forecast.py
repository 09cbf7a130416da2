"""Monthly count forecasts with intervals, and the baselines they must beat.

``forecast_counts`` works on any monthly series (a country's registrations, a
region's, a simulated one): a negative-binomial GLM with a level, a shrunk trend and
month-of-year seasonality, recent months weighted more; the intervals are quantiles
of simulated future counts (coefficient and count uncertainty). The baselines are
the seasonal naive forecast (same month last year) and simple exponential smoothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from models.negbin import NegBinFit, fit_negbin, negbin_counts

DEFAULT_LEVELS = (80, 95)


@dataclass(frozen=True)
class SeriesSettings:
    """Choices of the single-series model (the backtest judges them).

    ``half_life_months``: an observation this old counts half as much as the latest;
    ``trend_prior_sd``: prior standard deviation of the log-trend per year;
    ``season_prior_sd``: prior standard deviation of a month-of-year effect;
    ``min_months_for_season``: shorter histories get no seasonality.
    """

    half_life_months: float = 36.0
    trend_prior_sd: float = 0.3
    season_prior_sd: float = 0.5
    min_months_for_season: int = 24


def month_index(value: date) -> int:
    return value.year * 12 + value.month - 1


def month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def interval_columns(levels: Sequence[int]) -> list[str]:
    return [name for level in levels for name in (f"lo{level}", f"hi{level}")]


def check_levels(levels: Sequence[int]) -> tuple[int, ...]:
    levels = tuple(int(level) for level in levels)
    for level in levels:
        if not 0 < level < 100:
            raise ValueError(f"interval level {level} must lie strictly between 0 and 100")
    return levels


def interval_ranks(n: int, levels: Sequence[int]) -> dict[str, int]:
    """Per bound (``lo80``, ``hi80``, …): its rank among ``n`` sorted draws (the inverted
    CDF: the smallest draw with at least that share of draws at or below it)."""
    ranks = {}
    for level in levels:
        tail = (100 - level) / 200
        for name, share in ((f"lo{level}", tail), (f"hi{level}", 1 - tail)):
            ranks[name] = min(max(int(np.ceil(share * n - 1e-9)) - 1, 0), n - 1)
    return ranks


def summarise_draws(draws: np.ndarray, levels: Sequence[int]) -> dict[str, np.ndarray]:
    """Quantile intervals over axis 0 (the draws); each bound is one of the draws (the
    inverted CDF: the smallest draw with at least that share of draws at or below it),
    so integer draws keep their dtype. One sort along a contiguous axis serves every
    bound (``np.quantile`` partitions once per bound, across a strided axis)."""
    draws = np.asarray(draws)
    ordered = np.sort(np.moveaxis(draws, 0, -1), axis=-1)
    # not views: the sort is freed
    return {
        name: ordered[..., rank].copy()
        for name, rank in interval_ranks(draws.shape[0], levels).items()
    }


def check_history(history: pl.DataFrame) -> tuple[int, np.ndarray]:
    """The first month's index and the counts; a clear error for anything else."""
    missing = {"month", "count"} - set(history.columns)
    if missing:
        raise ValueError(f"history needs columns month and count; missing {sorted(missing)}")
    if history.height == 0:
        raise ValueError("history is empty: nothing to forecast from")
    months = history["month"]
    if months.dtype != pl.Date:
        raise ValueError(f"history month must be a date (first of month), not {months.dtype}")
    if months.null_count() or history["count"].null_count():
        raise ValueError("history has missing months or counts")
    not_first = history.filter(pl.col("month").dt.day() != 1)
    if not_first.height:
        raise ValueError(f"month {not_first['month'][0]} is not the first of a month")
    ordered = history.sort("month")
    index = np.array([month_index(m) for m in ordered["month"].to_list()])
    if len(np.unique(index)) != len(index):
        raise ValueError("history has a month twice")
    gaps = np.flatnonzero(np.diff(index) != 1)
    if len(gaps):
        raise ValueError(
            f"history skips from {month_of(index[gaps[0]])} to {month_of(index[gaps[0] + 1])}"
            " (give months without registrations a count of 0)"
        )
    counts = ordered["count"].cast(pl.Float64).to_numpy()
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("counts must be whole numbers of at least 0")
    return int(index[0]), counts


def series_design(months: np.ndarray, origin: int, seasonal: bool) -> np.ndarray:
    """Columns: intercept, trend (years after ``origin``), 11 month-of-year effects."""
    columns = [np.ones(len(months)), (months - origin) / 12.0]
    if seasonal:
        columns += [(months % 12 == m).astype(float) for m in range(1, 12)]
    return np.column_stack(columns)


def fit_series(
    counts: np.ndarray, first: int, settings: SeriesSettings = SeriesSettings()
) -> tuple[NegBinFit, int, bool]:
    months = np.arange(first, first + len(counts))
    origin = int(months[-1])
    seasonal = len(counts) >= settings.min_months_for_season
    design = series_design(months, origin, seasonal)
    penalty = np.zeros(design.shape[1])
    penalty[1] = 1 / settings.trend_prior_sd**2
    penalty[2:] = 1 / settings.season_prior_sd**2
    age = origin - months
    weights = 0.5 ** (age / settings.half_life_months)
    return fit_negbin(design, counts, penalty=penalty, weights=weights), origin, seasonal


def forecast_counts(
    history: pl.DataFrame,
    horizon: int,
    levels: Sequence[int] = DEFAULT_LEVELS,
    *,
    draws: int = 4000,
    seed: int = 0,
    settings: SeriesSettings = SeriesSettings(),
) -> pl.DataFrame:
    """Forecast a monthly count series ``horizon`` months past its last month.

    ``history``: polars frame with ``month`` (date, first of month, consecutive) and
    ``count`` (whole numbers >= 0). Returns ``month, mean, lo80, hi80, lo95, hi95``
    (one pair of bounds per level): the expected count and central intervals of the
    future count, from ``draws`` simulated paths.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 month")
    levels = check_levels(levels)
    first, counts = check_history(history)
    fit, origin, seasonal = fit_series(counts, first, settings)
    future = np.arange(origin + 1, origin + 1 + horizon)
    rng = np.random.default_rng(seed)
    means = fit.draw_means(series_design(future, origin, seasonal), draws, rng)
    paths = negbin_counts(means, fit.alpha, rng)
    bounds = summarise_draws(paths, levels)
    return pl.DataFrame(
        {
            "month": [month_of(int(m)) for m in future],
            "mean": means.mean(axis=0),
            **{name: bounds[name].astype(np.int64) for name in interval_columns(levels)},
        }
    )


def seasonal_naive(counts: np.ndarray, horizon: int) -> np.ndarray:
    """Same month last year (the last 12 months repeated); fewer than 12: the last."""
    if len(counts) >= 12:
        return np.array([counts[len(counts) - 12 + (h % 12)] for h in range(horizon)], float)
    return np.full(horizon, float(counts[-1]))


def simple_exponential_smoothing(counts: np.ndarray, horizon: int) -> np.ndarray:
    """Flat forecast at the smoothed level; the smoothing weight minimises the
    one-step squared errors over a grid (0.05 … 0.95)."""
    best_level, best_sse = float(counts[0]), np.inf
    for weight in np.linspace(0.05, 0.95, 19):
        level, sse = float(counts[0]), 0.0
        for value in counts[1:]:
            sse += (value - level) ** 2
            level += weight * (value - level)
        if sse < best_sse:
            best_level, best_sse = level, sse
    return np.full(horizon, best_level)


def mase_scale(counts: np.ndarray) -> float:
    """Mean absolute seasonal (lag 12) difference in the history: the MASE denominator."""
    lag = 12 if len(counts) > 12 else 1
    diffs = np.abs(counts[lag:] - counts[:-lag])
    return float(diffs.mean()) if len(diffs) else float("nan")
