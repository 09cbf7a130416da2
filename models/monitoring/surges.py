"""Volume surges: is this month's count of registrations more than the country's past
makes plausible?

Two detectors, chosen per country and month by how much *eligible* history there is
(months since the country's first registration and since the last country-specific
policy change - a month under another support regime is no baseline):

``negbin_glm`` (improved Farrington, Noufaily et al. 2013, adapted to months)
    A quasi-Poisson log-linear model of the country's own months ``GLM_GUARD + 1`` to
    ``GLM_GUARD + 12 * YEARS_BACK`` before the month, with
    - a level of its own for each baseline year (``LEVEL_STARTS``); the prediction is
      the latest. Volumes move from year to year; a linear trend (Farrington)
      extrapolated such moves into a rise or fall that goes on, a single level judged
      a country whose volume fell against its old level;
    - the programme's seasonality as an offset: factors for each calendar distance
      from the month, fitted on the whole programme's monthly totals over the same
      baseline months. A mid-sized country's own 36 months fix its season poorly
      (its 4 seasonal blocks doubled the variance of the prediction); the
      programme's total fixes it well.
    Past surges in the baseline are down-weighted (Anscombe residuals above 2.58 get
    weight r⁻², re-fit once). The prediction's variance carries the dispersion and the
    uncertainty of the fitted level. The p-value is the smaller of the month's and of
    the month-plus-the-month-before's, doubled (as for ``ears_c2``). Needs
    ``MIN_GLM_MONTHS`` eligible months and ``MIN_GLM_EVENTS`` registrations in the
    baseline. (Alternatives tried in the detector evaluation - a trend, a 6-month
    latest level, own seasonal blocks, a 3-month guard - detected no more surges.)

``ears_c2`` (short baseline, CDC EARS C2 adapted to months)
    Mean and variance of the up to 7 eligible months ending ``GUARD + 1`` months
    before, with a Poisson floor on the variance (variance ≥ mean, mean ≥ half a
    registration over the baseline). Months that were themselves above their upper
    bound never enter a short baseline, so a surge does not become its own baseline.
    Needs ``MIN_SHORT_MONTHS`` such months. The p-value is the smaller of the month's
    and of the month-plus-the-month-before's (like EARS C3, a lasting step shows more
    clearly in two months), doubled (Bonferroni). Used for the four countries whose 2025
    restriction was lifted, for countries whose support changed recently and for new
    destinations.

Both give an expected count, the upper bound (the ``UPPER_QUANTILE`` quantile of a
negative-binomial with the predictive mean and variance), a one-sided p-value
P(Y ≥ observed) under that distribution, and the score
(observed - expected) / (upper - expected): above 1 means above the upper bound.
Months without enough eligible history are reported with method ``insufficient_history``
and no test.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import stats

GLM = "negbin_glm"
SHORT = "ears_c2"
NONE = "insufficient_history"

GUARD = 1  # the month just before is left out of a short baseline
GLM_GUARD = 2  # the GLM leaves out 2 months, so a lasting surge is not learnt at once
YEARS_BACK = 3
LEVEL_STARTS = (0, 12, 24)  # baseline periods with a level of their own (months in)
MIN_GLM_MONTHS = 24
MIN_GLM_EVENTS = 10
SHORT_MONTHS = 7
MIN_SHORT_MONTHS = 3
UPPER_QUANTILE = 0.995
ANSCOMBE_LIMIT = 2.58
_MAX_ETA = 20.0
_BATCH = 20_000  # (country, month) fits per batch: bounds memory in trials


@dataclass(frozen=True)
class SurgeTests:
    """Per (country, month) arrays; untested cells have NaN expected and p-value."""

    expected: np.ndarray
    upper: np.ndarray
    p_value: np.ndarray
    score: np.ndarray
    method: np.ndarray  # str: GLM, SHORT or NONE
    baseline_months: np.ndarray  # int

    @property
    def above_upper(self) -> np.ndarray:
        return np.nan_to_num(self.score, nan=-np.inf) > 1.0


def glm_lags() -> np.ndarray:
    return np.arange(GLM_GUARD + 1, GLM_GUARD + 12 * YEARS_BACK + 1)


def level_design(lags: np.ndarray) -> np.ndarray:
    """(lags × periods) 0/1: which baseline period (``LEVEL_STARTS``, latest first)
    each baseline month belongs to."""
    offset = lags - lags.min()
    edges = [*LEVEL_STARTS, 12 * YEARS_BACK]
    return np.column_stack(
        [((offset >= a) & (offset < b)).astype(float) for a, b in pairwise(edges)]
    )


def programme_season(counts: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(months × 12) log seasonal factors of the whole programme by calendar distance
    from each month (column 0: the month itself, so 0), from the same baseline months
    as the countries' fits: a Poisson GLM of the programme's monthly total on the
    period levels and 11 calendar-distance factors."""
    lags = glm_lags()
    totals = counts.sum(axis=0)
    source = months[:, None] - lags[None, :]
    inside = source >= 0
    y = np.where(inside, totals[np.maximum(source, 0)], 0.0)
    distance = lags % 12
    x = np.column_stack([level_design(lags), *[distance == d for d in range(1, 12)]])
    beta = _irls(x.astype(float), y, inside.astype(float), levels=len(LEVEL_STARTS))
    season = np.zeros((len(months), 12))
    season[:, 1:] = beta[:, len(LEVEL_STARTS) :]
    return season


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, levels: int, iterations: int = 50):
    """Batched weighted Poisson IRLS with a shared design ``x`` (n × p) whose first
    ``levels`` columns partition the rows; ``y`` and ``w`` are (batch × n)."""
    batch, p = y.shape[0], x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)  # X'WX = W @ outer
    beta = np.zeros((batch, p))
    beta[:, :levels] = np.log(((w * y).sum(axis=1) + 0.5) / np.maximum(w.sum(axis=1), 1.0))[:, None]
    ridge = 1e-8 * np.eye(p)
    for _ in range(iterations):
        eta = np.clip(beta @ x.T, -_MAX_ETA, _MAX_ETA)
        mu = np.exp(eta)
        weight = w * mu
        info = (weight @ outer).reshape(batch, p, p) + ridge
        rhs = (weight * (eta + (y - mu) / mu)) @ x
        new = np.linalg.solve(info, rhs[..., None])[..., 0]
        done = np.abs(new - beta).max() < 1e-8
        beta = new
        if done:
            break
    return beta


