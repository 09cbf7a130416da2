"""The cash budget basis: commitments turned into the months the money is paid.

The commitment basis (``models.budget``) counts all of a dossier's cost in its
registration month. On the cash basis a budget line counts in the month it is paid:
the dossier departs some months after registering (the *delay*, estimated from the
warehouse's departed dossiers), and each line is paid over the months after the
departure month by its *lag profile* (``rules/parameters/payment_lags.yaml``, working
parameters). The cash of a registration month is its commitment apportioned over the
convolution of the two: integer cents, exactly conserved (largest remainder), so over
a whole cohort cash and commitments agree to the cent. Cash that falls after the last
month of the horizon is kept in an *after horizon* column, never dropped; cash before
the first month (of dossiers registered before the horizon) in a *before horizon*
column.

No Dagster, no DuckDB: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.forecast import interval_ranks, month_of
from rules.ids import CASH_RULE_IDS

PAYMENT_LAGS_FILE = (
    Path(__file__).resolve().parents[1] / "rules" / "parameters" / "payment_lags.yaml"
)

# The lines that add up to ``total`` on the cash basis: the reintegration support
# (base and top-ups) is paid as the PAP (cash) and the PRP (in kind), so it enters as
# those two (``pap_cash + prp_in_kind`` = base + top-ups, per person, in the engine).
TOTAL_PARTS: tuple[str, ...] = (
    "transport_allowance",
    "return_premium",
    "pap_cash",
    "prp_in_kind",
    "amaar",
    "balkan_admin_support",
    "partner_service_fee",
)
# The budget lines of the cash basis: each paid line, ``total`` (their sum) and the
# ticket (an actual cost, not part of ``total``, as on the commitment basis).
CASH_LINES: tuple[str, ...] = (*TOTAL_PARTS, "total", "ticket")
PAID_LINES: tuple[str, ...] = (*TOTAL_PARTS, "ticket")
# Shares are integers out of DENOMINATOR, so apportioning is exact integer arithmetic;
DENOMINATOR = 10**8  # shares with up to 8 decimals (the file's) are exact
BEFORE, AFTER = "before horizon", "after horizon"


class PaymentLagError(ValueError):
    """A payment-lag file that cannot be used; the message names file and key."""


def _shares(raw: Any) -> tuple[float, ...]:
    """``{months after: share}`` → shares by month (0, 1, …); they must add up to 1."""
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("a mapping {months after: share} is required, e.g. {0: 0.77, 1: 0.23}")
    shares: dict[int, Decimal] = {}
    for key, value in raw.items():
        if isinstance(key, bool) or not isinstance(key, int) or key < 0:
            raise ValueError(f"month {key!r} must be a whole number ≥ 0")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"share {value!r} of month {key} is not a number")
        share = Decimal(str(value))
        if share < 0:
            raise ValueError(f"share {share} of month {key} is negative")
        shares[key] = share
    if sum(shares.values()) != 1:
        raise ValueError(f"the shares add up to {sum(shares.values())}, not 1")
    out = np.zeros(max(shares) + 1)
    for key, share in shares.items():
        out[key] = float(share)
    return tuple(out.tolist())


class DatedValue(BaseModel):
    """One dated working parameter of the cash basis, with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    label: str
    unit: Literal[
        "share by month after departure", "share by month after registration", "departures"
    ]
    status: Literal["confirmed", "working"]
    source: str
    values: dict[date, Any] = Field(min_length=1)
    name: str = ""

    @field_validator("rule")
    @classmethod
    def _cash_rule(cls, rule: str) -> str:
        if rule not in CASH_RULE_IDS:
            raise ValueError(
                f"unknown rule id {rule!r} of the cash basis (see rules/ids.py CASH_RULE_IDS)"
            )
        return rule

    @model_validator(mode="after")
    def _typed(self) -> DatedValue:
        typed = {}
        for since, raw in sorted(self.values.items()):
            try:
                if self.unit == "departures":
                    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                        raise ValueError("a whole number ≥ 1 is required")
                    typed[since] = raw
                else:
                    typed[since] = _shares(raw)
            except ValueError as exc:
                raise ValueError(f"value from {since}: {exc}") from None
        object.__setattr__(self, "values", typed)
        return self

    def at(self, day: date) -> Any:
        """The value in force on ``day``; an error before the first value (never a
        silent fallback)."""
        found = [value for since, value in sorted(self.values.items()) if since <= day]
        if not found:
            raise LookupError(
                f"payment parameter {self.name!r} ({self.rule}) has no value for {day}: its "
                f"first value applies from {min(self.values)}"
            )
        return found[-1]

    def at_month(self, month: int) -> Any:
        return self.at(month_of(int(month)))


