"""Monthly count forecasts with intervals, and the baselines they must beat.

``forecast_counts`` works on any monthly series (a country's registrations, a
region's, a simulated one). Its point forecast is an equal-weight combination (the
geometric mean) of three forecasts of the expected count, as in the M3/M4
competitions, where a combination of unlike methods beat each of them:

- a negative-binomial GLM with a local level (a random walk with heavy-tailed steps,
  so a lasting shift is taken up at once), a shrunk trend and month-of-year
  seasonality; the walk's step size and the trend's prior are chosen by marginal
  likelihood;
- additive Holt-Winters with a damped trend on ``log(count + 1)`` (its seasonal
  pattern evolves; smoothing weights chosen by the in-sample one-step error);
- the Theta method on ``log(count + 1)`` (classical seasonal adjustment, simple
  exponential smoothing with half the linear drift).

The two smoothing forecasts are taken back to the count scale with the smearing
estimate (the mean of ``exp`` over their one-step residuals), so all three are means.
The intervals are quantiles of the GLM's simulated future counts (coefficient
uncertainty, the walk after the origin, count noise) with the expected counts scaled
to the combined mean. The smoothing methods see only the months since the GLM's last
level shift; with fewer than two years of those, or under 5 a month in the last year,
the GLM forecasts alone (``combination_history``). The
baselines are the seasonal naive forecast (same month last year) and simple
exponential smoothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.special import gammaln

from models.negbin import NegBinFit, fit_negbin, negbin_counts, negbin_loglik

DEFAULT_LEVELS = (80, 95)


@dataclass(frozen=True)
class SeriesSettings:
    """Choices of the single-series model (the backtest judges them).

    The log of the expected count is a local level (a random walk) + a shrunk trend +
    month-of-year effects. ``level_step_sds``: candidate standard deviations of the
    level's monthly log-step, and ``trend_prior_sds``: candidate prior standard
    deviations of the log-trend per year; the pair with the largest marginal
    likelihood (Laplace approximation) is used, so a series whose level moved keeps
    a loose random walk and follows its recent months, and a stable one keeps a stiff
    walk that averages over years. ``season_prior_sd``: prior standard deviation of
    a month-of-year effect; histories shorter than ``min_months_for_season`` get no
    seasonality, shorter than ``min_months_for_trend`` no trend. ``max_level_blocks``:
    the walk steps once per block of months, at most this many blocks (a long
    history steps every few months). ``combine``: the point forecast is the geometric
    mean of the GLM's and the two smoothing methods', fitted on the months since the
    GLM's last level step of at least ``shift_log_step`` (log scale), when those are
    at least ``min_months_for_combination`` months and the last year averages at least
    ``min_mean_for_combination``; ``False``: the GLM alone. The gates keep the GLM's
    strengths (tests/models/test_forecast.py): smoothing weights chosen on noisy
    months follow a shift only slowly, and on counts below about 1 the log scale
    overstates the mean.
    """

    level_step_sds: tuple[float, ...] = (0.01, 0.03, 0.1)
    step_t_dof: float = 1.0
    step_reweightings: int = 8
    pilot_step_sd: float = 0.15
    trend_prior_sds: tuple[float, ...] = (0.02, 0.3)
    season_prior_sd: float = 0.5
    min_months_for_season: int = 24
    min_months_for_trend: int = 24
    max_level_blocks: int = 48
    combine: bool = True
    min_months_for_combination: int = 24
    min_mean_for_combination: float = 5.0
    shift_log_step: float = 0.2


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


@dataclass(frozen=True)
class SeriesLayout:
    """The columns of a series' design: intercept (the log-level of the last level
    block, the one the forecast carries on), trend (years after ``origin``), 11
    month-of-year effects, one log-step per older level block (``older_j``: 1 for
    months at least ``j`` blocks before the last)."""

    origin: int  # month index of the last history month
    trend: bool
    seasonal: bool
    block_months: int
    blocks: int

    def design(self, months: np.ndarray) -> np.ndarray:
        columns = [np.ones(len(months))]
        if self.trend:
            columns.append((months - self.origin) / 12.0)
        if self.seasonal:
            columns += [(months % 12 == m).astype(float) for m in range(1, 12)]
        block = (self.origin - months) // self.block_months  # < 0 in the future
        columns += [(block >= j).astype(float) for j in range(1, self.blocks)]
        return np.column_stack(columns)

    def penalty(self, step_sd: float, trend_sd: float, season_sd: float) -> np.ndarray:
        """Prior precisions per column (0: the intercept, unpenalised); a step over a
        block of ``b`` months has the variance of ``b`` monthly steps."""
        step_precision = 1 / max(step_sd**2 * self.block_months, 1e-8)
        return np.array(
            [0.0]
            + [1 / trend_sd**2] * self.trend
            + [1 / season_sd**2] * (11 * self.seasonal)
            + [step_precision] * (self.blocks - 1)
        )


@dataclass(frozen=True)
class SeriesModel:
    layout: SeriesLayout
    fit: NegBinFit
    level_step_sd: float  # of the monthly log-level step, carried into the future
    trend_prior_sd: float
    log_evidence: float


def _log_prior(coef: np.ndarray, precision: np.ndarray, heavy: np.ndarray, nu: float):
    """Log prior density of the coefficients, plus ``log(2 pi) / 2`` per penalised one
    (the Laplace approximation's own factor). Gaussian columns: precision
    ``precision``; ``heavy`` columns: Student-t with ``nu`` degrees of freedom and the
    same scale."""
    gauss = (precision > 0) & ~heavy
    out = float(np.sum(0.5 * np.log(precision[gauss]) - 0.5 * precision[gauss] * coef[gauss] ** 2))
    if heavy.any():
        z2 = coef[heavy] ** 2 * precision[heavy]
        out += float(
            np.sum(
                gammaln((nu + 1) / 2)
                - gammaln(nu / 2)
                - 0.5 * np.log(nu / (2 * precision[heavy]))
                - (nu + 1) / 2 * np.log1p(z2 / nu)
            )
        )
    return out


# Laplace's approximation of a Student-t prior's integral falls short of 1 by this
# factor's log (t density at 0 times the Gaussian width of its curvature there): added
# back per heavy-tailed column, so that a step the data do not inform costs nothing.
def _t_laplace_deficit(nu: float) -> float:
    density_at_0 = np.exp(gammaln((nu + 1) / 2) - gammaln(nu / 2)) / np.sqrt(nu * np.pi)
    return -float(np.log(density_at_0 * np.sqrt(2 * np.pi * nu / (nu + 1))))


def fit_candidate(
    layout: SeriesLayout,
    design: np.ndarray,
    counts: np.ndarray,
    step_sd: float,
    trend_sd: float,
    settings: SeriesSettings,
    pilot: NegBinFit | None = None,
    dispersion: float | None = None,
) -> SeriesModel:
    """One (level step, trend prior) candidate. The level's log-steps have a Student-t
    prior (heavy tails: a lasting shift is one large step, not a loose walk that also
    follows the noise), fitted as a reweighted ridge (EM: a step's precision shrinks
    as it grows), started from ``pilot``'s steps (a loose Gaussian walk, which has
    spread any shift over a few months: the reweighting gathers it into one step);
    the marginal likelihood is the Laplace approximation at the mode."""
    precision = layout.penalty(step_sd, trend_sd, settings.season_prior_sd)
    heavy = np.zeros(len(precision), bool)
    if step_sd > 0:
        heavy[len(precision) - (layout.blocks - 1) :] = True
    nu = settings.step_t_dof
    if heavy.any() and pilot is not None:
        fit = pilot
    else:
        fit = fit_negbin(design, counts, penalty=precision, tol=1e-6)
    if heavy.any():
        # the count noise stays that of the stiff fit: estimated with the walk, the
        # dispersion falls to its floor as a loose walk follows every month's noise,
        # and the loose walk then wins the evidence on noise it has explained away
        alpha = dispersion if dispersion is not None else fit.alpha
        for _ in range(settings.step_reweightings):
            penalty = precision.copy()
            penalty[heavy] = (nu + 1) / (nu / precision[heavy] + fit.coef[heavy] ** 2)
            fit = fit_negbin(design, counts, penalty=penalty, alpha=alpha, tol=1e-6, start=fit.coef)
    loglik = negbin_loglik(counts, fit.mean(design), fit.alpha, np.ones(len(counts)))
    evidence = (
        loglik
        + _log_prior(fit.coef, precision, heavy, nu)
        + 0.5 * float(np.linalg.slogdet(fit.cov)[1])
        + _t_laplace_deficit(nu) * int(heavy.sum())
    )
    return SeriesModel(layout, fit, step_sd, trend_sd, evidence)


def fit_series(
    counts: np.ndarray, first: int, settings: SeriesSettings = SeriesSettings()
) -> SeriesModel:
    """The candidate (level step, trend prior) with the largest marginal likelihood."""
    n = len(counts)
    months = np.arange(first, first + n)
    block_months = max(1, -(-n // settings.max_level_blocks))
    layout = SeriesLayout(
        origin=int(months[-1]),
        trend=n >= settings.min_months_for_trend,
        seasonal=n >= settings.min_months_for_season,
        block_months=block_months,
        blocks=-(-n // block_months),
    )
    design = layout.design(months)
    trend_sds = settings.trend_prior_sds if layout.trend else (1.0,)
    candidates = []
    for trend_sd in trend_sds:
        pilot = None
        if layout.blocks > 1:
            loose = layout.penalty(settings.pilot_step_sd, trend_sd, settings.season_prior_sd)
            pilot = fit_negbin(design, counts, penalty=loose, tol=1e-6)
        stiff = fit_candidate(layout, design, counts, 0.0, trend_sd, settings)
        candidates.append(stiff)
        for step_sd in settings.level_step_sds:
            if step_sd > 0 and layout.blocks > 1:
                candidates.append(
                    fit_candidate(
                        layout, design, counts, step_sd, trend_sd, settings, pilot, stiff.fit.alpha
                    )
                )
    return max(candidates, key=lambda c: c.log_evidence)


def _frame(future: np.ndarray, mean: np.ndarray, bounds: dict[str, np.ndarray], levels):
    return pl.DataFrame(
        {
            "month": [month_of(int(m)) for m in future],
            "mean": np.asarray(mean, dtype=float),
            **{name: bounds[name].astype(np.int64) for name in interval_columns(levels)},
        }
    )


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
    future count, from ``draws`` simulated paths (coefficient uncertainty, the level's
    random walk after the origin, NB count noise).

    A history without a single count forecasts a mean of 0; its intervals are those
    of a Poisson rate with Jeffreys' prior after that many empty months (``[0, 0]``
    after a few months, ``[0, 1]`` or so after one or two).
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 month")
    levels = check_levels(levels)
    first, counts = check_history(history)
    origin = first + len(counts) - 1
    future = np.arange(origin + 1, origin + 1 + horizon)
    rng = np.random.default_rng(seed)
    if not counts.any():
        rates = rng.gamma(0.5, 1.0 / len(counts), size=(draws, 1))
        paths = rng.poisson(np.broadcast_to(rates, (draws, horizon)))
        return _frame(future, np.zeros(horizon), summarise_draws(paths, levels), levels)
    model = fit_series(counts, first, settings)
    means = model.fit.draw_means(model.layout.design(future), draws, rng)
    if model.level_step_sd > 0:
        # the level walks on after the origin: a martingale in the count scale (the
        # log-steps are centred so that the expected level stays where it is)
        steps = rng.normal(-0.5 * model.level_step_sd**2, model.level_step_sd, means.shape)
        means = means * np.exp(np.cumsum(steps, axis=1))
    since = combination_history(model, counts, settings)
    if since is not None:
        glm = means.mean(axis=0)
        combined = combine_means([glm, *smoothing_means(since, horizon)])
        means = means * (combined / np.maximum(glm, 1e-300))
    paths = negbin_counts(means, model.fit.alpha, rng)
    return _frame(future, means.mean(axis=0), summarise_draws(paths, levels), levels)


def last_level_shift(model: SeriesModel, settings: SeriesSettings) -> int:
    """Months since the GLM's last level step of at least ``settings.shift_log_step``
    (in the log; 0 if none): the walk's heavy-tailed prior leaves noise steps near 0 and
    gathers a lasting shift into one step."""
    layout = model.layout
    if layout.blocks < 2:
        return 0
    steps = model.fit.coef[len(model.fit.coef) - (layout.blocks - 1) :]  # older_1, older_2, …
    large = np.flatnonzero(np.abs(steps) >= settings.shift_log_step)
    return 0 if not len(large) else int(large[0] + 1) * layout.block_months


def combination_history(
    model: SeriesModel, counts: np.ndarray, settings: SeriesSettings
) -> np.ndarray | None:
    """The counts the smoothing methods are fitted on, or ``None`` for the GLM alone:
    the months since the last level shift (smoothing weights chosen on noisy months
    take a shift up over a year or more; the GLM has it at once), if they are at least
    ``min_months_for_combination`` and average at least ``min_mean_for_combination``
    over the last year (below that, the log scale overstates the mean)."""
    if not settings.combine:
        return None
    shift = last_level_shift(model, settings)
    since = counts[len(counts) - shift :] if shift else counts
    if len(since) < settings.min_months_for_combination:
        return None
    if since[-12:].mean() < settings.min_mean_for_combination:
        return None
    return since


def combine_means(forecasts: Sequence[np.ndarray]) -> np.ndarray:
    """Equal weights on the log scale (the geometric mean): a series whose level has
    doubled moves each method's forecast by a factor, not by an amount."""
    stacked = np.maximum(np.asarray(forecasts, float), 1e-12)
    return np.exp(np.log(stacked).mean(axis=0))


