"""A deliberately simple approximation of the support rules, for the paid amounts.

``approximate_paid_amounts`` is the only place where the demo generator decides what
a person is paid. It follows ``docs/domain/rules-reference.md`` closely enough for
budget figures to look right (rule ids in the comments); the real rule engine lives
elsewhere and is what the pipeline uses. The demo uses the 2025 table for every
registration before 2026 (A-TRANSITION: unless departing after 2026-03-31) and the
2026 table after (A-2026). Amounts are whole euro cents (int64).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from data_contracts.demo.plan import day_number

RESTRICTED_2025 = ("BLR", "PAK", "MNG", "JOR")
CATEGORY_3 = ("GEO", "MDA", "BRA")  # plus the Balkans (T26-CAT)

D_2025_01_01 = day_number(date(2025, 1, 1))
D_MDA_END = day_number(date(2025, 6, 1))  # T25-PREMIUM-MDA, T25-BASE-MDA (working date)
D_BRA_END = day_number(date(2025, 12, 1))  # T25-BASE-BRA
D_2026 = day_number(date(2026, 1, 1))  # A-2026
D_TRANSITION_END = day_number(date(2026, 3, 31))  # A-TRANSITION
D_DEGR_DEPARTURE = day_number(date(2026, 2, 1))  # T26-DEGR-WHEN


@dataclass(frozen=True)
class PersonFacts:
    """Per-person arrays the approximation reads (all the same length)."""

    minor: np.ndarray
    nationality: np.ndarray  # iso3 strings
    nat_visa_required: np.ndarray
    nat_eu15: np.ndarray
    return_country: np.ndarray  # iso3 strings
    ret_visa_required: np.ndarray
    ret_latin_america: np.ndarray
    ret_balkans: np.ndarray
    registration: np.ndarray  # day numbers
    departure: np.ndarray  # day numbers (planned or actual)
    vulnerability_count: np.ndarray  # non-medical flags incl. aged 65+
    medical_basic: np.ndarray
    amaar: np.ndarray  # AMAAR cost > 0
    excluded: np.ndarray  # five-year rule (known) or became Belgian
    applicant: np.ndarray
    application_type: np.ndarray  # effective (annex children follow the parent); "" if none
    procedure_phase: np.ndarray  # effective; "" if none
    belgium_responsible: np.ndarray  # effective, unknown = False
    m_status: np.ndarray
    days_since_decision: np.ndarray  # registration - decision_notified_on; large if none


def approximate_paid_amounts(f: PersonFacts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return premium, reintegration support (PAP + PRP) and a "ticket due" mask.

    Not modelled: transport allowance, AMAAR and Balkan administrative support (none
    of them is a paid column of the extract), PAP/PRP split.
    """
    minor = f.minor
    per_person = lambda adult, child: np.where(minor, child, adult).astype(np.int64)  # noqa: E731
    table_2026 = (f.registration >= D_2026) | (f.departure > D_TRANSITION_END)
    ret = f.return_country
    nat = f.nationality
    vulnerable = (f.vulnerability_count > 0) | f.medical_basic | f.amaar

    # Return premium follows nationality (T25-PREMIUM-*, T26-PREMIUM unchanged).
    premium = np.where(f.nat_visa_required, per_person(35_000, 17_500), per_person(5_000, 2_500))
    premium = np.where((nat == "MDA") & (f.registration >= D_MDA_END), 0, premium)

    # --- 2025 table ---
    base25 = f.ret_visa_required | f.ret_latin_america  # T25-BASE
    base25 &= ~((ret == "BRA") & (f.registration >= D_BRA_END))  # T25-BASE-BRA
    base25 |= (ret == "MDA") & (f.registration < D_MDA_END)  # Moldova had base until T25-BASE-MDA
    base25 &= ~(np.isin(ret, RESTRICTED_2025) & (f.registration >= D_2025_01_01))  # T25-RESTRICT
    reint25 = np.where(base25, per_person(100_000, 50_000), 0)
    reint25 += np.where(base25 & (ret == "SYR"), per_person(200_000, 100_000), 0)  # T25-PRIORITY
    reint25 += np.where(f.vulnerability_count > 0, 70_000, 0)  # T25-VULN (not cumulative)
    reint25 += np.where(f.medical_basic & ~f.amaar, 50_000, 0)  # C-MED-BASIC, C-MED-EITHER

    # --- 2026 table ---
    cat1 = ret == "SYR"
    cat3 = f.ret_balkans | np.isin(ret, CATEGORY_3)
    cat2 = (f.ret_visa_required | f.ret_latin_america) & ~cat1 & ~cat3  # T26-CAT
    cat12 = cat1 | cat2
    reint26 = np.where(cat12, per_person(200_000, 100_000), 0)  # T26-BASE
    reint26 += np.where(cat1, per_person(100_000, 50_000), 0)  # T26-PRIORITY
    phase = f.procedure_phase
    dublin = np.isin(phase, ("dublin", "annex_26quater"))
    degr_who = (
        cat12
        & f.applicant
        & (f.application_type == "first")
        & ~f.m_status
        & (~dublin | f.belgium_responsible)
        & (f.registration >= D_2026)
        & (f.departure >= D_DEGR_DEPARTURE)
    )  # T26-DEGR-WHO, T26-DEGR-WHEN
    refused = np.isin(phase, ("cgvs_refused", "rvv_refused"))
    degr = np.select(
        [
            np.isin(phase, ("dvz", "cgvs_pending")) | dublin,
            (phase == "rvv_pending") | (refused & (f.days_since_decision <= 60)),
        ],
        [200_000, 50_000],
        0,
    )  # T26-DEGR-AMOUNT
    reint26 += np.where(degr_who, degr, 0)
    reint26 += f.vulnerability_count.astype(np.int64) * 100_000  # T26-VULN (cumulative)
    reint26 += np.where(f.medical_basic & ~f.amaar, 50_000, 0)  # C-MED-BASIC, C-MED-EITHER

    reintegration = np.where(table_2026, reint26, reint25)

    # Exclusions (C-EXCL-EU15, C-EXCL-5Y, C-EXCL-BE).
    eu15 = f.nat_eu15
    premium = np.where(eu15 | f.excluded, 0, premium)
    reintegration = np.where(eu15 | f.excluded, 0, reintegration)
    ticket_due = ~f.excluded & (~eu15 | vulnerable)  # C-TICKET
    return premium.astype(np.int64), reintegration.astype(np.int64), ticket_due
