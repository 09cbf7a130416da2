"""The elasticity of registrations to support, on panels simulated with a known one."""

from __future__ import annotations

import contextlib
from datetime import date

import numpy as np
import polars as pl
import pytest

from models.negbin import negbin_counts
from models.response import (
    NotIdentifiedError,
    ResponseEstimate,
    ResponseSettings,
    draw_elasticities,
    estimate_response,
    volume_multiplier,
)

FIRST = 2021 * 12  # January 2021


def _one_blas_thread():
    """The fits are small: BLAS threads only fight each other on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _panel(rng, beta, n_c=36, n_m=54, alpha=0.3):
    """Counts and support with country levels and trends, seasonality, a common shock
    and noise on the common level, 0-2 support changes per country on random dates,
    and a programme-wide table change (part common, part country-specific)."""
    months = np.arange(n_m)
    level = rng.normal(np.log(6.0), 1.0, n_c)
    trend = rng.normal(0.0, 0.05, n_c)
    season = 0.3 * np.sin(2 * np.pi * months / 12)
    common = np.where(months >= 30, -0.4, 0.0) + rng.normal(0.0, 0.1, n_m)
    base = rng.choice([600.0, 1000.0, 1500.0, 2500.0], n_c) * rng.uniform(0.8, 1.2, n_c)
    log_s = np.tile(np.log(base)[:, None], (1, n_m))
    for c in range(n_c):
        for _ in range(rng.integers(0, 3)):
            log_s[c, rng.integers(6, n_m - 3) :] += rng.choice([-0.7, -0.4, 0.3, 0.5])
    varying = rng.normal(0.0, 0.15, n_c) * (rng.uniform(size=n_c) < 0.5)
    log_s[:, 42:] += 0.2 + varying[:, None]
    eta = (
        level[:, None]
        + trend[:, None] * (months - n_m / 2) / 12
        + season
        + common
        + beta * (log_s - log_s.mean())
    )
    counts = negbin_counts(np.exp(eta), alpha, rng)
    return counts, np.exp(log_s)


def _names(n):
    return [f"C{i:02d}" for i in range(n)]


def test_intervals_cover_the_planted_elasticity():
    """40 panels per planted elasticity; the 80 % interval must contain it in at least
    80 % of all 120 fits, and in at least 70 % for each planted value (a calibrated
    80 % interval falls below 80 % of 40 trials about half the time: 70 % is two
    binomial standard deviations); the 95 % one in at least 90 %. The intervals must
    not be honest by being wide: the mean standard error within 0.75-1.5 times the
    spread of the estimates, and no bias beyond 0.05."""
    rng = np.random.default_rng(2024)
    trials = 40
    hits80, hits95 = {}, {}
    with _one_blas_thread():
        for beta in (0.0, 0.5, 1.0):
            estimates, ses, in80, in95 = [], [], 0, 0
            for _ in range(trials):
                counts, support = _panel(rng, beta)
                est = estimate_response(_names(len(counts)), FIRST, counts, support)
                in80 += est.interval80[0] <= beta <= est.interval80[1]
                in95 += est.interval95[0] <= beta <= est.interval95[1]
                estimates.append(est.elasticity)
                ses.append(est.se)
            hits80[beta], hits95[beta] = in80 / trials, in95 / trials
            spread = np.std(estimates, ddof=1)
            assert abs(np.mean(estimates) - beta) < 0.05, (beta, np.mean(estimates))
            assert 0.75 < np.mean(ses) / spread < 1.5, (beta, np.mean(ses), spread)
    print("coverage 80 %:", hits80, "95 %:", hits95)
    assert np.mean(list(hits80.values())) >= 0.80, hits80
    assert min(hits80.values()) >= 0.70, hits80
    assert np.mean(list(hits95.values())) >= 0.90, hits95


def test_a_common_shock_on_a_common_change_is_not_a_response():
    """Every country's support rises 40 % in the same month as registrations fall by
    half everywhere (a programme-wide shock): with no true response, the estimate
    must not read the fall as one; it learns only from the country-specific changes."""
    rng = np.random.default_rng(7)
    counts, support = _panel(rng, 0.0)
    n_m = counts.shape[1]
    support = support.copy()
    support[:, 24:] *= 1.4
    eta_shift = np.where(np.arange(n_m) >= 24, np.log(0.5), 0.0)
    counts = negbin_counts(np.maximum(counts, 0.5) * np.exp(eta_shift), 0.05, rng)
    with _one_blas_thread():
        est = estimate_response(_names(len(counts)), FIRST, counts, support)
    assert est.interval95[0] <= 0.0 <= est.interval95[1], est.interval95
    assert abs(est.elasticity) < 0.3


def test_no_support_variation_is_not_identified():
    rng = np.random.default_rng(3)
    counts = rng.poisson(5.0, (10, 30)).astype(float)
    support = np.full((10, 30), 1200.0)
    with pytest.raises(NotIdentifiedError, match="cannot be told apart"):
        estimate_response(_names(10), FIRST, counts, support)
    # The same proportional change for every country in the same month: still nothing.
    support[:, 15:] *= 1.5
    with pytest.raises(ValueError, match="same proportion"):
        estimate_response(_names(10), FIRST, counts, support)


def test_bad_input_is_refused_with_a_clear_message():
    counts = np.ones((3, 12))
    support = np.full((3, 12), 1000.0)
    support[0, 6:] = 1500.0
    names = _names(3)
    with pytest.raises(ValueError, match=r"support has shape \(3, 11\) but counts \(3, 12\)"):
        estimate_response(names, FIRST, counts, support[:, :11])
    with pytest.raises(ValueError, match="2 countries but counts for 3"):
        estimate_response(names[:2], FIRST, counts, support)
    with pytest.raises(ValueError, match="countries × months"):
        estimate_response(names, FIRST, counts[0], support[0])
    negative = counts.copy()
    negative[1, 1] = -1
    with pytest.raises(ValueError, match="non-negative"):
        estimate_response(names, FIRST, negative, support)
    zero = support.copy()
    zero[2, 3:] = 0.0
    with pytest.raises(ValueError, match="support must be > 0.*support_floor"):
        estimate_response(names, FIRST, counts, zero)
    with pytest.raises(ValueError, match="support_floor must be > 0"):
        estimate_response(names, FIRST, counts, zero, support_floor=0.0)
    with pytest.raises(ValueError, match="control 'x' has shape"):
        estimate_response(names, FIRST, counts, support, controls={"x": np.ones((3, 2))})
    # With a floor, a support of 0 is the floor: accepted, and the event says so.
    est = estimate_response(names, FIRST, counts, zero, support_floor=100.0)
    assert isinstance(est, ResponseEstimate)
    floor_event = [e for e in est.events if e.country == "C02"][0]
    assert floor_event.support_after == pytest.approx(100.0)
    assert floor_event.log_change == pytest.approx(np.log(100 / 1000))
    assert "floor" in floor_event.note


def test_event_table_shows_each_change_against_steady_countries():
    """A country whose support falls by half at month 30 (elasticity 1: registrations
    halve) and one whose support changes two months before the end of the data."""
    rng = np.random.default_rng(11)
    n_c, n_m = 20, 48
    level = rng.normal(np.log(40.0), 0.3, n_c)
    season = 0.3 * np.sin(2 * np.pi * np.arange(n_m) / 12)
    support = np.full((n_c, n_m), 1000.0)
    support[0, 30:] = 500.0
    support[1, 46:] = 2000.0
    support[2, 12:] = 1300.0
    eta = level[:, None] + season + 1.0 * np.log(support / 1000.0)
    counts = negbin_counts(np.exp(eta), 0.05, rng)
    with _one_blas_thread():
        est = estimate_response(_names(n_c), FIRST, counts, support)
    table = est.event_table()
    assert isinstance(table, pl.DataFrame)
    assert table.height == 3 == len(est.events)
    assert table["month"].to_list() == [date(2022, 1, 1), date(2023, 7, 1), date(2024, 11, 1)]
    halved = table.filter(pl.col("country") == "C00").row(0, named=True)
    assert halved["months_compared"] == 12
    assert halved["control_countries"] == n_c - 1  # C01 and C02 change outside its window
    assert halved["log_change"] == pytest.approx(np.log(0.5))
    assert halved["relative_log_ratio"] == pytest.approx(np.log(0.5), abs=0.15)
    assert halved["implied_elasticity"] == pytest.approx(1.0, abs=0.25)
    recent = table.filter(pl.col("country") == "C01").row(0, named=True)
    assert recent["months_compared"] == 2 and recent["log_ratio"] is None
    assert any("fewer than 6 months" in w for w in est.warnings)
    assert any("only 3 countries" in w for w in est.warnings)
    assert (est.countries_changed, est.months_changed) == (3, 3)
    assert est.interval95[0] < 1.0 < est.interval95[1], est.interval95


def test_draws_follow_the_estimate():
    rng = np.random.default_rng(5)
    counts, support = _panel(rng, 0.5, n_c=20, n_m=36)
    with _one_blas_thread():
        est = estimate_response(_names(20), FIRST, counts, support)
    draws = draw_elasticities(est, 20000, np.random.default_rng(0))
    assert draws.shape == (20000,)
    assert np.mean(draws) == pytest.approx(est.elasticity, abs=3 * est.se / 100)
    assert np.std(draws) == pytest.approx(est.se, rel=0.03)
    lo, hi = est.interval(0.8)
    assert (lo, hi) == pytest.approx(est.interval80)
    assert np.mean((draws > lo) & (draws < hi)) == pytest.approx(0.8, abs=0.02)
    with pytest.raises(ValueError, match="draws"):
        draw_elasticities(est, 0, rng)


def test_volume_multiplier():
    before = np.array([1000.0, 1000.0, 2000.0, 500.0])
    after = np.array([1000.0, 1500.0, 1000.0, 500.0])
    betas = np.array([-0.5, 0.0, 0.3, 1.0, 2.0])
    m = volume_multiplier(betas, before, after)
    assert m.shape == (5, 4)
    assert np.allclose(m[:, [0, 3]], 1.0)  # unchanged support: 1 whatever β
    assert np.allclose(m[1], 1.0)  # β = 0: no response
    assert np.all(np.diff(m[:, 1]) > 0)  # support up: more with larger β
    assert np.all(np.diff(m[:, 2]) < 0)  # support down: fewer with larger β
    assert m[3, 1] == pytest.approx(1.5) and m[3, 2] == pytest.approx(0.5)
    assert volume_multiplier(0.5, before, after).shape == (1, 4)
    grid = volume_multiplier(betas, np.full((4, 6), 800.0), np.full((4, 6), 1600.0))
    assert grid.shape == (5, 4, 6) and grid[3, 0, 0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="support_before has shape"):
        volume_multiplier(betas, before, after[:3])
    with pytest.raises(ValueError, match="support_after must be > 0"):
        volume_multiplier(betas, before, np.zeros(4))
    floored = volume_multiplier(np.array([1.0]), before, np.zeros(4), support_floor=100.0)
    assert floored[0, 0] == pytest.approx(0.1)


def test_anticipation_months_leave_out_a_rush_before_a_cut():
    """Registrations double in the two months before each cut of support (a rush to
    register in time): counted, they exaggerate the response to the cut; left out
    (``anticipation_months=2``), the planted elasticity 0.5 is recovered. A control
    column is accepted alongside."""
    rng = np.random.default_rng(13)
    n_c, n_m, beta = 40, 48, 0.5
    level = rng.normal(np.log(30.0), 0.5, n_c)
    log_s = np.full((n_c, n_m), np.log(1000.0))
    cuts = rng.integers(12, 40, n_c)
    rush = np.zeros((n_c, n_m))
    for c in range(0, n_c, 2):  # half the countries lose 60 % of their support
        log_s[c, cuts[c] :] += np.log(0.4)
        rush[c, cuts[c] - 2 : cuts[c]] = np.log(2.0)
    counts = negbin_counts(np.exp(level[:, None] + beta * log_s + rush), 0.05, rng)
    support, names = np.exp(log_s), _names(n_c)
    with _one_blas_thread():
        naive = estimate_response(names, FIRST, counts, support)
        careful = estimate_response(
            names,
            FIRST,
            counts,
            support,
            controls={"unrelated": rng.normal(size=(n_c, n_m))},
            settings=ResponseSettings(anticipation_months=2),
        )
    assert naive.elasticity > beta + 0.1
    assert careful.interval95[0] < beta < careful.interval95[1], careful.interval95
    assert abs(careful.elasticity - beta) < 0.1