def _levels(y, w, exposure, periods):
    """Weighted Poisson maximum likelihood of one level per period (closed form: the
    design is a partition and the seasonal factors are an offset): Σwy / Σw·exposure.
    Returns the levels (batch × periods) and the fitted means (batch × n)."""
    events = (w * y) @ periods
    at_risk = (w * exposure) @ periods
    level = np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)
    return level, (level @ periods.T) * exposure


def _dispersion(y, w, mu, periods) -> np.ndarray:
    """Quasi-Poisson dispersion (Pearson), at least 1; a period without eligible
    months has no parameter."""
    used = (w > 0).sum(axis=1)
    pearson = (w * (y - mu) ** 2 / np.maximum(mu, 1e-12)).sum(axis=1)
    pearson *= used / np.maximum(w.sum(axis=1), 1e-12)
    parameters = ((w @ periods) > 0).sum(axis=1)
    return np.maximum(1.0, pearson / np.maximum(used - parameters, 1))


def _glm_expectation(y, eligible, season_offset, floor):
    """Predictive mean of the month (the latest level at the month's own season), the
    dispersion, and the relative variance of that level, var(log level).

    Fit, down-weight outlying baseline months (Anscombe residuals above
    ``ANSCOMBE_LIMIT`` get weight r⁻², weights rescaled to the same total), re-fit.
    The latest level is at least half a registration over its period (as the short
    baseline), so a country that had none for a year still gets a finite test."""
    periods = level_design(glm_lags())
    exposure = np.exp(season_offset)
    w = eligible.astype(float)
    _, mu = _levels(y, w, exposure, periods)
    phi = _dispersion(y, w, mu, periods)
    safe_mu = np.maximum(mu, 1e-12)  # months of an empty period have no residual
    anscombe = 1.5 * (np.cbrt(y) ** 2 * safe_mu ** (-1 / 6) - np.sqrt(mu)) / np.sqrt(phi)[:, None]
    anscombe = np.where(mu > 0, anscombe, 0.0)
    down = np.where(anscombe > ANSCOMBE_LIMIT, 1.0 / np.maximum(anscombe, 1e-9) ** 2, 1.0)
    w2 = w * down
    w2 *= (w.sum(axis=1) / np.maximum(w2.sum(axis=1), 1e-12))[:, None]
    level, mu = _levels(y, w2, exposure, periods)
    phi = np.maximum(_dispersion(y, w2, mu, periods), floor)
    latest = periods[:, 0]
    at_risk = (w2 * exposure) @ latest
    mean = np.maximum(level[:, 0], 0.5 / np.maximum(at_risk, 1e-12))
    # var(level) = φ Σ w² e·level / (Σ w e)²  (weighted Poisson score)
    level_var = phi * ((w2**2 * exposure) @ latest) / (mean * at_risk**2)
    return mean, phi, level_var


