"""How registrations respond to the support on offer: an elasticity learnt from past
changes of the support table.

The question finance asks of a new table ("Moldova's premium doubles: how many more
people register?") needs a behavioural response, and the only evidence is the dated
changes of the past: the 2025 restrictions, Brazil's reintegration ending on
2025-12-01, Moldova's premium ending on 2025-06-01, the 2026 table. One number is
estimated from all of them, pooled over countries:

    log E[registrations(c, t)] = country level(c) + country trend(c) · t
                                 + common effect(t) + controls(c, t)
                                 + β · log support(c, t)

with negative-binomial noise (``models.negbin.fit_negbin``). ``β`` is the elasticity:
a 10 % higher support means about ``β`` × 10 % more registrations.

* ``common effect(t)``: one effect per calendar month of the history (a "two-way
  fixed-effects" design). It contains month-of-year seasonality, yearly levels and any
  programme-wide shock on any date, so a change that hit every country alike (a
  common shock, or a table change of the same proportion everywhere) is never taken
  for a response: ``β`` is learnt only from support changing *differently* across
  countries (different dates or different sizes), compared with the countries whose
  support did not change. Nearly unpenalised (``common_prior_sd``).
* Country levels: nearly free (``country_level_prior_sd``). Country trends: shrunk
  towards zero (``country_trend_prior_sd`` per year), so a country drifting up or down
  is not mistaken for a response to a step, while a step is not absorbed by a trend.
* ``controls``: other dated 0/1 (or any) covariates per country and month that are
  *not* support changes but coincide with some, e.g. an eligibility restriction.
  Leaving such an event out attributes all of its effect to the support.
* Support is the EUR a typical registrant of that country would get under the table in
  force that month. It must be > 0; where a table gives 0 (no premium, no base) pass
  ``support_floor``: every support below it is raised to it before the log. The floor
  decides how large "a change to nothing" is (log(old / floor)), so choose it as the
  smallest amount that still matters to a registrant (e.g. the travel paid anyway) and
  try another to see how much the answer depends on it.
* ``anticipation_months``: months just before each change of a country's support are
  left out of the fit (and of the event table's "before" window), for a rush to
  register before a premium ends that would otherwise exaggerate the response.

Uncertainty (``se``): the larger of two standard errors of ``β``,

* the model-based one (inverse penalised information of the NB fit), right when the
  NB model is right, and
* a leave-one-country-out jackknife (each country's refit approximated by one Newton
  step from the full fit), right when the noise is more dispersed than NB or
  correlated from month to month within a country, which the model-based one ignores.

On simulated panels with NB noise the two agree (the larger is a little
conservative); with noise correlated over months (AR(1), 0.7) the model-based one is
about 15 % too small and the jackknife close to right. Neither knows about confounding
(another change on the same date as a support change, for the same countries: pass it
in ``controls``), and both rest on few clusters when only a few countries' support
changed. The intervals are normal (``β ± z · se``). Warnings
(``ResponseEstimate.warnings``) say when the evidence is thin: fewer than five
countries with a change, a jackknife error much larger than the model-based one
(misspecification), events too recent to show an "after".

The event table (``ResponseEstimate.events``, ``event_table()``) is the same evidence
as a reader can check it: for each change of a country's support, the registrations of
the ``event_window`` months after against as many months before (equal lengths, cut
at the country's neighbouring changes and at the ends of the data; ``None`` when fewer
than ``min_event_months`` remain), and the same ratio for the countries whose support
did not change in those months. The difference of the two log ratios, divided by the
log change of support, is that event's own (noisy) elasticity.

``draw_elasticities`` and ``volume_multiplier`` carry the estimate into a scenario:
each draw of ``β`` scales a country's volume by ``(after / before) ** β``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import scipy.linalg
import scipy.sparse as sparse
from scipy.stats import norm

from models.negbin import fit_negbin

_CHANGE_TOL = 1e-9  # a log change of support smaller than this is no change
_FEW_COUNTRIES = 5  # fewer countries with a change than this: warn
_ROBUST_WARN_RATIO = 1.5  # sandwich / model-based se above this: warn
_HALF = 0.5  # added to both sums of an event's log ratio (empty windows)


class NotIdentifiedError(ValueError):
    """The support did not vary in a way the model can tell from common shocks and
    country levels: there is no evidence for an elasticity. ``reason``: a stable code
    for the why (reports translate it; the message is English)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ResponseSettings:
    """Prior scales (Gaussian, zero-centred; per year for trends) and the event table."""

    country_level_prior_sd: float = 5.0
    country_trend_prior_sd: float = 0.1
    common_prior_sd: float = 5.0
    control_prior_sd: float = 2.0
    elasticity_prior_sd: float = 100.0  # practically flat
    anticipation_months: int = 0
    event_window: int = 12
    min_event_months: int = 6