def _smeared(forecast: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Expected count from a forecast of ``log(count + 1)``: the mean of ``exp`` over
    the in-sample one-step residuals (Duan's smearing), less the 1."""
    correction = float(np.mean(np.exp(residuals))) if len(residuals) else 1.0
    return np.maximum(np.exp(forecast) * correction - 1, 0.0)


def smoothing_means(counts: np.ndarray, horizon: int) -> list[np.ndarray]:
    """The expected counts of damped Holt-Winters and of Theta, both fitted to
    ``log(count + 1)`` (at least two years of history)."""
    z = np.log1p(np.asarray(counts, float))
    return [_smeared(*holt_winters(z, horizon)), _smeared(*theta(z, horizon))]


# smoothing weights (level, trend, season) and trend damping tried by Holt-Winters
HW_GRID = np.array(
    list(
        itertools.product(
            (0.05, 0.1, 0.2, 0.3, 0.5, 0.7),
            (0.0, 0.02, 0.08),
            (0.01, 0.05, 0.1, 0.2, 0.35),
            (0.8, 0.9, 0.98),
        )
    )
).T


def holt_winters(z: np.ndarray, horizon: int, season: int = 12):
    """Additive Holt-Winters with a damped trend (error-correction form), every
    parameter set of ``HW_GRID`` at once; the one with the least in-sample one-step
    squared error (after the first season) forecasts. Started from the first year's
    mean, the change to the second year's, and the first year's deviations. Returns
    the forecast and that set's one-step residuals."""
    a, b, g, phi = HW_GRID
    n = len(z)
    level = np.full(a.size, z[:season].mean())
    trend = np.full(a.size, (z[season : 2 * season].mean() - z[:season].mean()) / season)
    seasonal = np.tile(z[:season] - z[:season].mean(), (a.size, 1))
    errors = np.empty((n, a.size))
    for t in range(n):
        j = t % season
        e = z[t] - (level + phi * trend + seasonal[:, j])
        errors[t] = e
        level = level + phi * trend + a * e
        trend = phi * trend + b * e
        seasonal[:, j] += g * (1 - a) * e
    best = int(np.argmin(np.sum(errors[season:] ** 2, axis=0)))
    h = np.arange(1, horizon + 1)
    damped = np.cumsum(phi[best] ** h)
    forecast = level[best] + damped * trend[best] + seasonal[best, (n + h - 1) % season]
    return forecast, errors[season:, best]


def theta(z: np.ndarray, horizon: int, season: int = 12):
    """The Theta method (Assimakopoulos & Nikolopoulos; Hyndman & Billah's form):
    additive seasonal indices from a centred 2×12 moving average, simple exponential
    smoothing of the adjusted series (weight by one-step error, 0.05 … 1) plus half
    its least-squares slope. Returns the forecast and the one-step residuals."""
    n = len(z)
    kernel = np.r_[0.5, np.ones(season - 1), 0.5] / season
    smooth = np.convolve(z, kernel, mode="valid")
    centre = season // 2
    detrended = z[centre : centre + len(smooth)] - smooth
    position = (np.arange(len(smooth)) + centre) % season
    index = np.array([detrended[position == j].mean() for j in range(season)])
    index -= index.mean()
    adjusted = z - index[np.arange(n) % season]
    weights = np.linspace(0.05, 1.0, 20)
    level = np.full(weights.size, adjusted[0])
    errors = np.empty((n - 1, weights.size))
    for t in range(1, n):
        errors[t - 1] = adjusted[t] - level
        level = level + weights * errors[t - 1]
    best = int(np.argmin(np.sum(errors**2, axis=0)))
    w = weights[best]
    slope = np.polyfit(np.arange(n), adjusted, 1)[0]
    h = np.arange(1, horizon + 1)
    drift = slope / 2 * (h - 1 + 1 / w - (1 - w) ** n / w)
    forecast = level[best] + drift + index[(n + h - 1) % season]
    return forecast, errors[:, best]


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