class PaymentLags(BaseModel):
    """The lag profile of every paid line, and the delay's fallback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    profiles: dict[str, DatedValue]
    delay_estimate: DatedValue
    delay_fallback: DatedValue
    source_file: str = ""

    @model_validator(mode="after")
    def _complete(self) -> PaymentLags:
        missing = sorted(set(PAID_LINES) - set(self.profiles))
        unknown = sorted(set(self.profiles) - set(PAID_LINES))
        if missing or unknown:
            raise ValueError(f"profiles: missing {missing}, unknown {unknown} (lines {PAID_LINES})")
        for line, value in self.profiles.items():
            if value.unit != "share by month after departure":
                raise ValueError(f"profiles.{line}: unit must be 'share by month after departure'")
            object.__setattr__(value, "name", line)
        if self.delay_estimate.unit != "departures":
            raise ValueError("delay_estimate: unit must be 'departures'")
        if self.delay_fallback.unit != "share by month after registration":
            raise ValueError("delay_fallback: unit must be 'share by month after registration'")
        object.__setattr__(self.delay_estimate, "name", "delay_estimate")
        object.__setattr__(self.delay_fallback, "name", "delay_fallback")
        return self

    def profile(self, line: str) -> Callable[[int], np.ndarray]:
        """The shares by month after departure of ``line`` for a departure month."""
        value = self.profiles[line]
        return lambda month: np.asarray(value.at_month(month))

    def parameters(self) -> list[DatedValue]:
        return [*self.profiles.values(), self.delay_estimate, self.delay_fallback]

    @property
    def longest_lag(self) -> int:
        """Months after departure the latest payment of any profile can fall."""
        return max(len(s) - 1 for v in self.profiles.values() for s in v.values.values())


def load_payment_lags(path: str | Path = PAYMENT_LAGS_FILE) -> PaymentLags:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PaymentLagError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PaymentLagError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise PaymentLagError(f"{path}: expected a mapping of keys at the top level")
    try:
        return PaymentLags.model_validate({**data, "source_file": str(path)})
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            key = ".".join(str(part) for part in item["loc"]) or "(top level)"
            lines.append(f"{path}: {key}: {item['msg']}")
        raise PaymentLagError("\n".join(lines)) from None


# ---------------------------------------------------------------------------
# The registration → departure delay
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delay:
    """Shares by months after the registration month (0, 1, …) of the departure month,
    and where they come from."""

    pmf: np.ndarray
    departures: int
    source: str  # "own", "all groups" or "fallback parameter"


def delay_pmf(delays: Sequence[int] | np.ndarray, longest: int) -> np.ndarray:
    """Observed delays (whole months, departure month − registration month) as shares by
    month, delays beyond ``longest`` counted at ``longest``."""
    delays = np.asarray(delays, np.int64)
    if delays.size == 0:
        raise ValueError("no delays to estimate from")
    if np.any(delays < 0):
        raise ValueError("a departure before its registration month")
    counts = np.bincount(np.minimum(delays, longest), minlength=longest + 1)
    return counts / counts.sum()


def estimate_delays(
    delays_by_group: Mapping[str, Sequence[int] | np.ndarray],
    minimum: int,
    fallback: np.ndarray,
    longest: int = 12,
) -> dict[str, Delay]:
    """Per group its own delay when it has at least ``minimum`` departures, else all
    groups' together, else (fewer than ``minimum`` overall) ``fallback``."""
    pooled = np.concatenate([np.asarray(d, np.int64) for d in delays_by_group.values()] or [[]])
    if pooled.size >= minimum:
        overall = Delay(delay_pmf(pooled, longest), int(pooled.size), "all groups")
    else:
        overall = Delay(np.asarray(fallback, float), int(pooled.size), "fallback parameter")
    out = {}
    for group, delays in delays_by_group.items():
        n = len(delays)
        out[group] = Delay(delay_pmf(delays, longest), n, "own") if n >= minimum else overall
    return out