@dataclass(frozen=True)
class SupportEvent:
    """One change of one country's support, and what registrations did around it.

    ``log_ratio``: log(registrations after / before) over ``months_compared`` months
    each side (0.5 added to both sums); ``control_log_ratio``: the same for the
    ``control_countries`` whose support did not change in those months;
    ``relative_log_ratio``: the difference; ``implied_elasticity``: that difference
    over ``log_change``. ``None`` where the windows are too short or there are no
    controls (then ``note`` says why)."""

    country: str
    month: date
    support_before: float
    support_after: float
    log_change: float
    months_compared: int
    registrations_before: float | None
    registrations_after: float | None
    log_ratio: float | None
    control_countries: int
    control_log_ratio: float | None
    relative_log_ratio: float | None
    implied_elasticity: float | None
    note: str


@dataclass(frozen=True)
class ResponseEstimate:
    """The elasticity of registrations to support, with its evidence.

    ``se`` = max(``se_model``, ``se_robust``: the leave-one-country-out jackknife; module
    docstring); ``alpha``: the NB dispersion of the fit; ``interval80`` and
    ``interval95``: normal intervals on ``se``. ``countries_changed``: countries whose
    support changed at least once; ``months_changed``: distinct months in which some
    country's support changed; ``identifying_sd``: standard deviation of log support
    left after removing country and month means (0: nothing to learn from)."""

    elasticity: float
    se: float
    se_model: float
    se_robust: float
    interval80: tuple[float, float]
    interval95: tuple[float, float]
    countries: int
    months: int
    countries_changed: int
    months_changed: int
    identifying_sd: float
    log_change_range: tuple[float, float]
    alpha: float
    support_floor: float | None
    events: tuple[SupportEvent, ...]
    warnings: tuple[str, ...]

    def interval(self, level: float) -> tuple[float, float]:
        """Normal interval at ``level`` (e.g. 0.9) on ``se``."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        z = float(norm.ppf(0.5 + level / 2))
        return (self.elasticity - z * self.se, self.elasticity + z * self.se)

    def event_table(self) -> pl.DataFrame:
        """The per-event evidence, one row per change of a country's support."""
        schema = {
            "country": pl.String,
            "month": pl.Date,
            "support_before": pl.Float64,
            "support_after": pl.Float64,
            "log_change": pl.Float64,
            "months_compared": pl.Int64,
            "registrations_before": pl.Float64,
            "registrations_after": pl.Float64,
            "log_ratio": pl.Float64,
            "control_countries": pl.Int64,
            "control_log_ratio": pl.Float64,
            "relative_log_ratio": pl.Float64,
            "implied_elasticity": pl.Float64,
            "note": pl.String,
        }
        rows = [{name: getattr(e, name) for name in schema} for e in self.events]
        return pl.DataFrame(rows, schema=schema, orient="row")


def _month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _log_support(support: np.ndarray, floor: float | None, what: str) -> np.ndarray:
    if not np.all(np.isfinite(support)):
        raise ValueError(f"{what} must be finite")
    if floor is not None:
        if not floor > 0:
            raise ValueError(f"support_floor must be > 0, got {floor}")
        support = np.maximum(support, floor)
    elif np.any(support <= 0):
        raise ValueError(
            f"{what} must be > 0 (EUR per registrant); where a table gives nothing, "
            "pass support_floor"
        )
    return np.log(support)


