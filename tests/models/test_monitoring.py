"""Monitoring statistics: surge detectors, share funnels, false-discovery control."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.monitoring.alarms import benjamini_hochberg, decide_alarms
from models.monitoring.evaluation import Trials, evaluate, oracle_tests
from models.monitoring.shares import BOTH, PROGRAMME_ONLY, share_tests
from models.monitoring.surges import GLM, NONE, SHORT, detect_surges

MONTHS = 60


def seasonal_counts(rng, countries=40, level=(2, 30)):
    season = 1 + 0.25 * np.sin(2 * np.pi * np.arange(MONTHS) / 12)
    levels = rng.uniform(*level, countries)
    expected = levels[:, None] * season[None, :]
    return expected, rng.poisson(expected).astype(float)


def test_glm_p_values_are_calibrated_on_stationary_poisson_counts():
    rng = np.random.default_rng(11)
    _, counts = seasonal_counts(rng, countries=120)
    tests = detect_surges(counts, np.zeros(counts.shape, dtype=int), first_month=40)
    p = tests.p_value[:, 40:]
    assert (tests.method[:, 40:] == GLM).all()
    # one-sided discrete p-values: at most nominal, not far below it
    assert 0.02 <= np.mean(p < 0.05) <= 0.06
    assert np.mean(tests.above_upper[:, 40:]) <= 0.01


def test_glm_sees_a_tripling_at_once_and_a_steady_series_not():
    rng = np.random.default_rng(2)
    expected, counts = seasonal_counts(rng, countries=30, level=(8, 12))
    counts[0, 50:] = rng.poisson(3 * expected[0, 50:])
    tests = detect_surges(counts, np.zeros(counts.shape, dtype=int), first_month=45)
    assert tests.p_value[0, 50] < 1e-4 and tests.p_value[0, 51] < 1e-4
    assert tests.score[0, 50] > 1
    assert np.nanmin(tests.p_value[1, 45:]) > 1e-3


def test_glm_judges_against_the_latest_years_level_not_the_old_one():
    """A country whose volume halved two years ago: the old level is no expectation."""
    counts = np.full((20, MONTHS), 20.0)  # the rest of the programme: flat
    counts[0, 30:] = 10.0
    tests = detect_surges(counts, np.zeros(counts.shape, dtype=int), first_month=50)
    assert np.allclose(tests.expected[0, 50:], 10.0, rtol=0.02)


def test_glm_takes_the_season_from_the_whole_programme():
    """A small country's own months say little about the season (here: nothing, they
    are flat); the programme's total says it clearly, and the expectation follows it."""
    rng = np.random.default_rng(5)
    season = 1 + 0.4 * np.cos(2 * np.pi * np.arange(MONTHS) / 12)  # peak in month 0
    counts = rng.poisson(np.outer(rng.uniform(20, 60, 30), season)).astype(float)
    counts[0] = 4.0
    tests = detect_surges(counts, np.zeros(counts.shape, dtype=int), first_month=48)
    peak, trough = tests.expected[0, 48], tests.expected[0, 54]
    assert peak / trough == pytest.approx(1.4 / 0.6, rel=0.15)


def test_glm_tests_a_country_back_after_a_year_without_registrations():
    counts = np.full((10, MONTHS), 20.0)
    counts[0, 36:50] = 0.0
    counts[0, 50] = 6.0
    tests = detect_surges(counts, np.zeros(counts.shape, dtype=int), first_month=50)
    assert tests.method[0, 50] == GLM
    assert 0 < tests.expected[0, 50] < 0.1
    assert tests.p_value[0, 50] < 1e-3


def test_short_baseline_after_a_regime_change_and_a_surge_stays_out_of_it():
    counts = np.full((1, MONTHS), 30.0)
    counts[0, 48:] = 9.0  # a new regime from month 48: the old level is no baseline
    counts[0, 53:] = 27.0  # ×3 from month 53
    start = np.zeros(counts.shape, dtype=int)
    start[0, 48:] = 48
    tests = detect_surges(counts, start, first_month=40)
    # three months of the new regime before the guard month are needed: from month 52
    assert (tests.method[0, 48:52] == NONE).all()
    assert (tests.method[0, 52:59] == SHORT).all()
    assert tests.expected[0, 52] == pytest.approx(9.0)
    # the surge months never become the baseline: tested against 9 while the
    # pre-surge months are within the 7-month window, then no longer tested
    assert np.allclose(tests.expected[0, 53:59], 9.0)
    assert (tests.p_value[0, 53:59] < 1e-3).all()
    assert tests.method[0, 59] == NONE


