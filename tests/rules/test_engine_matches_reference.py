"""Property tests: the vectorised engine equals the plain-Python reference.

Random dossiers (single persons and households with partners and annex children),
applicants in every phase and application type, refusals around the 60-day grace,
dates from 2019 to 2026 with extra weight on the boundaries of the rules, countries
of every kind, vulnerabilities, AMAAR costs, earlier support and repeated persons
across dossiers and in the warehouse history. Every amount, the category, the ticket
and the rule ids must agree under 2025, 2026, the applicable table and two scenarios.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.row_model import (
    APPLICATION_TYPES,
    PROCEDURE_PHASES,
    REFUSAL_PHASES,
    RESIDENCE_STATUSES,
)
from rules import reference
from tests.factories import typed_row
from tests.rules.test_cases import APPLICABLE, engine_rows, reference_rows, table_for

TABLES = ("2025", "2026", APPLICABLE, "degressive_1500", "stricter_2026")

COUNTRIES = (
    # category 1 / visa-required
    "SYR",
    "AFG",
    "ERI",
    "IRQ",
    "COD",
    "STA",
    "CUB",
    # Latin America (visa-free but with a base)
    "BRA",
    "VEN",
    "COL",
    "ARG",
    "PER",
    # category 3 / Balkans
    "ALB",
    "GEO",
    "MDA",
    "XKX",
    "MKD",
    "SRB",
    # restricted in 2025
    "BLR",
    "PAK",
    "MNG",
    "JOR",
    # other visa-free, EEA
    "UKR",
    "USA",
    "NOR",
    # EU-15 and other EU
    "FRA",
    "GBR",
    "BEL",
    "ROU",
)
BOUNDARIES = (
    date(2022, 1, 1),
    date(2024, 2, 29),
    date(2025, 1, 1),
    date(2025, 6, 1),
    date(2025, 12, 1),
    date(2026, 1, 1),
    date(2026, 2, 1),
    date(2026, 3, 31),
    date(2026, 4, 1),
)
PERSON_POOL = [f"P{i:03d}" for i in range(150)]

any_day = st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 12, 31))
near_boundary = st.builds(
    lambda day, shift: day + timedelta(days=shift),
    st.sampled_from(BOUNDARIES),
    st.integers(-3, 3),
)
in_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 8, 31))
registration_day = st.one_of(any_day, near_boundary, in_2026, in_2026)
money = st.decimals(min_value=0, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
maybe_bool = st.sampled_from([None, False, True])


# Strategies built once (building them inside the draws is what makes generation slow).
ONE_IN = {n: st.integers(0, n - 1) for n in (2, 4, 5, 6, 8, 10, 12)}
TYPES = st.sampled_from(APPLICATION_TYPES + ("first", "first"))
PHASES = st.sampled_from(PROCEDURE_PHASES)
GRACE_DAYS = st.one_of(st.sampled_from([0, 29, 30, 31, 59, 60, 61]), st.integers(0, 400))
SUPPORT_DAY = st.dates(min_value=date(2014, 1, 1), max_value=date(2026, 12, 31))
SHIFT = st.integers(-2, 2)
ADULT_AGE = st.integers(18, 90)
MINOR_AGE = st.integers(0, 17)
COUNTRY = st.sampled_from(COUNTRIES)
RESIDENCE = st.sampled_from(RESIDENCE_STATUSES)
HOUSEHOLD_RESIDENCE = st.sampled_from(RESIDENCE_STATUSES + ("applicant", "applicant"))
STATUS = st.sampled_from(["registered", "departed", "departed", "cancelled", "no_show"])
LEAVE_AFTER = st.integers(0, 200)
BOUNDARY = st.sampled_from(BOUNDARIES)
MEMBERS = st.lists(st.sampled_from(["partner", "other_adult", "child", "child"]), max_size=6)
DAYS_90 = st.integers(0, 90)


def one_in(draw, n: int) -> bool:
    """True about one time in ``n``."""
    return draw(ONE_IN[n]) == 0


def sometimes(draw, n: int, strategy):
    """A drawn value about one time in ``n``, otherwise empty."""
    return draw(strategy) if one_in(draw, n) else None


def procedure(draw, registered: date) -> dict:
    """Applicant fields: type, phase, notification date (around the grace), Dublin flags."""
    phase = draw(PHASES)
    fields = {
        "application_type": draw(TYPES),
        "procedure_phase": phase,
        "belgium_responsible": draw(maybe_bool),
        "protection_in_other_member_state": sometimes(draw, 4, st.booleans()),
    }
    if phase in REFUSAL_PHASES or one_in(draw, 5):
        fields["decision_notified_on"] = registered - timedelta(days=draw(GRACE_DAYS))
    return fields


def earlier_support(draw, registered: date) -> date | None:
    """Earlier support: mostly none; anywhere; or within days of five years before."""
    if not one_in(draw, 5):
        return None
    if one_in(draw, 2):
        return draw(SUPPORT_DAY)
    return reference.years_before(registered, 5) + timedelta(days=draw(SHIFT))


def person_fields(draw, registered: date, adult: bool) -> dict:
    return {
        "age_at_registration": draw(ADULT_AGE if adult else MINOR_AGE),
        "pregnant": one_in(draw, 8),
        "ex_unaccompanied_minor": one_in(draw, 8),
        "single_parent": one_in(draw, 8),
        "trafficking_victim": one_in(draw, 10),
        "medical_basic": one_in(draw, 6),
        "amaar_estimated_cost_eur": sometimes(draw, 8, money),
        "previous_return_support_date": earlier_support(draw, registered),
        "became_belgian": sometimes(draw, 12, st.booleans()),
    }


def departure(draw, registered: date, status: str) -> date | None:
    mode = draw(ONE_IN[4])
    if mode == 0 and status != "departed":
        return None
    if mode == 1:
        boundary = draw(BOUNDARY)
        if boundary >= registered:
            return boundary
    return registered + timedelta(days=draw(LEAVE_AFTER))


def dossier(draw, number: int) -> list[dict]:
    """One dossier: a principal, maybe a partner and other adults, maybe annex children.

    The persons of a dossier share the registration date; now and then a person has a
    departure date of their own.
    """
    registered = draw(registration_day)
    status = draw(STATUS)
    nationality = draw(COUNTRY)
    shared = {
        "dossier_id": f"D{number:03d}",
        "registration_date": registered,
        "departure_date": departure(draw, registered, status),
        "dossier_status": status,
        "nationality": nationality,
        "return_country": nationality if one_in(draw, 2) else draw(COUNTRY),
    }
    household_status = draw(HOUSEHOLD_RESIDENCE)
    roles = ["principal"] + draw(MEMBERS)
    ids = draw(
        st.lists(
            st.sampled_from(PERSON_POOL), min_size=len(roles), max_size=len(roles), unique=True
        )
    )
    adults: list[str] = []
    rows: list[dict] = []
    for role, person_id in zip(roles, ids, strict=True):
        row = {**shared, "person_id": person_id, "role": role}
        if one_in(draw, 6):
            row["nationality"] = draw(COUNTRY)
        row.update(person_fields(draw, registered, adult=role != "child"))
        residence = draw(RESIDENCE) if one_in(draw, 4) else household_status
        parent = None
        if role == "child" or (adults and one_in(draw, 8)):
            parent = draw(st.sampled_from(adults + [r["person_id"] for r in rows]))
        row["annex_parent_id"] = parent
        row["residence_status"] = residence
        if residence == "applicant" and not (parent is not None and one_in(draw, 2)):
            row.update(procedure(draw, registered))
        elif one_in(draw, 6):
            # a non-applicant (or a follower) may still carry a stale notification date
            row["decision_notified_on"] = registered - timedelta(days=draw(DAYS_90))
        if one_in(draw, 12):
            # the contract does not force one departure date per dossier
            row["departure_date"] = departure(draw, registered, status)
        if role != "child":
            adults.append(person_id)
        rows.append(typed_row(row))
    return rows


@st.composite
def population(draw) -> tuple[list[dict], list[dict]]:
    """Up to 60 rows in up to 15 dossiers, and up to 3 dossiers of warehouse history."""
    count = draw(st.integers(1, 15))
    persons = [row for n in range(count) for row in dossier(draw, n)][:60]
    history = [row for n in range(draw(st.integers(0, 3))) for row in dossier(draw, 100 + n)]
    return persons, history


def check_trace(persons: list[dict], key: str, history: list[dict]) -> None:
    """The reference's trace explains each amount; total and PAP/PRP add up."""
    for e in reference.entitle(persons, table_for(key), history):
        a = e.amounts
        for column in reference.AMOUNT_COLUMNS[:-1]:
            traced = sum((t.amount for t in e.trace if t.budget_line == column), Decimal(0))
            assert traced == a[column], (e.person_id, column, e.trace)
        assert a["total"] == sum((a[c] for c in reference.TOTAL_LINES), Decimal(0))
        reintegration = sum((a[c] for c in reference.REINTEGRATION_LINES), Decimal(0))
        assert a["pap_cash"] + a["prp_in_kind"] == reintegration
        assert a["pap_cash"] >= 0 and a["prp_in_kind"] >= 0


def _differences(ref: dict, eng: dict) -> list[str]:
    return [f"{k}: reference {ref[k]!r}, engine {eng[k]!r}" for k in ref if ref[k] != eng[k]]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=population())
def test_engine_equals_reference(data):
    persons, history = data
    for key in TABLES:
        ref = reference_rows(persons, key, history)
        eng = engine_rows(persons, key, history)
        if key in ("2026", "stricter_2026"):
            check_trace(persons, key, history)
        assert len(ref) == len(eng) == len(persons)
        for i, (r, e) in enumerate(zip(ref, eng, strict=True)):
            diff = _differences(r, e)
            assert not diff, (
                f"table {key}, row {i} ({r['dossier_id']}/{r['person_id']}): "
                + "; ".join(diff)
                + f"\nrow: { {k: v for k, v in persons[i].items() if v not in (None, False)} }"
            )
