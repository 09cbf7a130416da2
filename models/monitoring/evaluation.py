"""How good are the volume detectors? Simulated trials on known expectations.

Every trial draws monthly registrations for all countries around ``expected``
(Poisson, or negative binomial for over-dispersed data). A clean trial injects
nothing: every alarm is false. A surge trial multiplies one country's expectation by
``factor`` from one month on, the (country, month) pair drawn from ``surge_cells``:
the first alarm for that country from that month on gives the delay (0 = the surge's
first month). Alarms are decided as in production (Benjamini-Hochberg per month over
all countries, at least ``MIN_COUNT`` registrations, above expectation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.monitoring.alarms import decide_alarms
from models.monitoring.surges import SurgeTests, detect_surges, month_or_pair

NOISES = {"poisson": None, "negbin_size_10": 10.0}


@dataclass(frozen=True)
class Trials:
    expected: np.ndarray  # countries × months, registering dossiers
    history_start: np.ndarray
    surge_cells: np.ndarray  # (country row, start month column) pairs a surge may take
    first_month: int  # first evaluated month (column)


def draw(expected: np.ndarray, rng: np.random.Generator, size: float | None) -> np.ndarray:
    if size is None:
        return rng.poisson(expected).astype(float)
    return rng.poisson(rng.gamma(size, expected / size)).astype(float)


def alarms(counts: np.ndarray, tests, first_month: int) -> np.ndarray:
    """Alarm cells decided by production's rule (``decide_alarms``), for counts of
    dossiers from ``first_month`` on."""
    cells = counts[:, first_month:]
    months = np.broadcast_to(np.arange(first_month, counts.shape[1]), cells.shape)
    decided = decide_alarms(
        pl.DataFrame(
            {
                "month": months.ravel(),
                "dossiers": cells.ravel(),
                "observed": cells.ravel(),
                "score": tests.score[:, first_month:].ravel(),
                "p_value": tests.p_value[:, first_month:].ravel(),
            }
        )
    )
    out = np.zeros(counts.shape, dtype=bool)
    out[:, first_month:] = decided["alarm"].to_numpy().reshape(cells.shape)
    return out


def oracle_tests(expected: np.ndarray, counts: np.ndarray, size: float | None) -> SurgeTests:
    """What a detector that knew every country's true expectation and noise would
    say, with the same month-or-pair statistic: the limit of any detector under the
    same alarm rule, so the figures of ``detect_surges`` can be read against it."""
    mean = np.maximum(expected, 1e-9)
    variance = mean if size is None else mean + mean**2 / size

    def with_before(a: np.ndarray) -> np.ndarray:  # the month plus the month before
        return a + np.concatenate([np.zeros_like(a[:, :1]), a[:, :-1]], axis=1)

    pair_ok = np.arange(mean.shape[1])[None, :] >= 1
    upper, p, _ = month_or_pair(
        mean,
        variance,
        counts,
        with_before(mean),
        with_before(variance),
        with_before(counts),
        pair_ok,
    )
    score = (counts - mean) / np.maximum(upper - mean, 1e-9)
    months = np.zeros(mean.shape, dtype=np.int64)
    return SurgeTests(mean, upper, p, score, np.full(mean.shape, "oracle"), months)


def run_trials(
    setup: Trials,
    factor: float,
    trials: int,
    noise: str,
    rng: np.random.Generator,
    detector: str = "detect_surges",
) -> dict:
    """Detection and false-alarm figures of ``trials`` trials with one ``factor``;
    ``detector`` is ``detect_surges`` or ``oracle`` (see ``oracle_tests``)."""
    size = NOISES[noise]
    false_alarms = tested_cells = 0
    delays: list[float] = []
    for _ in range(trials):
        mean = setup.expected.copy()
        country = start = -1
        if factor != 1.0:
            cell = setup.surge_cells[rng.integers(len(setup.surge_cells))]
            country, start = int(cell[0]), int(cell[1])
            mean[country, start:] *= factor
        counts = draw(mean, rng, size)
        if detector == "oracle":
            tests = oracle_tests(setup.expected, counts, size)
        else:
            tests = detect_surges(counts, setup.history_start, first_month=setup.first_month)
        raised = alarms(counts, tests, setup.first_month)
        tested = ~np.isnan(tests.p_value)
        tested[:, : setup.first_month] = False
        clean = np.ones(counts.shape, dtype=bool)
        if country >= 0:
            clean[country, start:] = False
            hits = np.flatnonzero(raised[country, start:])
            delays.append(float(hits[0]) if len(hits) else np.inf)
        false_alarms += int((raised & clean & tested).sum())
        tested_cells += int((tested & clean).sum())
    delays_arr = np.array(delays)
    found = delays_arr[np.isfinite(delays_arr)]
    return {
        "detector": detector,
        "noise": noise,
        "factor": factor,
        "trials": trials,
        "tested_country_months": tested_cells,
        "false_alarm_rate": false_alarms / max(tested_cells, 1),
        "detected_within_2_months": float((delays_arr <= 1).mean()) if delays else None,
        "detected_at_all": float(np.isfinite(delays_arr).mean()) if delays else None,
        "median_delay_months": float(np.median(found)) if len(found) else None,
    }


def evaluate(
    setup: Trials,
    trials: int,
    factors=(1.0, 2.0, 3.0),
    noises=tuple(NOISES),
    seed: int = 0,
    progress=None,
    detectors=("detect_surges",),
) -> pl.DataFrame:
    """One row per detector, noise model and factor (1 = clean data). Every detector
    sees the same trials (same surges, same draws) of a noise model and factor."""
    rows = []
    for n, noise in enumerate(noises):
        for f, factor in enumerate(factors):
            for detector in detectors:
                rng = np.random.default_rng([seed, n, f])
                rows.append(run_trials(setup, factor, trials, noise, rng, detector))
                if progress:
                    progress(f"{detector}, {noise}, x{factor:g}: {trials} trials done")
    return pl.DataFrame(rows)
