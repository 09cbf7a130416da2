"""The negative-binomial GLM, the pooled volume model and the backtest, on data
simulated with known parameters."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import scipy.sparse as sparse

from models.backtest import BacktestSettings, run_backtest
from models.forecast import month_index
from models.negbin import fit_negbin, negbin_counts
from models.volume import PolicyEffect, VolumeSettings, fit_volume


def test_negbin_recovers_known_coefficients_and_dispersion():
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(20000), rng.normal(size=20000)])
    y = negbin_counts(np.exp(x @ np.array([1.5, -0.4])), 0.3, rng)
    fit = fit_negbin(x, y)
    assert np.allclose(fit.coef, [1.5, -0.4], atol=0.03)
    assert abs(fit.alpha - 0.3) < 0.03
    se = np.sqrt(np.diag(fit.cov))
    assert np.all(se < 0.02) and np.all(se > 0.002)


def test_negbin_rejects_bad_counts():
    with pytest.raises(ValueError, match="non-negative"):
        fit_negbin(np.ones((2, 1)), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="2 design rows"):
        fit_negbin(np.ones((2, 1)), np.array([1.0]))


def test_sparse_and_dense_fits_agree():
    """The sparse path (sparse X'WX, Cholesky) and the dense one (dense products,
    general solve) are the same fit: penalties, weights, estimated dispersion."""
    rng = np.random.default_rng(5)
    n, k = 600, 12
    x = np.zeros((n, k))
    x[:, 0] = 1.0
    x[np.arange(n), 1 + rng.integers(0, 8, n)] = 1.0  # one-hot groups, as in the volume model
    x[:, 9] = rng.normal(size=n)
    x[rng.random(n) < 0.3, 10] = 1.0
    x[:, 11] = x[:, 9] * x[:, 10]
    truth = np.concatenate([[1.0], rng.normal(0, 0.5, 8), [0.2, -0.4, 0.1]])
    y = negbin_counts(np.exp(x @ truth), 0.2, rng)
    penalty = np.concatenate([[0.0], np.full(8, 0.25), [1.0, 0.5, 2.0]])
    weights = 0.5 ** (rng.random(n) * 2)
    dense = fit_negbin(x, y, penalty=penalty, weights=weights)
    fitted = fit_negbin(sparse.csr_array(x), y, penalty=penalty, weights=weights)
    assert dense.iterations == fitted.iterations
    assert np.max(np.abs(fitted.coef - dense.coef)) < 1e-8
    assert np.max(np.abs(fitted.cov - dense.cov)) < 1e-8
    assert abs(fitted.alpha - dense.alpha) < 1e-8
    fixed = fit_negbin(sparse.csr_matrix(x), y, penalty=penalty, alpha=0.3)
    assert np.max(np.abs(fixed.coef - fit_negbin(x, y, penalty=penalty, alpha=0.3).coef)) < 1e-8


def test_the_volume_models_sparse_design_is_its_dense_design():
    countries, first, counts, policy = simulated_panel(np.random.default_rng(2), effect=0.5)
    groups = {"A": "big", "B": "big", "C": "small"}
    model = fit_volume(countries, first, counts, [policy], VolumeSettings(), groups)
    months = np.arange(first, first + counts.shape[1])
    design = model.layout.design(months)
    assert design.shape[1] == len(model.names)
    assert np.array_equal(model.layout.sparse_design(months).toarray(), design)
    future = np.arange(first + counts.shape[1], first + counts.shape[1] + 14)
    assert np.array_equal(model.layout.sparse_design(future).toarray(), model.layout.design(future))
    # the fit on the sparse design is the fit on the dense one
    dense = fit_volume(countries, first, counts, [policy], VolumeSettings(), groups, dense=True)
    assert dense.names == model.names
    assert np.max(np.abs(dense.fit.coef - model.fit.coef)) < 1e-8
    assert np.max(np.abs(dense.fit.cov - model.fit.cov)) < 1e-8


def simulated_panel(rng, effect: float, months: int = 60):
    """Three countries (one small), common seasonality, a step for country B from
    month 36 multiplying its volume by ``effect``."""
    countries = ("A", "B", "C")
    first = month_index(date(2020, 1, 1))
    m = np.arange(first, first + months)
    season = 0.3 * np.cos(2 * np.pi * (m % 12) / 12)
    level = np.log([[30.0], [12.0], [0.4]]) + season[None, :]
    step = np.zeros((3, months))
    step[1, 36:] = np.log(effect)
    counts = negbin_counts(np.exp(level + step), 0.1, rng)
    policy = PolicyEffect("step_B", "TEST", ("B",), date(2023, 1, 1))
    return countries, first, counts, policy


def test_volume_model_recovers_a_policy_step_and_pools_the_small_country():
    countries, first, counts, policy = simulated_panel(np.random.default_rng(7), effect=0.4)
    settings = VolumeSettings(half_life_months=36)
    model = fit_volume(countries, first, counts, [policy], settings)
    assert abs(model.effect_sizes()["step_B"] - 0.4) < 0.08
    future = np.arange(model.origin + 1, model.origin + 13)
    expected = model.expected(future)
    assert abs(expected[1].mean() / (12 * 0.4) - 1) < 0.3  # the step carries on (else ~12)
    assert 0.1 < expected[2].mean() < 1.0  # the small country keeps its own small level
    draws = model.draw(future, 200, np.random.default_rng(0))
    assert draws.shape == (200, 3, 12)


def test_volume_model_needs_a_year_of_history():
    with pytest.raises(ValueError, match="at least 13"):
        fit_volume(("A",), 0, np.ones((1, 6)))


def test_backtest_on_a_panel_from_the_model_family_is_calibrated():
    countries, first, counts, policy = simulated_panel(np.random.default_rng(11), effect=0.5)
    groups = {"A": "big", "B": "big", "C": "small"}
    result = run_backtest(
        countries,
        first,
        counts,
        groups,
        [policy],
        BacktestSettings(origins=4, min_history_months=30, draws=500),
        VolumeSettings(half_life_months=36),
    )
    total = result.filter(result["country_group"] == "total").row(0, named=True)
    assert total["origins"] == 4
    assert 0.6 <= total["coverage80"] <= 1.0
    assert 0.6 <= total["cell_coverage80"] <= 0.95
    assert abs(total["annual_bias"]) < 0.15
    assert total["mase_model"] < total["mase_seasonal_naive"]  # the truth has no drift
    # the horizon totals: one per origin and group, the 95 % bands a superset of the 80 %
    assert 0.5 <= total["annual_coverage80"] <= total["annual_coverage95"] <= 1.0
    # origins 2023-03 … 2023-12: none has the step (2023-01) in its horizon
    assert total["policy_change_origins"] == 0
    assert total["annual_coverage80_policy_change"] is None
    assert set(result["country_group"]) == {"big", "small", "total"}


def test_backtest_says_when_history_is_too_short():
    countries, first, counts, _ = simulated_panel(np.random.default_rng(1), 1.0, months=30)
    with pytest.raises(ValueError, match="too few for a backtest"):
        run_backtest(countries, first, counts, dict.fromkeys(countries, "g"))


def test_the_forecast_level_is_the_last_years_with_yearly_level_blocks():
    """Country A's volume doubles (unannounced) for the last 12 months: yearly level
    blocks carry the new level on; one level over the whole history does not."""
    rng = np.random.default_rng(3)
    first = month_index(date(2020, 1, 1))
    level = np.full((2, 60), 20.0)
    level[0, 48:] = 40.0
    counts = negbin_counts(level, 0.05, rng)
    future = np.arange(first + 60, first + 72)
    blocks = fit_volume(("A", "B"), first, counts, settings=VolumeSettings())
    assert VolumeSettings().level_block_months == 12
    assert abs(blocks.expected(future)[0].mean() / 40 - 1) < 0.12
    assert abs(blocks.expected(future)[1].mean() / 20 - 1) < 0.12
    one_level = fit_volume(
        ("A", "B"),
        first,
        counts,
        settings=VolumeSettings(level_block_months=None, half_life_months=None),
    )
    assert one_level.expected(future)[0].mean() < 34  # pulled towards the older 20


def test_backtest_counts_the_origins_whose_horizon_crosses_a_policy_change():
    countries, first, counts, policy = simulated_panel(np.random.default_rng(12), effect=0.5)
    result = run_backtest(
        countries,
        first,
        counts,
        {"A": "big", "B": "big", "C": "small"},
        [policy],
        BacktestSettings(origins=6, min_history_months=30, draws=300),
        VolumeSettings(half_life_months=36),
    )
    total = result.filter(result["country_group"] == "total").row(0, named=True)
    # origins 2022-09 and 2022-12 forecast across the step of 2023-01; the others do not
    assert total["policy_change_origins"] == 2
    assert total["annual_coverage80_policy_change"] in (0.0, 0.5, 1.0)