def nb_upper_and_p(mean, variance, observed, quantile=UPPER_QUANTILE):
    """Upper bound and P(Y ≥ observed) for a count with this predictive mean and
    variance: negative binomial when over-dispersed, else Poisson."""
    mean = np.maximum(mean, 1e-9)
    over = variance > mean * (1 + 1e-9)
    size = np.where(over, mean**2 / np.where(over, variance - mean, 1.0), 1.0)
    prob = size / (size + mean)
    nb_upper = stats.nbinom.ppf(quantile, size, prob)
    nb_p = stats.nbinom.sf(observed - 1, size, prob)
    po_upper = stats.poisson.ppf(quantile, mean)
    po_p = stats.poisson.sf(observed - 1, mean)
    upper = np.where(over, nb_upper, po_upper)
    p = np.where(observed <= 0, 1.0, np.where(over, nb_p, po_p))
    return upper.astype(float), np.clip(p, 0.0, 1.0)


def month_or_pair(mean, variance, observed, pair_mean, pair_variance, pair_observed, pair_ok):
    """Upper bound of the month, and the p-value of the month alone or of the month
    with the one before (like EARS C3: a lasting step shows more clearly in two months
    than in either), whichever is smaller, doubled (Bonferroni); the month alone where
    there is no month before (``pair_ok`` false).
    Returns upper, p and the pair's own p-value (NaN where there is no pair)."""
    up, p_month = nb_upper_and_p(mean, variance, observed)
    _, p_pair = nb_upper_and_p(pair_mean, pair_variance, pair_observed)
    p = np.where(pair_ok, np.minimum(1.0, 2 * np.minimum(p_month, p_pair)), p_month)
    return up, p, np.where(pair_ok, p_pair, np.nan)


def _month_and_pair(mean, mean_before, dispersion, level_var, observed, before, pair_ok):
    """``month_or_pair`` for a fitted expectation: a count's variance is
    ``dispersion`` × its mean plus mean² × ``level_var`` (the fitted level's relative
    variance, shared by the two months of the pair)."""
    pair_mean = mean + mean_before
    return month_or_pair(
        mean,
        dispersion * mean + mean**2 * level_var,
        observed,
        pair_mean,
        dispersion * pair_mean + pair_mean**2 * level_var,
        observed + before,
        pair_ok,
    )


