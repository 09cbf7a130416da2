"""Rolling-origin backtest of the volume model against its baselines.

At each origin the model is fitted on the months up to it and forecasts the next
``horizon`` months, which are then compared with what happened. Per country group and
in total (the group's monthly sum):

- MASE of the model, of the seasonal naive forecast and of simple exponential
  smoothing: mean absolute error over the horizon divided by the history's mean
  absolute lag-12 difference (pooled over origins);
- coverage: the share of actual monthly group totals inside the 80 % and 95 %
  intervals (from the same joint draws the budget uses), and of actual
  (country, month) counts inside the per-country intervals (``cell_coverage``);
- annual coverage: the share of origins whose actual horizon total lies inside the
  interval of the horizon's total (what a budget rests on), over every origin and over
  the origins whose horizon crossed a dated policy change (``policy_change_origins``);
- bias of the annual total: (forecast − actual) / actual over the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from models.forecast import (
    mase_scale,
    month_index,
    month_of,
    seasonal_naive,
    simple_exponential_smoothing,
    summarise_draws,
)
from models.volume import PolicyEffect, VolumeSettings, fit_volume

TOTAL = "total"
DEFAULT_VOLUME_SETTINGS = VolumeSettings()


@dataclass(frozen=True)
class BacktestSettings:
    horizon: int = 12
    origins: int = 6
    spacing_months: int = 3
    min_history_months: int = 36
    draws: int = 1000
    seed: int = 0


def origin_months(first: int, last: int, settings: BacktestSettings) -> list[int]:
    """The latest origins whose whole horizon has actuals, ``spacing_months`` apart."""
    latest = last - settings.horizon
    origins = [latest - i * settings.spacing_months for i in range(settings.origins)]
    return sorted(o for o in origins if o - first + 1 >= settings.min_history_months)


def run_backtest(
    countries: Sequence[str],
    first_month: int,
    counts: np.ndarray,
    groups: Mapping[str, str],
    effects: Sequence[PolicyEffect] = (),
    settings: BacktestSettings = BacktestSettings(),
    volume_settings: VolumeSettings = DEFAULT_VOLUME_SETTINGS,
    progress: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """One row per country group and ``total``: origins, MASE (model, seasonal naive,
    exponential smoothing), 80 %/95 % coverage of monthly totals and of country
    cells, bias of the annual total."""
    say = progress or (lambda _m: None)
    counts = np.asarray(counts, dtype=float)
    last = first_month + counts.shape[1] - 1
    origins = origin_months(first_month, last, settings)
    if not origins:
        raise ValueError(
            f"{counts.shape[1]} months are too few for a backtest: need "
            f"{settings.min_history_months} of history plus {settings.horizon} to check"
        )
    names = sorted(set(groups[c] for c in countries)) + [TOTAL]
    members = {g: np.array([groups[c] == g for c in countries]) for g in names[:-1]}
    members[TOTAL] = np.ones(len(countries), bool)
    acc: dict[str, dict[str, list]] = {g: {} for g in names}
    rng = np.random.default_rng(settings.seed)
    for origin in origins:
        say(f"backtest origin {month_of(origin):%Y-%m}")
        used = origin - first_month + 1
        model = fit_volume(
            countries, first_month, counts[:, :used], effects, volume_settings, groups
        )
        future = np.arange(origin + 1, origin + 1 + settings.horizon)
        paths = model.draw(future, settings.draws, rng)
        actual = counts[:, used : used + settings.horizon]
        cell_bounds = summarise_draws(paths, (80, 95))
        for g in names:
            chosen = members[g]
            series = counts[chosen, :used].sum(axis=0)
            truth = actual[chosen].sum(axis=0)
            group_paths = paths[:, chosen].sum(axis=1)
            mean = group_paths.mean(axis=0)
            bounds = summarise_draws(group_paths, (80, 95))
            a = acc[g]
            a.setdefault("scale", []).append(mase_scale(series))
            a.setdefault("model_ae", []).append(np.abs(mean - truth).mean())
            naive = seasonal_naive(series, settings.horizon)
            a.setdefault("naive_ae", []).append(np.abs(naive - truth).mean())
            ses = simple_exponential_smoothing(series, settings.horizon)
            a.setdefault("ses_ae", []).append(np.abs(ses - truth).mean())
            for level in (80, 95):
                inside = (truth >= bounds[f"lo{level}"]) & (truth <= bounds[f"hi{level}"])
                a.setdefault(f"cover{level}", []).extend(inside.tolist())
                cells = actual[chosen]
                inside = (cells >= cell_bounds[f"lo{level}"][chosen]) & (
                    cells <= cell_bounds[f"hi{level}"][chosen]
                )
                a.setdefault(f"cell{level}", []).extend(inside.reshape(-1).tolist())
            a.setdefault("forecast_total", []).append(mean.sum())
            a.setdefault("actual_total", []).append(truth.sum())
            # the horizon's total (the figure a budget rests on), and whether a dated
            # policy change fell inside the horizon
            annual = summarise_draws(group_paths.sum(axis=1)[:, None], (80, 95))
            crossed = any(
                origin < month_index(e.start) <= origin + settings.horizon for e in effects
            )
            for level in (80, 95):
                inside = annual[f"lo{level}"][0] <= truth.sum() <= annual[f"hi{level}"][0]
                a.setdefault(f"annual{level}", []).append(bool(inside))
                if crossed:
                    a.setdefault(f"annual_policy{level}", []).append(bool(inside))
    rows = []
    for g in names:
        a = acc[g]
        scale = float(np.mean(a["scale"]))

        def mase(errors: str, a=a, scale=scale) -> float | None:
            return float(np.mean(a[errors])) / scale if scale else None

        actual_total = float(np.sum(a["actual_total"]))
        rows.append(
            {
                "country_group": g,
                "origins": len(origins),
                "first_origin": month_of(origins[0]),
                "last_origin": month_of(origins[-1]),
                "horizon_months": settings.horizon,
                "mase_model": mase("model_ae"),
                "mase_seasonal_naive": mase("naive_ae"),
                "mase_exponential_smoothing": mase("ses_ae"),
                "coverage80": float(np.mean(a["cover80"])),
                "coverage95": float(np.mean(a["cover95"])),
                "cell_coverage80": float(np.mean(a["cell80"])),
                "cell_coverage95": float(np.mean(a["cell95"])),
                "annual_coverage80": float(np.mean(a["annual80"])),
                "annual_coverage95": float(np.mean(a["annual95"])),
                "policy_change_origins": len(a.get("annual_policy80", [])),
                "annual_coverage80_policy_change": float(np.mean(a["annual_policy80"]))
                if a.get("annual_policy80")
                else None,
                "annual_bias": (float(np.sum(a["forecast_total"])) - actual_total) / actual_total
                if actual_total
                else None,
                "actual_dossiers": actual_total,
            }
        )
    return pl.DataFrame(rows)