def conditional_delay(pmf: np.ndarray, elapsed: int) -> np.ndarray:
    """The delay of a dossier known not to have departed in the first ``elapsed``
    months after its registration month: ``pmf`` from ``elapsed`` on, renormalised (all
    at ``elapsed`` when the pmf has no mass left)."""
    pmf = np.asarray(pmf, float)
    out = np.zeros(max(len(pmf), elapsed + 1))
    rest = pmf[elapsed:]
    if rest.sum() > 0:
        out[elapsed : elapsed + len(rest)] = rest / rest.sum()
    else:
        out[elapsed] = 1.0
    return out


# ---------------------------------------------------------------------------
# Exact apportioning, departures, payments
# ---------------------------------------------------------------------------


def cumulative_numerators(shares: np.ndarray, denominator: int = DENOMINATOR) -> np.ndarray:
    """Shares (last axis, summing to 1) as cumulative integer numerators out of
    ``denominator``: ``C[k]`` = the first k+1 shares, rounded; the last is exactly
    ``denominator`` and a zero share adds nothing."""
    shares = np.asarray(shares, float)
    if np.any(shares < 0) or not np.allclose(shares.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("shares must be ≥ 0 and sum to 1")
    cumulative = np.rint(np.cumsum(shares, axis=-1) * denominator).astype(np.int64)
    cumulative[..., -1] = denominator
    return cumulative


def apportion(
    amounts: np.ndarray, cumulative: np.ndarray, denominator: int = DENOMINATOR
) -> np.ndarray:
    """Integer ``amounts`` (any shape) split by cumulative numerators (broadcastable to
    ``amounts.shape + (K,)``, non-decreasing, the last = ``denominator``): shape
    ``(..., K)``. Part k is ``⌊a·C[k]/N⌋ − ⌊a·C[k−1]/N⌋``: the parts add up to the amount
    exactly (they telescope), each is within a cent of its share, a zero share gets
    nothing, and a negative amount splits into parts ≤ 0. Pure integer arithmetic."""
    amounts = np.asarray(amounts, np.int64)
    cumulative = np.asarray(cumulative, np.int64)
    if np.any(cumulative[..., -1] != denominator) or np.any(np.diff(cumulative, axis=-1) < 0):
        raise ValueError(f"cumulative numerators must rise to exactly {denominator}")
    if amounts.size and int(np.abs(amounts).max()) > (2**62) // denominator:
        raise OverflowError("amounts too large to apportion exactly in 64 bits")
    floors = np.floor_divide(amounts[..., None] * cumulative, denominator)
    return np.diff(floors, axis=-1, prepend=0)


def departures(
    commitments: np.ndarray,
    registration_months: Sequence[int] | np.ndarray,
    delays: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Commitments by registration month → the same money by departure month.

    ``commitments``: integer cents, axis 1 the ``registration_months`` (any other axes);
    ``delays``: shares by months after the registration month, one pmf (1-D) or one per
    registration month (months × D). Returns ``(departure months, amounts)``: the
    consecutive months from the first registration month to the last plus the longest
    delay, and the amounts with axis 1 over them (each cell apportioned exactly)."""
    commitments = np.asarray(commitments)
    if not np.issubdtype(commitments.dtype, np.integer):
        raise ValueError("commitments must be integer cents")
    months = np.asarray(registration_months, np.int64)
    if commitments.shape[1] != len(months):
        raise ValueError(
            f"{commitments.shape[1]} registration months in the commitments, {len(months)} given"
        )
    delays = np.asarray(delays, float)
    if delays.ndim == 1:
        delays = np.broadcast_to(delays, (len(months), len(delays)))
    if delays.shape[0] != len(months):
        raise ValueError(f"{delays.shape[0]} delay rows for {len(months)} registration months")
    first = int(months.min()) if len(months) else 0
    n_out = (int(months.max()) - first + delays.shape[1]) if len(months) else 0
    out = np.zeros((commitments.shape[0], n_out, *commitments.shape[2:]), np.int64)
    used = np.flatnonzero(delays.any(axis=0))  # only the delays that occur
    if not len(months) or not len(used):
        return np.arange(first, first + n_out), out
    cumulative = cumulative_numerators(delays)[:, used]  # the skipped ones add nothing
    shape = (1, len(months)) + (1,) * (commitments.ndim - 2) + (len(used),)
    parts = apportion(commitments, cumulative.reshape(shape))  # R, M, …, used
    for j, d in enumerate(used):
        for i, m in enumerate(months):
            out[:, m - first + d] += parts[:, i, ..., j]
    return np.arange(first, first + n_out), out


def payments(
    by_departure: np.ndarray,
    departure_months: Sequence[int] | np.ndarray,
    lines: Sequence[str],
    lags: PaymentLags,
    first_month: int,
    n_months: int,
) -> np.ndarray:
    """Money by departure month → by payment month, line by line with its lag profile
    (resolved at the departure month).

    ``by_departure``: integer cents (rows, departure month, …, line), the last axis
    ``lines`` (of ``PAID_LINES``). Returns (rows, column, …, line), columns ``[before
    horizon, first_month … first_month + n_months − 1, after horizon]``: nothing is
    lost, the columns add up to the input exactly."""
    by_departure = np.asarray(by_departure)
    if not np.issubdtype(by_departure.dtype, np.integer):
        raise ValueError("amounts must be integer cents")
    months = np.asarray(departure_months, np.int64)
    lines = list(lines)
    if by_departure.shape[1] != len(months) or by_departure.shape[-1] != len(lines):
        raise ValueError(
            f"amounts of shape {by_departure.shape} for {len(months)} months, {len(lines)} lines"
        )
    unknown = [line for line in lines if line not in PAID_LINES]
    if unknown:
        raise ValueError(f"no lag profile for {unknown} (total: see with_total)")
    rest = by_departure.shape[2:-1]
    out = np.zeros((by_departure.shape[0], n_months + 2, *rest, len(lines)), np.int64)
    for j, line in enumerate(lines):
        profile = lags.profile(line)
        for i, month in enumerate(months):
            amounts = by_departure[:, i, ..., j]
            if not amounts.any():
                continue
            shares = profile(int(month))
            used = np.flatnonzero(shares)
            parts = apportion(amounts, cumulative_numerators(shares)[used])
            columns = np.clip(month + used - first_month + 1, 0, n_months + 1)
            for k, column in enumerate(columns):
                out[:, column, ..., j] += parts[..., k]
    return out


def with_total(
    cash: np.ndarray, lines: Sequence[str], wanted: Sequence[str] = CASH_LINES
) -> np.ndarray:
    """``cash`` (last axis ``lines``, paid lines) with its last axis as ``wanted``:
    ``total`` is the sum of ``TOTAL_PARTS`` (which must all be in ``lines``)."""
    lines = list(lines)
    missing = [line for line in TOTAL_PARTS if line not in lines]
    if "total" in wanted and missing:
        raise ValueError(f"total needs every one of {TOTAL_PARTS}; missing {missing}")
    columns = []
    for line in wanted:
        if line == "total":
            columns.append(cash[..., [lines.index(x) for x in TOTAL_PARTS]].sum(axis=-1))
        else:
            columns.append(cash[..., lines.index(line)])
    return np.stack(columns, axis=-1)


def cash_by_month(
    commitments: np.ndarray,
    lines: Sequence[str],
    registration_months: Sequence[int] | np.ndarray,
    delays: np.ndarray,
    lags: PaymentLags,
    first_month: int | None = None,
    n_months: int | None = None,
) -> np.ndarray:
    """Commitments (rows, registration month, …, line) in integer cents → cash (rows,
    column, …, line): ``departures`` then ``payments``; a ``total`` line is the sum of
    the cash of ``TOTAL_PARTS``. Columns ``[before horizon, first_month …, after
    horizon]``; by default the horizon is the registration months (from the first one).
    Summed over the columns, every cell's cash is its commitment, to the cent."""
    months = np.asarray(registration_months, np.int64)
    if first_month is None:
        first_month = int(months.min())
    if n_months is None:
        n_months = int(months.max()) - first_month + 1
    lines = list(lines)
    paid = [line for line in lines if line != "total"]
    commitments = np.asarray(commitments)
    if commitments.shape[-1] != len(lines):
        raise ValueError(f"{commitments.shape[-1]} lines in the commitments, {len(lines)} named")
    departure_months, by_departure = departures(
        commitments[..., [lines.index(x) for x in paid]], months, delays
    )
    cash = payments(by_departure, departure_months, paid, lags, first_month, n_months)
    return with_total(cash, paid, lines) if "total" in lines else cash


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------


def cash_periods(
    first_month: int, n_months: int
) -> list[tuple[str, date | None, int | None, np.ndarray]]:
    """(period, month, year, which horizon columns) of the summary: each month of the
    horizon, each calendar year (its months in the horizon), and after the horizon;
    the columns are those of ``cash_by_month`` (before horizon not reported)."""
    months = np.arange(first_month, first_month + n_months)
    columns = n_months + 2
    out = []
    for i, m in enumerate(months):
        chosen = np.zeros(columns, bool)
        chosen[i + 1] = True
        out.append(("month", month_of(int(m)), int(m) // 12, chosen))
    for year in sorted(set((months // 12).tolist())):
        chosen = np.zeros(columns, bool)
        chosen[1:-1] = months // 12 == year
        out.append(("year", None, int(year), chosen))
    after = np.zeros(columns, bool)
    after[-1] = True
    out.append((AFTER, None, None, after))
    return out


def summarise_cash(
    draws: np.ndarray,
    periods: Sequence[tuple[str, date | None, int | None, np.ndarray]],
    levels: Sequence[int] = (80, 95),
) -> dict[str, np.ndarray]:
    """``draws`` (draws, column, …) cents → per period (first axis) and the other axes:
    ``mean_cents`` (rounded half up) and the interval bounds (each one of the draws)."""
    draws = np.asarray(draws, np.int64)
    n = draws.shape[0]
    per_period = np.stack([draws[:, chosen].sum(axis=1) for *_, chosen in periods])  # P, n, …
    total = per_period.sum(axis=1)
    stats = {"mean_cents": np.floor_divide(2 * total + n, 2 * n)}
    ordered = np.sort(per_period, axis=1)
    for name, rank in interval_ranks(n, levels).items():
        stats[name] = ordered[:, rank]
    return stats


__all__ = [
    "AFTER",
    "BEFORE",
    "CASH_LINES",
    "DENOMINATOR",
    "Delay",
    "PAID_LINES",
    "PAYMENT_LAGS_FILE",
    "PaymentLagError",
    "PaymentLags",
    "TOTAL_PARTS",
    "apportion",
    "cash_by_month",
    "cash_periods",
    "conditional_delay",
    "delay_pmf",
    "estimate_delays",
    "load_payment_lags",
    "departures",
    "payments",
    "cumulative_numerators",
    "summarise_cash",
    "with_total",
]
