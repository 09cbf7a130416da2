"""Volume surges: is this month's count of registrations more than the country's past
makes plausible?

Two detectors, chosen per country and month by how much *eligible* history there is
(months since the country's first registration and since the last country-specific
policy change - a month under another support regime is no baseline):

``negbin_glm`` (improved Farrington, Noufaily et al. 2013, adapted to months)
    A quasi-Poisson log-linear GLM on the country's own months ``GLM_GUARD + 1`` to
    ``GLM_GUARD + 12 * YEARS_BACK`` before the month: an intercept, a level of its own
    for the latest baseline year (volumes move in steps; without it a country whose
    volume fell last year is judged against its old level - this replaces Farrington's
    linear trend, which extrapolated such a step into a fall that goes on) and a
    4-level seasonal factor (the month's own calendar window of 3 months and three
    other 3-month blocks of the year). Past surges in the baseline are down-weighted
    (Anscombe residuals above 2.58 get weight r⁻², re-fit once). The prediction is the
    fitted level in the month's own window; its variance carries the dispersion and
    the uncertainty of the fitted level. Needs ``MIN_GLM_MONTHS`` eligible months and
    ``MIN_GLM_EVENTS`` registrations in the baseline.

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

import numpy as np
from scipy import stats

GLM = "negbin_glm"
SHORT = "ears_c2"
NONE = "insufficient_history"

GUARD = 1  # the month just before is left out of a short baseline
GLM_GUARD = 3  # the GLM leaves out 3 months, so a lasting surge is not learnt at once
YEARS_BACK = 3
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


def glm_design(lags: np.ndarray) -> np.ndarray:
    """Rows: baseline months ``lags`` before the month; columns: intercept, the latest
    year of the baseline (its own level: a country's volume moves in steps more than
    along a line), seasonal blocks 1-3. Block 0 is the month's own ±1 calendar window;
    the prediction (lag 0) is in block 0 and in the latest year: x0 = (1, 1, 0, 0, 0)."""
    distance = lags % 12
    block = np.where(np.isin(distance, (0, 1, 11)), 0, (distance + 1) // 3)  # 2-4→1, 5-7→2 …
    columns = [np.ones(len(lags)), (lags <= lags.min() + 11).astype(float)]
    columns += [(block == b).astype(float) for b in (1, 2, 3)]
    return np.column_stack(columns)


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, iterations: int = 30):
    """Batched weighted Poisson IRLS with a shared design ``x`` (n × p); ``y`` and
    ``w`` are (batch × n). Returns coefficients (batch × p) and X'WX (batch × p × p)."""
    batch, p = y.shape[0], x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)  # X'WX = W @ outer
    beta = np.zeros((batch, p))
    total = (w * y).sum(axis=1)
    beta[:, 0] = np.log((total + 0.5) / np.maximum(w.sum(axis=1), 1.0))
    ridge = 1e-8 * np.eye(p)
    for _ in range(iterations):
        eta = np.clip(beta @ x.T, -_MAX_ETA, _MAX_ETA)
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        weight = w * mu
        info = (weight @ outer).reshape(batch, p, p) + ridge
        rhs = (weight * z) @ x
        new = np.linalg.solve(info, rhs[..., None])[..., 0]
        done = np.abs(new - beta).max() < 1e-8
        beta = new
        if done:
            break
    eta = np.clip(beta @ x.T, -_MAX_ETA, _MAX_ETA)
    info = ((w * np.exp(eta)) @ outer).reshape(batch, p, p) + ridge
    return beta, info


def _dispersion(x, y, w, beta) -> np.ndarray:
    mu = np.exp(np.clip(beta @ x.T, -_MAX_ETA, _MAX_ETA))
    used = (w > 0).sum(axis=1)
    pearson = (w * (y - mu) ** 2 / mu).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12) * used
    return np.maximum(1.0, pearson / np.maximum(used - x.shape[1], 1))


def _fit(x, y, eligible):
    """Fit, down-weight outlying baseline months once, re-fit; returns coefficients,
    dispersion and the covariance of the coefficients."""
    w = eligible.astype(float)
    beta, _ = _irls(x, y, w)
    phi = _dispersion(x, y, w, beta)
    mu = np.exp(np.clip(beta @ x.T, -_MAX_ETA, _MAX_ETA))
    anscombe = 1.5 * (np.cbrt(y) ** 2 * mu ** (-1 / 6) - np.sqrt(mu)) / np.sqrt(phi)[:, None]
    down = np.where(anscombe > ANSCOMBE_LIMIT, 1.0 / np.maximum(anscombe, 1e-9) ** 2, 1.0)
    w2 = w * down
    w2 *= (w.sum(axis=1) / np.maximum(w2.sum(axis=1), 1e-12))[:, None]
    beta, info = _irls(x, y, w2, iterations=15)
    phi = _dispersion(x, y, w2, beta)
    cov = np.linalg.inv(info) * phi[:, None, None]
    return beta, phi, cov


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


def _glm_expectation(y_base: np.ndarray, eligible: np.ndarray, floor: np.ndarray):
    """Predictive mean and variance of the month (lag 0) for each batch row."""
    beta, phi, cov = _fit(glm_design(glm_lags()), y_base, eligible)
    x0 = np.array([1.0, 1.0])  # intercept + latest year, seasonal block 0
    eta = beta[:, :2] @ x0
    var_eta = np.einsum("i,bij,j->b", x0, cov[:, :2, :2], x0)
    mean = np.exp(np.clip(eta, -_MAX_ETA, _MAX_ETA))
    phi = np.maximum(phi, floor)
    return mean, phi * mean + mean**2 * var_eta


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
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        c, t = cc[part], tt[part]
        mean, variance = _glm_expectation(y_base[part], eligible[part], floor[c])
        up, p = nb_upper_and_p(mean, variance, counts[c, t])
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
        up, p_month = nb_upper_and_p(mean, spread * (1 + 1 / k), observed)
        # the month and the one before together (EARS C3-like): a lasting step is
        # clearer in two months than in either; Bonferroni over the two statistics
        pair = (t >= 1) & (t - 1 >= history_start[use, t])
        pair_observed = observed + (counts[use, t - 1] if t >= 1 else 0)
        _, p_pair = nb_upper_and_p(2 * mean, spread * (2 + 4 / k), pair_observed)
        p = np.where(pair, np.minimum(1.0, 2 * np.minimum(p_month, p_pair)), p_month)
        expected[use, t], upper[use, t], p_value[use, t] = mean, up, p
        method[use, t] = SHORT
        months_used[use, t] = k
        step = pair & (p_pair < 1 - UPPER_QUANTILE)
        flagged[use, t] = (observed > up) | step
        # a step seen in the pair started the month before: that month leaves too
        before = np.flatnonzero(use)[step & (counts[use, t - 1] > mean)]
        flagged[before, t - 1] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.maximum(upper - expected, 1e-9)
        score = (counts - expected) / spread
    return SurgeTests(expected, upper, p_value, score, method.astype(str), months_used)