def test_persons_variance_floor_widens_the_bound():
    counts = np.full((1, 12), 10.0)
    counts[0, 11] = 22.0
    start = np.zeros(counts.shape, dtype=int)
    single = detect_surges(counts, start, first_month=8)
    families = detect_surges(counts, start, first_month=8, variance_floor=3.0)
    assert families.p_value[0, 11] > 10 * single.p_value[0, 11]


def test_share_fires_only_above_both_programme_and_own_baseline():
    rng = np.random.default_rng(5)
    countries, months = 30, 24
    n = rng.poisson(40, (countries, months)).astype(float)
    share = np.full(countries, 0.10)
    share[1] = 0.40  # always high: not news
    k = rng.binomial(n.astype(int), share[:, None]).astype(float)
    k[0, -1] = round(0.45 * n[0, -1])  # country 0 jumps in the last month
    tests = share_tests(k, n, np.zeros(k.shape, dtype=int))
    assert tests.method[0, -1] == BOTH
    assert tests.p_value[0, -1] < 1e-4 and tests.score[0, -1] > 1
    assert tests.p_value[1, -1] > 0.01  # above the programme, not above its own past
    assert tests.own_share[1, -1] == pytest.approx(0.40, abs=0.05)


def test_share_without_own_history_uses_the_programme_only():
    n = np.full((10, 3), 50.0)
    k = np.full((10, 3), 5.0)
    start = np.zeros((10, 3), dtype=int)
    tests = share_tests(k, n, start)
    assert (tests.method[:, 0] == PROGRAMME_ONLY).all()
    assert tests.programme_share[0, 0] == pytest.approx(0.1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_benjamini_hochberg_matches_the_definition(p_values):
    p = np.array(p_values)
    q = benjamini_hochberg(p)
    m = len(p)
    for i in range(m):
        # q_i = min over j with p_j >= p_i of p_j * m / rank_j
        ranks = np.array([np.sum(p <= p[j]) for j in range(m)])
        expected = min(1.0, min(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i]))
        assert q[i] == pytest.approx(expected)


def test_alarm_needs_five_dossiers_q_value_and_a_rise():
    tests = pl.DataFrame(
        {
            "month": [1, 1, 1, 1, 2],
            "dossiers": [5, 4, 9, 9, 5],
            "observed": [12, 12, 9, 30, 12],
            "score": [2.0, 2.0, -0.5, 3.0, 2.0],
            "p_value": [1e-6, 1e-9, 1e-6, 0.2, 0.04],
        }
    )
    alarms = decide_alarms(tests)
    # row 1: too few dossiers (and outside the family); row 2: below expectation;
    # row 3: not significant; row 4: alone in its month, p 0.04 ≤ 0.05
    assert alarms["alarm"].to_list() == [True, False, False, False, True]
    assert alarms["q_value"][1] is None


def test_evaluation_counts_false_alarms_and_detections():
    rng = np.random.default_rng(0)
    expected = rng.uniform(3, 20, (25, 48))
    setup = Trials(
        expected=expected,
        history_start=np.zeros(expected.shape, dtype=int),
        surge_cells=np.array([(c, t) for c in range(5) for t in range(40, 45)]),
        first_month=40,
    )
    frame = evaluate(setup, trials=4, factors=(1.0, 4.0), noises=("poisson",), seed=1)
    clean, surge = frame.row(0, named=True), frame.row(1, named=True)
    assert clean["detected_within_2_months"] is None
    assert clean["false_alarm_rate"] < 0.05
    assert surge["detected_within_2_months"] == 1.0
    assert surge["tested_country_months"] < clean["tested_country_months"]


def test_oracle_is_calibrated_and_sees_the_same_trials_as_the_detector():
    rng = np.random.default_rng(3)
    expected = rng.uniform(3, 20, (200, 24))
    counts = rng.poisson(expected).astype(float)
    p = oracle_tests(expected, counts, size=None).p_value[:, 1:]
    assert 0.01 <= np.mean(p < 0.05) <= 0.05  # Bonferroni over month and pair
    setup = Trials(
        expected=expected[:25],
        history_start=np.zeros((25, 24), dtype=int),
        surge_cells=np.array([(c, t) for c in range(5) for t in range(18, 21)]),
        first_month=16,
    )
    frame = evaluate(
        setup, trials=5, factors=(4.0,), noises=("poisson",), detectors=("oracle", "oracle")
    )
    assert frame.row(0) == frame.row(1)  # same surges, same draws
    assert frame["detected_within_2_months"][0] == 1.0
