"""Share indicators: is a country's share of persons with some property this month
higher than both the programme-wide share and the country's own recent share?

Funnel-plot limits with over-dispersion (Spiegelhalter 2005): for every country the
z-score of its count ``k`` of ``n`` against a reference share, the dispersion factor
``phi`` of the month = mean of the squared z-scores of all countries after winsorising
the top and bottom 10 % (at least 1), and the one-sided p-value 1 - Φ(z / √phi). Two
references:

``programme``: the share over all other countries in the month (leaving the country
out, so that a large surge does not raise its own reference);
``own``: the country's own share over its up to 12 eligible months ending ``GUARD + 1``
months before (months under another support regime do not count), whose sampling
error widens the limit.

An indicator only fires when the country is above *both* (the p-value is the larger of
the two: a country that always differs from the programme is not news, nor is a rise
to the programme's level). Without an own baseline (fewer than ``MIN_OWN_PERSONS`` in
it) only the programme reference is used and the method says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from models.monitoring.surges import GUARD, UPPER_QUANTILE

BOTH = "funnel_programme_and_own"
PROGRAMME_ONLY = "funnel_programme"
NONE = "no_denominator"

OWN_MONTHS = 12
MIN_OWN_PERSONS = 10
MIN_DISPERSION_UNITS = 5  # countries with at least this denominator estimate phi
MIN_DISPERSION_COUNTRIES = 5
_Z_UPPER = float(stats.norm.ppf(UPPER_QUANTILE))


@dataclass(frozen=True)
class ShareTests:
    expected: np.ndarray  # count expected under the binding reference
    upper: np.ndarray
    p_value: np.ndarray
    score: np.ndarray
    method: np.ndarray
    programme_share: np.ndarray  # per month, broadcast to (country, month)
    own_share: np.ndarray
    baseline_months: np.ndarray


def dispersion(z: np.ndarray, usable: np.ndarray) -> float:
    """Robust over-dispersion of the z-scores of ``usable`` units: (median |z| / 0.6745)²,
    at least 1. A few outlying countries - the ones we look for - barely move it (a
    winsorised mean square does, when there are only a dozen or two countries)."""
    values = z[usable & np.isfinite(z)]
    if len(values) < MIN_DISPERSION_COUNTRIES:
        return 1.0
    return max(1.0, float(np.median(np.abs(values)) / 0.6745) ** 2)


def _z(k, n, share, extra_variance=0.0):
    variance = n * share * (1 - share) + extra_variance
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, (k - 0.5 - n * share) / np.sqrt(variance), np.nan), variance


def share_tests(k: np.ndarray, n: np.ndarray, history_start: np.ndarray, first_month: int = 0):
    """Tests for counts ``k`` of ``n`` (country × month); see the module docstring."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    n_c, n_t = k.shape
    shape = (n_c, n_t)
    expected, upper, p_value = (np.full(shape, np.nan) for _ in range(3))
    programme, own = np.full(shape, np.nan), np.full(shape, np.nan)
    method = np.full(shape, NONE, dtype=object)
    months_used = np.zeros(shape, dtype=np.int64)
    lags = np.arange(GUARD + 1, GUARD + OWN_MONTHS + 1)
    for t in range(first_month, n_t):
        total_k, total_n = k[:, t].sum(), n[:, t].sum()
        rest_n = total_n - n[:, t]
        if total_n <= 0:
            continue
        # the rest of the programme: a country's own count does not set its reference
        p0 = np.where(rest_n > 0, (total_k - k[:, t]) / np.maximum(rest_n, 1), np.nan)
        programme[:, t] = p0
        has = (n[:, t] > 0) & (p0 > 0) & (p0 < 1)
        if not has.any():
            continue
        z0, var0 = _z(k[:, t], n[:, t], np.where(has, p0, 0.5))
        phi0 = dispersion(z0, has & (n[:, t] >= MIN_DISPERSION_UNITS))
        p_prog = stats.norm.sf(z0 / np.sqrt(phi0))

        src = t - lags
        ok = (src[None, :] >= 0) & (src[None, :] >= history_start[:, t][:, None])
        k_base = np.where(ok, k[:, np.maximum(src, 0)], 0).sum(axis=1)
        n_base = np.where(ok, n[:, np.maximum(src, 0)], 0).sum(axis=1)
        own_ok = n_base >= MIN_OWN_PERSONS
        p1 = (k_base + 0.5) / (n_base + 1.0)
        own[:, t] = np.where(own_ok, k_base / np.maximum(n_base, 1), np.nan)
        z1, var1 = _z(k[:, t], n[:, t], p1, n[:, t] ** 2 * p1 * (1 - p1) / (n_base + 1.0))
        phi1 = dispersion(z1, own_ok & (n[:, t] >= MIN_DISPERSION_UNITS))
        p_own = np.where(own_ok, stats.norm.sf(z1 / np.sqrt(phi1)), -1.0)

        own_binds = own_ok & (p_own > p_prog)
        share = np.where(own_binds, p1, np.where(has, p0, 0.5))
        sd = np.sqrt(np.where(own_binds, var1 * phi1, var0 * phi0))
        expected[has, t] = (n[:, t] * share)[has]
        upper[has, t] = (n[:, t] * share + _Z_UPPER * sd)[has]
        p_value[has, t] = np.maximum(p_prog, p_own)[has]
        method[has, t] = np.where(own_ok, BOTH, PROGRAMME_ONLY)[has]
        months_used[:, t] = ok.sum(axis=1) * own_ok
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (k - expected) / np.maximum(upper - expected, 1e-9)
    programme = np.where(np.isnan(expected), np.nan, programme)
    return ShareTests(
        expected, upper, p_value, score, method.astype(str), programme, own, months_used
    )