def detect_surges(
    counts: np.ndarray,
    history_start: np.ndarray,
    first_month: int = 0,
    variance_floor: float | np.ndarray = 1.0,
):
    """Surge tests for every country (rows) and month (columns) of ``counts``.

    ``history_start[c, t]``: the first month (column index) that may serve as a
    baseline for country ``c`` in month ``t`` (its first registration, or the start of
    the support regime in force in ``t``, whichever is later). Columns before
    ``first_month`` are used as history only and get no test.
    """
    counts = np.asarray(counts, dtype=float)
    floor = np.broadcast_to(np.asarray(variance_floor, dtype=float), (counts.shape[0],))
    n_c, n_t = counts.shape
    expected = np.full((n_c, n_t), np.nan)
    upper = np.full((n_c, n_t), np.nan)
    p_value = np.full((n_c, n_t), np.nan)
    method = np.full((n_c, n_t), NONE, dtype=object)
    months_used = np.zeros((n_c, n_t), dtype=np.int64)

    # 1. the GLM for every (country, month) with enough eligible history, in batches
    lags = glm_lags()
    t_all = np.arange(first_month, n_t)
    cc, tt = np.meshgrid(np.arange(n_c), t_all, indexing="ij")
    cc, tt = cc.ravel(), tt.ravel()
    source = tt[:, None] - lags[None, :]
    eligible = (source >= 0) & (source >= history_start[cc, tt][:, None])
    y_base = np.where(eligible, counts[cc[:, None], np.maximum(source, 0)], 0.0)
    n_eligible = eligible.sum(axis=1)
    glm_ok = (n_eligible >= MIN_GLM_MONTHS) & (y_base.sum(axis=1) >= MIN_GLM_EVENTS)
    rows = np.flatnonzero(glm_ok)
    season = programme_season(counts, t_all)
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        c, t = cc[part], tt[part]
        month_season = season[t - first_month]
        mean, dispersion, level_var = _glm_expectation(
            y_base[part], eligible[part], month_season[:, lags % 12], floor[c]
        )
        pair_ok = (t >= 1) & (t - 1 >= history_start[c, t])
        before = np.where(t >= 1, counts[c, np.maximum(t - 1, 0)], 0.0)
        mean_before = mean * np.exp(month_season[:, 1])
        up, p, _ = _month_and_pair(
            mean, mean_before, dispersion, level_var, counts[c, t], before, pair_ok
        )
        expected[c, t], upper[c, t], p_value[c, t] = mean, up, p
        method[c, t] = GLM
        months_used[c, t] = n_eligible[part]

    # 2. the short baseline, month by month (a month above its bound leaves the baseline)
    flagged = np.zeros((n_c, n_t), dtype=bool)
    glm_cell = np.zeros((n_c, n_t), dtype=bool)
    glm_cell[cc[glm_ok], tt[glm_ok]] = True
    short_lags = np.arange(GUARD + 1, GUARD + SHORT_MONTHS + 1)
    for t in range(first_month, n_t):
        src = t - short_lags
        ok = (src[None, :] >= 0) & (src[None, :] >= history_start[:, t][:, None])
        ok &= ~flagged[:, np.maximum(src, 0)]
        use = ~glm_cell[:, t] & (ok.sum(axis=1) >= MIN_SHORT_MONTHS)
        if not use.any():
            continue
        base = np.where(ok, counts[:, np.maximum(src, 0)], np.nan)[use]
        k = ok[use].sum(axis=1)
        mean = np.maximum(np.nanmean(base, axis=1), 0.5 / k)
        spread = np.maximum(np.nanvar(base, axis=1, ddof=1), mean * floor[use])
        observed = counts[use, t]
        pair = (t >= 1) & (t - 1 >= history_start[use, t])
        before = counts[use, t - 1] if t >= 1 else np.zeros_like(observed)
        up, p, p_pair = _month_and_pair(
            mean, mean, spread / mean, spread / (k * mean**2), observed, before, pair
        )
        expected[use, t], upper[use, t], p_value[use, t] = mean, up, p
        method[use, t] = SHORT
        months_used[use, t] = k
        step = pair & (np.nan_to_num(p_pair, nan=1.0) < 1 - UPPER_QUANTILE)
        flagged[use, t] = (observed > up) | step
        # a step seen in the pair started the month before: that month leaves too
        started = np.flatnonzero(use)[step & (before > mean)]
        flagged[started, t - 1] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.maximum(upper - expected, 1e-9)
        score = (counts - expected) / spread
    return SurgeTests(expected, upper, p_value, score, method.astype(str), months_used)
