"""The cash basis: commitments moved to the months they are paid, to the cent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.cash import (
    CASH_LINES,
    PAID_LINES,
    TOTAL_PARTS,
    PaymentLagError,
    PaymentLags,
    apportion,
    cash_by_month,
    conditional_delay,
    cumulative_numerators,
    estimate_delays,
    load_payment_lags,
    payments,
)
from models.forecast import month_index

LAGS = load_payment_lags()
FIRST = month_index(date(2026, 11, 1))


def lags_with(**profiles: dict[int, float]) -> PaymentLags:
    """The built-in lags with some profiles replaced."""
    data = LAGS.model_dump(exclude={"source_file"})
    for line, shares in profiles.items():
        data["profiles"][line]["values"] = {date(2019, 1, 1): shares}
    for value in data["profiles"].values():
        value["values"] = {
            d: (dict(enumerate(v)) if isinstance(v, tuple) else v)
            for d, v in value["values"].items()
        }
    for key in ("delay_fallback",):
        data[key]["values"] = {d: dict(enumerate(v)) for d, v in data[key]["values"].items()}
    return PaymentLags.model_validate(data)


def cohort(rng, draws=20, months=14, lines=CASH_LINES) -> np.ndarray:
    amounts = rng.integers(0, 5_000_000, size=(draws, months, len(lines)))
    if "total" in lines:
        amounts[..., lines.index("total")] = amounts[
            ..., [lines.index(x) for x in TOTAL_PARTS]
        ].sum(-1)
    return amounts


def test_the_file_loads_every_line_as_a_working_parameter():
    assert set(LAGS.profiles) == set(PAID_LINES)
    assert all(p.status == "working" and "IOM" in p.source for p in LAGS.profiles.values())
    assert all(p.unit == "share by month after departure" for p in LAGS.profiles.values())
    assert LAGS.profile("pap_cash")(FIRST).tolist() == [0.77, 0.23]
    assert LAGS.delay_estimate.at_month(FIRST) == 30


def test_a_profile_must_add_up_to_one(tmp_path):
    text = Path(LAGS.source_file).read_text(encoding="utf-8")
    broken = tmp_path / "lags.yaml"
    broken.write_text(text.replace("{0: 0.77, 1: 0.23}", "{0: 0.77, 1: 0.13}"))
    with pytest.raises(PaymentLagError, match="pap_cash.*add up to 0.90"):
        load_payment_lags(broken)
    with pytest.raises(LookupError, match="no value for 2018-01-01"):
        LAGS.profiles["ticket"].at(date(2018, 1, 1))


def test_cents_are_conserved_over_a_full_cohort():
    rng = np.random.default_rng(1)
    commitments = cohort(rng)
    months = np.arange(FIRST, FIRST + 14)
    cash = cash_by_month(commitments, CASH_LINES, months, np.array([0.15, 0.65, 0.2]), LAGS)
    assert cash.shape == (20, 16, len(CASH_LINES))
    assert cash.dtype == np.int64
    assert (cash.sum(axis=1) == commitments.sum(axis=1)).all()  # to the cent, every draw
    assert (cash[:, 0] == 0).all()  # nothing before the horizon
    assert cash[:, -1].sum() > 0  # the PRP of the last months falls after it, kept
    total = CASH_LINES.index("total")
    parts = [CASH_LINES.index(x) for x in TOTAL_PARTS]
    assert (cash[..., total] == cash[..., parts].sum(-1)).all()


def test_departing_in_month_m_pays_premium_and_ticket_in_m_and_pap_in_m_or_m_plus_1():
    lines = ["return_premium", "ticket", "pap_cash", "prp_in_kind", "amaar"]
    commitments = np.zeros((1, 6, len(lines)), np.int64)
    commitments[0, 2] = [35_000, 41_234, 61_500, 438_500, 120_001]  # registered in m = 2
    delay = np.array([1.0])  # departs in its registration month
    cash = cash_by_month(commitments, lines, np.arange(FIRST, FIRST + 6), delay, LAGS)[0]
    m = 1 + 2  # the columns start with 'before horizon'
    premium, ticket, pap, prp, amaar = cash.T
    assert premium[m] == 35_000 and premium.sum() == 35_000
    assert ticket[m] == 41_234 and ticket.sum() == 41_234
    assert pap[m] + pap[m + 1] == 61_500 and pap[m] == 47_355  # 77 % / 23 %
    assert prp[m] == 0 and prp[m + 1] > 0 and prp.sum() == 438_500
    assert amaar[m:].sum() == 120_001 and amaar[-1] == 120_001 - amaar[m:-1].sum()


def test_the_delay_moves_the_departure():
    commitments = np.zeros((1, 4, 1), np.int64)
    commitments[0, 0, 0] = 1_000
    cash = cash_by_month(
        commitments,
        ["return_premium"],
        np.arange(FIRST, FIRST + 4),
        np.array([0.0, 0.5, 0.5]),
        LAGS,
    )[0, :, 0]
    assert cash.tolist() == [0, 0, 500, 500, 0, 0]


def test_the_horizon_edge_keeps_what_falls_after_and_before_it():
    by_departure = np.zeros((1, 3, 1), np.int64)
    by_departure[0, :, 0] = [1_200, 0, 1_200]  # departures 2 months before and in the last month
    cash = payments(by_departure, np.arange(FIRST - 2, FIRST + 1), ["prp_in_kind"], LAGS, FIRST, 1)[
        0, :, 0
    ]
    before, inside, after = cash
    assert before + inside + after == 2_400
    assert before == 180  # month 1 after the first departure: 15 %
    assert inside == 180  # month 2 after it (15 %); nothing of the second yet
    assert after == 2_400 - 360


def test_the_delay_is_estimated_per_group_with_fallbacks():
    fallback = np.array([0.15, 0.65, 0.2])
    delays = estimate_delays(
        {"a": np.array([1] * 40 + [2] * 10), "b": np.array([0] * 5)}, 30, fallback, 6
    )
    assert delays["a"].source == "own" and delays["a"].pmf[:3].tolist() == [0, 0.8, 0.2]
    assert delays["b"].source == "all groups" and delays["b"].departures == 55
    few = estimate_delays({"a": np.array([1, 2])}, 30, fallback, 6)
    assert few["a"].source == "fallback parameter" and few["a"].pmf.tolist() == fallback.tolist()
    assert conditional_delay(np.array([0.2, 0.6, 0.2]), 2).tolist() == [0, 0, 1.0]
    assert conditional_delay(np.array([0.2, 0.6, 0.2]), 4).tolist() == [0, 0, 0, 0, 1.0]
    assert conditional_delay(np.array([0.5, 0.25, 0.25]), 1).tolist() == [0, 0.5, 0.5]


def test_apportion_is_exact_for_negative_amounts_and_zero_shares():
    shares = cumulative_numerators(np.array([0.5, 0.0, 0.25, 0.25]))
    parts = apportion(np.array([101, -101, 0]), shares)
    assert parts.sum(axis=1).tolist() == [101, -101, 0]
    assert parts[:, 1].tolist() == [0, 0, 0]
    assert (parts[1] <= 0).all()


@st.composite
def profiles(draw):
    length = draw(st.integers(1, 13))
    weights = draw(st.lists(st.integers(0, 100), min_size=length, max_size=length))
    if not sum(weights):
        weights[-1] = 1
    total = sum(weights)
    # shares with at most 4 decimals adding up to exactly 1
    shares = [w * 10_000 // total for w in weights]
    shares[int(np.argmax(weights))] += 10_000 - sum(shares)
    return {i: s / 10_000 for i, s in enumerate(shares) if s}


@settings(max_examples=40, deadline=None)
@given(
    profile=profiles(),
    pap=profiles(),
    delay=st.lists(st.integers(0, 10), min_size=1, max_size=5).filter(any),
    seed=st.integers(0, 2**31),
    months=st.integers(1, 16),
)
def test_property_random_profiles_conserve_every_cent(profile, pap, delay, seed, months):
    lags = lags_with(prp_in_kind=profile, pap_cash=pap)
    rng = np.random.default_rng(seed)
    commitments = rng.integers(-(10**9), 10**10, size=(3, months, 2, len(CASH_LINES)))
    parts = [CASH_LINES.index(x) for x in TOTAL_PARTS]
    commitments[..., CASH_LINES.index("total")] = commitments[..., parts].sum(-1)
    pmf = np.asarray(delay, float) / sum(delay)
    first = FIRST + int(rng.integers(-3, 3))
    cash = cash_by_month(
        commitments, CASH_LINES, np.arange(FIRST, FIRST + months), pmf, lags, first, months
    )
    assert (cash.sum(axis=1) == commitments.sum(axis=1)).all()
    # nothing paid before the first possible departure of the first registration
    earliest = FIRST + int(np.flatnonzero(pmf)[0]) - first + 1
    assert (cash[:, 1 : min(max(earliest, 1), months + 1)] == 0).all()
    # and the premium (paid at departure) only from the first departure month on
    premium = CASH_LINES.index("return_premium")
    assert cash[..., premium].sum(axis=1).tolist() == commitments[..., premium].sum(axis=1).tolist()
