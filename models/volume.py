"""The volume model: monthly registering dossiers per return country, pooled.

One negative-binomial GLM over every (country, month) of the history:

    log E[dossiers] = common level + country level + (common + country) trend
                      + (common + country) step for each older year
                      + month of year (common + per country group)
                      + dated policy effects

The level the forecast carries forward is the one of the last twelve months (the
"current year", counted back from the origin); each older year of the history has its
own level, a random-walk step away from the next (``older_j`` columns: 1 for months
at least ``j`` years before the origin). So a country's level comes from its recent
year, as in seasonal naive, while month-of-year effects and policy effects are learnt
from the whole history. Country levels, trends and steps are deviations from the
common ones with Gaussian priors (ridge penalties), so a country with few,
intermittent registrations borrows the common shape and a large country follows its
own data. Recent months weigh a little more (``half_life_months``). Policy effects are
steps on the dates the rule tables give (``PolicyEffect``); their values in the
forecast months follow the same dates.

``VolumeModel.draw`` gives joint count paths: each draw has its own coefficients
(shared by every country and month of that draw) and NB noise per cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import scipy.sparse as sparse

from models.forecast import month_index
from models.negbin import NegBinFit, fit_negbin, negbin_counts

MIN_HISTORY_MONTHS = 13  # a month-of-year effect needs every month once, and one more


@dataclass(frozen=True)
class PolicyEffect:
    """A dated step: 1 for ``countries`` (``None``: every country) from ``start`` until
    the day before ``end``, else 0. ``rule`` names where the date comes from."""

    name: str
    rule: str
    countries: tuple[str, ...] | None
    start: date
    end: date | None = None

    def active(self, countries: Sequence[str], months: np.ndarray) -> np.ndarray:
        """(countries × months) 0/1 for month indices ``months``."""
        in_time = months >= month_index(self.start)
        if self.end is not None:
            in_time &= months < month_index(self.end)
        if self.countries is None:
            chosen = np.ones(len(countries), bool)
        else:
            chosen = np.isin(np.asarray(countries), self.countries)
        return (chosen[:, None] & in_time[None, :]).astype(float)


@dataclass(frozen=True)
class VolumeSettings:
    """Prior scales and memory. The defaults are the best of the backtests on the demo
    data tried (README, "Forecasting"): yearly level blocks with a 24-month half-life
    beat one level with a short memory (total MASE 0.48 against 0.71), and an almost
    flat trend — extrapolated log-trends overshot by 27 %.

    ``level_block_months``: length of the level blocks counted back from the origin
    (``None``: one level for the whole history). ``half_life_months``: ``None`` weighs
    every month alike."""

    half_life_months: float | None = 24.0
    country_level_prior_sd: float = 2.0
    trend_prior_sd: float = 0.05
    country_trend_prior_sd: float = 0.05
    season_prior_sd: float = 0.5
    group_season_prior_sd: float = 0.3
    policy_prior_sd: float = 1.5
    level_block_months: int | None = 12
    block_step_prior_sd: float = 1.0
    country_block_step_prior_sd: float = 0.3


@dataclass(frozen=True)
class _Layout:
    """Which columns the design has: everything but the coefficients."""

    countries: tuple[str, ...]
    origin: int  # month index of the last history month
    effects: tuple[PolicyEffect, ...]
    season_groups: tuple[int, ...]  # group number per country; -1: none
    blocks: int  # level blocks in the history (0: one level)
    block_months: int

    def design(self, months: np.ndarray) -> np.ndarray:
        """Design rows for every (country, month), country-major."""
        n_c, n_m = len(self.countries), len(months)
        country = np.repeat(np.arange(n_c), n_m)
        month = np.tile(months, n_c)
        years = (month - self.origin) / 12.0
        one_hot = np.zeros((n_c * n_m, n_c))
        one_hot[np.arange(n_c * n_m), country] = 1.0
        season = np.stack([(month % 12 == m).astype(float) for m in range(1, 12)], axis=1)
        group = np.asarray(self.season_groups)[country]
        groups = range(max(self.season_groups, default=-1) + 1)
        columns = [
            np.ones((n_c * n_m, 1)),
            one_hot,
            years[:, None],
            one_hot * years[:, None],
            season,
            *[season * (group == g)[:, None] for g in groups],
        ]
        if self.blocks > 1:
            block = (self.origin - month) // self.block_months  # < 0 in the future
            older = np.stack([(block >= j).astype(float) for j in range(1, self.blocks)], axis=1)
            columns.append(older)
            columns.append((one_hot[:, :, None] * older[:, None, :]).reshape(n_c * n_m, -1))
        if self.effects:
            policy = [e.active(self.countries, months).reshape(-1) for e in self.effects]
            columns.append(np.stack(policy, axis=1))
        return np.hstack(columns)

    def sparse_design(self, months: np.ndarray) -> sparse.csr_array:
        """``design(months)`` as a sparse matrix, built from its non-zeros (the fit's
        design is about 1 % non-zero: a few columns per row of several hundred)."""
        n_c, n_m = len(self.countries), len(months)
        n = n_c * n_m
        rows = np.arange(n)
        country = np.repeat(np.arange(n_c), n_m)
        month = np.tile(months, n_c)
        years = (month - self.origin) / 12.0
        group = np.asarray(self.season_groups)[country]
        n_groups = max(self.season_groups, default=-1) + 1
        season = month % 12  # 0: January, the reference month (no column)
        has_season = season >= 1
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = [
            (rows, np.zeros(n, np.int64), np.ones(n), 1),
            (rows, country, np.ones(n), n_c),
            (rows, np.zeros(n, np.int64), years, 1),
            (rows, country, years, n_c),
            (rows[has_season], season[has_season] - 1, np.ones(has_season.sum()), 11),
        ]
        in_group = has_season & (group >= 0)
        blocks.append(
            (
                rows[in_group],
                group[in_group] * 11 + season[in_group] - 1,
                np.ones(in_group.sum()),
                11 * n_groups,
            )
        )
        if self.blocks > 1:
            block = (self.origin - month) // self.block_months  # < 0 in the future
            older_r, older_j = np.nonzero(block[:, None] >= np.arange(1, self.blocks)[None, :])
            ones = np.ones(len(older_r))
            blocks.append((older_r, older_j, ones, self.blocks - 1))
            blocks.append(
                (
                    older_r,
                    country[older_r] * (self.blocks - 1) + older_j,
                    ones,
                    n_c * (self.blocks - 1),
                )
            )
        if self.effects:
            policy = np.stack(
                [e.active(self.countries, months).reshape(-1) for e in self.effects], axis=1
            )
            policy_r, policy_j = np.nonzero(policy)
            blocks.append((policy_r, policy_j, policy[policy_r, policy_j], len(self.effects)))
        all_rows, all_cols, all_values, offset = [], [], [], 0
        for r, c, v, width in blocks:
            all_rows.append(r)
            all_cols.append(np.asarray(c, np.int64) + offset)
            all_values.append(np.asarray(v, float))
            offset += width
        matrix = sparse.csr_array(
            (np.concatenate(all_values), (np.concatenate(all_rows), np.concatenate(all_cols))),
            shape=(n, offset),
        )
        matrix.eliminate_zeros()
        return matrix


@dataclass(frozen=True)
class VolumeModel:
    layout: _Layout
    fit: NegBinFit
    names: tuple[str, ...]

    @property
    def countries(self) -> tuple[str, ...]:
        return self.layout.countries

    @property
    def origin(self) -> int:
        return self.layout.origin

    def expected(self, months: np.ndarray) -> np.ndarray:
        """(countries × months) expected dossiers at the fitted coefficients."""
        means = self.fit.mean(self.layout.design(months))
        return means.reshape(len(self.countries), len(months))

    def draw(self, months: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
        """(draws × countries × months) simulated dossier counts: joint paths."""
        means = self.fit.draw_means(self.layout.design(months), draws, rng)
        counts = negbin_counts(means, self.fit.alpha, rng)
        return counts.reshape(draws, len(self.countries), len(months))

    def effect_sizes(self) -> dict[str, float]:
        """Each policy effect as a multiplier on volume (exp of its coefficient)."""
        effects = self.layout.effects
        first = len(self.names) - len(effects)
        return {e.name: float(np.exp(self.fit.coef[first + i])) for i, e in enumerate(effects)}


def fit_volume(
    countries: Sequence[str],
    first_month: int,
    counts: np.ndarray,
    effects: Sequence[PolicyEffect] = (),
    settings: VolumeSettings = VolumeSettings(),
    groups: Mapping[str, str] | None = None,
    *,
    dense: bool = False,
) -> VolumeModel:
    """Fit on ``counts`` (countries × months, months from ``first_month`` on).

    ``groups`` (country → group name): each group gets its own month-of-year
    deviations from the common seasonality (shrunk towards it). The design is about
    1 % non-zero and fitted sparse; ``dense=True`` fits the same design dense (the
    reference the sparse fit is tested against; an order of magnitude slower)."""
    counts = np.asarray(counts, dtype=float)
    n_c, n_m = counts.shape
    if n_c != len(countries):
        raise ValueError(f"{len(countries)} countries but counts for {n_c}")
    if n_m < MIN_HISTORY_MONTHS:
        raise ValueError(
            f"{n_m} months of history: the volume model needs at least {MIN_HISTORY_MONTHS}"
        )
    months = np.arange(first_month, first_month + n_m)
    origin = int(months[-1])
    countries = tuple(countries)
    # An effect that never switched on in the history cannot be estimated: left out.
    usable = [e for e in effects if e.active(countries, months).any()]
    names_of_groups = sorted(set(groups[c] for c in countries)) if groups else []
    # Group number per country; -1: no group seasonality.
    season_groups = tuple(names_of_groups.index(groups[c]) if groups else -1 for c in countries)
    block_months = settings.level_block_months or n_m
    blocks = -(-n_m // block_months)  # the oldest block may be short
    layout = _Layout(countries, origin, tuple(usable), season_groups, blocks, block_months)
    design = layout.design(months) if dense else layout.sparse_design(months)
    penalty = np.concatenate(
        [
            [0.0],
            np.full(n_c, 1 / settings.country_level_prior_sd**2),
            [1 / settings.trend_prior_sd**2],
            np.full(n_c, 1 / settings.country_trend_prior_sd**2),
            np.full(11, 1 / settings.season_prior_sd**2),
            np.full(11 * len(names_of_groups), 1 / settings.group_season_prior_sd**2),
            np.full(blocks - 1, 1 / settings.block_step_prior_sd**2),
            np.full(n_c * (blocks - 1), 1 / settings.country_block_step_prior_sd**2),
            np.full(len(usable), 1 / settings.policy_prior_sd**2),
        ]
    )
    half_life = settings.half_life_months
    weights = np.tile(0.5 ** ((origin - months) / half_life) if half_life else np.ones(n_m), n_c)
    fit = fit_negbin(design, counts.reshape(-1), penalty=penalty, weights=weights)
    names = (
        "level",
        *[f"level:{c}" for c in countries],
        "trend",
        *[f"trend:{c}" for c in countries],
        *[f"month_{m + 1:02d}" for m in range(1, 12)],
        *[f"month_{m + 1:02d}:{g}" for g in names_of_groups for m in range(1, 12)],
        *[f"older_{j}" for j in range(1, blocks)],
        *[f"older_{j}:{c}" for c in countries for j in range(1, blocks)],
        *[e.name for e in usable],
    )
    return VolumeModel(layout, fit, names)