def _two_way_residual(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x`` minus country and month means (alternating projections on the kept cells;
    exact in one step when every cell is kept)."""
    r = np.where(keep, x, 0.0)
    n_row = np.maximum(keep.sum(axis=1, keepdims=True), 1)
    n_col = np.maximum(keep.sum(axis=0, keepdims=True), 1)
    for _ in range(200):
        r = np.where(keep, r - r.sum(axis=1, keepdims=True) / n_row, 0.0)
        col = r.sum(axis=0, keepdims=True) / n_col
        r = np.where(keep, r - col, 0.0)
        if np.max(np.abs(col)) < 1e-12 and np.max(np.abs(r.sum(axis=1))) < 1e-10:
            break
    return r


def estimate_response(
    countries: Sequence[str],
    first_month: int,
    counts: np.ndarray,
    support: np.ndarray,
    *,
    controls: Mapping[str, np.ndarray] | None = None,
    support_floor: float | None = None,
    settings: ResponseSettings = ResponseSettings(),
) -> ResponseEstimate:
    """Estimate the elasticity of registrations to support.

    ``counts``, ``support`` and each of ``controls``: (countries × months) arrays,
    months from ``first_month`` (``year * 12 + month - 1``) on. Raises
    ``NotIdentifiedError`` (a ``ValueError``) when support never varies across
    countries beyond common month effects, ``ValueError`` on bad input."""
    countries = tuple(countries)
    counts = np.asarray(counts, dtype=float)
    support = np.asarray(support, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts must be (countries × months), got shape {counts.shape}")
    n_c, n_m = counts.shape
    if n_c != len(countries):
        raise ValueError(f"{len(countries)} countries but counts for {n_c}")
    if len(set(countries)) != n_c:
        raise ValueError("countries must be distinct")
    if support.shape != counts.shape:
        raise ValueError(f"support has shape {support.shape} but counts {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and non-negative")
    if n_m < 3:
        raise ValueError(f"{n_m} months: at least 3 are needed")
    control_names = tuple(controls or {})
    control_values = []
    for name in control_names:
        value = np.asarray(controls[name], dtype=float)  # type: ignore[index]
        if value.shape != counts.shape:
            raise ValueError(f"control {name!r} has shape {value.shape} but counts {counts.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"control {name!r} must be finite")
        control_values.append(value)
    if settings.anticipation_months < 0 or settings.min_event_months < 1:
        raise ValueError("anticipation_months must be >= 0 and min_event_months >= 1")
    log_s = _log_support(support, support_floor, "support")

    # Changes: (country, month) where the log support differs from the month before.
    step = np.zeros_like(log_s)
    step[:, 1:] = np.diff(log_s, axis=1)
    changed = np.abs(step) > _CHANGE_TOL
    keep = np.ones((n_c, n_m), bool)
    for c, m in zip(*np.nonzero(changed), strict=True):
        keep[c, max(m - settings.anticipation_months, 0) : m] = False
    keep &= counts.sum(axis=1, keepdims=True) > 0  # a country never seen says nothing
    events = _events(countries, first_month, counts, log_s, changed, support_floor, settings)

    residual = _two_way_residual(log_s, keep)
    identifying_sd = float(np.sqrt(np.sum(residual**2) / max(keep.sum(), 1)))
    if identifying_sd < 1e-6:
        raise NotIdentifiedError(
            "support never changed differently across countries (no change, or every "
            "country's support changed by the same proportion in the same month): an "
            "elasticity cannot be told apart from common month effects",
            reason="no_relative_change",
        )

    fit_c, fit_m = np.nonzero(keep)
    n = len(fit_c)
    mid = (n_m - 1) / 2
    years = (fit_m - mid) / 12.0
    columns = [  # (column index per row, value per row, width)
        (np.zeros(n, np.int64), np.ones(n), 1),
        (fit_c, np.ones(n), n_c),
        (fit_c, years, n_c),
        (np.maximum(fit_m - 1, 0), (fit_m >= 1).astype(float), n_m - 1),  # month 0: reference
        *[(np.zeros(n, np.int64), v[fit_c, fit_m], 1) for v in control_values],
        (np.zeros(n, np.int64), log_s[fit_c, fit_m], 1),
    ]
    rows, cols, vals, offset = [], [], [], 0
    for col, val, width in columns:
        rows.append(np.arange(n))
        cols.append(col + offset)
        vals.append(val)
        offset += width
    design = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, offset)
    )
    design.eliminate_zeros()
    penalty = np.concatenate(
        [
            [0.0],
            np.full(n_c, settings.country_level_prior_sd**-2),
            np.full(n_c, settings.country_trend_prior_sd**-2),
            np.full(n_m - 1, settings.common_prior_sd**-2),
            np.full(len(control_values), settings.control_prior_sd**-2),
            [settings.elasticity_prior_sd**-2],
        ]
    )
    y = counts[fit_c, fit_m]
    fit = fit_negbin(design, y, penalty=penalty)
    b = offset - 1
    beta = float(fit.coef[b])
    se_model = float(np.sqrt(fit.cov[b, b]))

    se_robust = _jackknife_se(design, y, fit_c, fit.coef, fit.alpha, penalty, b)
    se = se_model if np.isnan(se_robust) else max(se_model, se_robust)

    countries_changed = int(np.count_nonzero(changed.any(axis=1)))
    months_changed = int(np.count_nonzero(changed.any(axis=0)))
    log_changes = step[changed]
    warnings = []
    if countries_changed < _FEW_COUNTRIES:
        warnings.append(
            f"only {countries_changed} countries' support changed: the elasticity rests on "
            "few events and its interval may be too narrow"
        )
    if se_robust > _ROBUST_WARN_RATIO * se_model:
        warnings.append(
            f"the leave-one-country-out standard error is {se_robust / se_model:.1f} times "
            "the model-based one: the NB model misses overdispersion or correlation over "
            "time; the interval uses the larger"
        )
    recent = [e for e in events if e.log_ratio is None]
    if recent:
        warnings.append(
            f"{len(recent)} of {len(events)} changes have fewer than "
            f"{settings.min_event_months} months on a side in the event table"
        )
    z80, z95 = float(norm.ppf(0.9)), float(norm.ppf(0.975))
    return ResponseEstimate(
        elasticity=beta,
        se=se,
        se_model=se_model,
        se_robust=se_robust,
        interval80=(beta - z80 * se, beta + z80 * se),
        interval95=(beta - z95 * se, beta + z95 * se),
        countries=n_c,
        months=n_m,
        countries_changed=countries_changed,
        months_changed=months_changed,
        identifying_sd=identifying_sd,
        log_change_range=(float(log_changes.min()), float(log_changes.max())),
        alpha=fit.alpha,
        support_floor=support_floor,
        events=events,
        warnings=tuple(warnings),
    )


def _jackknife_se(
    design: sparse.csr_array,
    y: np.ndarray,
    country: np.ndarray,
    coef: np.ndarray,
    alpha: float,
    penalty: np.ndarray,
    b: int,
) -> float:
    """Leave-one-country-out jackknife standard error of coefficient ``b``.

    Each refit without country ``c`` is one Newton step from the full fit:
    ``coef − (H − H_c)⁻¹ s_c`` (``H``: penalised information, ``H_c`` and ``s_c``:
    country ``c``'s information and score), at the full fit's ``alpha``; the variance
    is ``(G − 1) / G · Σ (β₋c − mean)²`` over the ``G`` countries in the fit."""
    eta = design @ coef
    mu = np.exp(np.clip(eta, -30.0, 30.0))
    w = mu / (1.0 + alpha * mu)
    score = (y - mu) / (1.0 + alpha * mu)
    info = (design.T @ (design * w[:, None])).toarray()
    info[np.diag_indices_from(info)] += penalty
    order = np.argsort(country, kind="stable")
    bounds = np.flatnonzero(np.diff(np.r_[-1, country[order], -2]))
    left_out = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[start:stop]
        x_c = design[rows].toarray()
        info_c = (x_c * w[rows, None]).T @ x_c
        s_c = x_c.T @ score[rows]
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(info - info_c), s_c)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info - info_c, s_c, rcond=None)[0]
        left_out.append(coef[b] - step[b])
    g = len(left_out)
    if g < 2:
        return float("nan")
    values = np.asarray(left_out)
    return float(np.sqrt((g - 1) / g * np.sum((values - values.mean()) ** 2)))


def _events(
    countries: tuple[str, ...],
    first_month: int,
    counts: np.ndarray,
    log_s: np.ndarray,
    changed: np.ndarray,
    support_floor: float | None,
    settings: ResponseSettings,
) -> tuple[SupportEvent, ...]:
    """The event table (``SupportEvent``), in order of month then country."""
    n_m = counts.shape[1]
    gap = settings.anticipation_months
    events = []
    for m, c in sorted(zip(*np.nonzero(changed.T), strict=True)):
        own = np.nonzero(changed[c])[0]
        previous = own[own < m]
        following = own[own > m]
        start = int(previous.max()) if len(previous) else 0  # before: [start, m - gap)
        stop = int(following.min()) if len(following) else n_m  # after: [m, stop)
        k = min(settings.event_window, m - gap - start, stop - m)
        before = slice(m - gap - k, m - gap) if k > 0 else slice(0, 0)
        after = slice(m, m + k)
        base = dict(
            country=countries[c],
            month=_month_of(first_month + int(m)),
            support_before=float(np.exp(log_s[c, m - 1])),
            support_after=float(np.exp(log_s[c, m])),
            log_change=float(log_s[c, m] - log_s[c, m - 1]),
            months_compared=max(k, 0),
        )
        at_floor = support_floor is not None and min(
            base["support_before"], base["support_after"]
        ) <= support_floor * (1 + 1e-9)
        if k < settings.min_event_months:
            short = f"fewer than {settings.min_event_months} months on a side " + (
                "(end of data or another change of this country)"
            )
            events.append(
                SupportEvent(
                    **base,
                    registrations_before=None,
                    registrations_after=None,
                    log_ratio=None,
                    control_countries=0,
                    control_log_ratio=None,
                    relative_log_ratio=None,
                    implied_elasticity=None,
                    note=short + ("; support at the floor" if at_floor else ""),
                )
            )
            continue
        r_before = float(counts[c, before].sum())
        r_after = float(counts[c, after].sum())
        log_ratio = float(np.log((r_after + _HALF) / (r_before + _HALF)))
        # Controls: every other country whose support was constant over both windows.
        window = slice(m - gap - k, m + k)
        span = log_s[:, window]
        steady = np.all(np.abs(span - span[:, :1]) <= _CHANGE_TOL, axis=1)
        steady[c] = False
        if steady.any():
            c_before = float(counts[steady, before].sum())
            c_after = float(counts[steady, after].sum())
            control = float(np.log((c_after + _HALF) / (c_before + _HALF)))
            relative = log_ratio - control
            implied = relative / base["log_change"]
            note = ""
        else:
            control = relative = implied = None
            note = "every other country's support changed in these months: no controls"
        if at_floor:
            note = (note + "; " if note else "") + "support at the floor"
        events.append(
            SupportEvent(
                **base,
                registrations_before=r_before,
                registrations_after=r_after,
                log_ratio=log_ratio,
                control_countries=int(steady.sum()),
                control_log_ratio=control,
                relative_log_ratio=relative,
                implied_elasticity=implied,
                note=note,
            )
        )
    return tuple(events)


def draw_elasticities(
    estimate: ResponseEstimate, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """``draws`` elasticities from N(elasticity, se²) (the normal the intervals use)."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    return estimate.elasticity + estimate.se * rng.standard_normal(draws)


def volume_multiplier(
    elasticities: np.ndarray | float,
    support_before: np.ndarray,
    support_after: np.ndarray,
    *,
    support_floor: float | None = None,
) -> np.ndarray:
    """(draws × countries) multipliers ``exp(β · (log after − log before))`` on volume.

    ``elasticities``: (draws,) or a scalar (one draw); ``support_before`` and
    ``support_after``: per country (or any shape, e.g. countries × months; the result
    is then draws × that shape). ``support_floor``: as in ``estimate_response`` (use
    the same). The multiplier is 1 where support is unchanged, whatever ``β``."""
    beta = np.atleast_1d(np.asarray(elasticities, dtype=float))
    if beta.ndim != 1 or not np.all(np.isfinite(beta)):
        raise ValueError("elasticities must be a finite scalar or 1-d array of draws")
    before = np.asarray(support_before, dtype=float)
    after = np.asarray(support_after, dtype=float)
    if before.shape != after.shape:
        raise ValueError(f"support_before has shape {before.shape} but support_after {after.shape}")
    change = _log_support(after, support_floor, "support_after") - _log_support(
        before, support_floor, "support_before"
    )
    return np.exp(beta.reshape((-1,) + (1,) * change.ndim) * change[None, ...])
