"""One month of synthetic dossiers and persons, vectorised (no loop over persons).

``generate_month`` returns the *true* state of the dossiers registered in a month as
a typed polars frame (the extract columns plus a few ``_``-prefixed helper columns).
What an extract shows of it (corrections, defects, spelling) is decided in
``extracts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from data_contracts.countries import countries
from data_contracts.demo import ids
from data_contracts.demo.payments import PersonFacts, approximate_paid_amounts
from data_contracts.demo.plan import (
    AS_OF,
    CHILDREN_PMF,
    DOSSIER_TYPES,
    FAMILY2_GRANDPARENT,
    FAMILY_MIXES,
    FIRST_YEAR,
    IRREGULAR_TILT,
    LAG_MAX,
    LAG_MIN,
    LAG_MODE,
    OTHER_ADULTS_PMF,
    REINTEGRATION_UPTAKE,
    REPORT_DELAY_DAYS,
    RESIDENCE_MIXES,
    SHARE_CANCELLED,
    SHARE_DEPARTED,
    TICKET_EUR,
    day_number,
    plan,
    weekdays_of_month,
)
from data_contracts.row_model import PROCEDURE_PHASES

ROLES = np.array(["principal", "partner", "child", "other_adult"])
PRINCIPAL, PARTNER, CHILD, OTHER_ADULT = range(4)
SINGLE, UAM, COUPLE, FAMILY2, FAMILY1, WITH_ADULTS = range(len(DOSSIER_TYPES))
STATUSES = np.array(["departed", "cancelled", "no_show", "registered"])
DEPARTED, CANCELLED, NO_SHOW, REGISTERED = range(4)
RESIDENCES = np.array(["applicant", "end_of_procedure", "irregular", "other"])
APPLICANT, END_OF_PROCEDURE, IRREGULAR, OTHER = range(4)
SEXES = np.array(["F", "M", "X"])
APP_TYPES = np.array(["first", "subsequent", "accompanied_minor"])
PHASES = np.array(PROCEDURE_PHASES)
PHASE_WEIGHTS = np.array([0.14, 0.08, 0.06, 0.27, 0.18, 0.12, 0.15])
REFUSED = np.isin(PHASES, ("cgvs_refused", "rvv_refused"))
DUBLIN = np.isin(PHASES, ("dublin", "annex_26quater"))
# Days between the asylum application and registration, by phase (low, high).
ASYLUM_LAG = np.array(
    [[2, 75], [10, 120], [40, 200], [30, 540], [150, 720], [200, 900], [300, 1300]]
)
PARTNERS = np.array(["IOM", "Caritas"])

# Nationals returning to a country that is not theirs (share of dossiers, nationality).
THIRD_COUNTRY = {
    "COL": (0.04, "VEN"),
    "PER": (0.05, "VEN"),
    "ECU": (0.05, "VEN"),
    "CHL": (0.10, "VEN"),
    "BRA": (0.01, "BOL"),
    "TUR": (0.03, "SYR"),
    "IRN": (0.10, "AFG"),
    "PAK": (0.06, "AFG"),
    "RUS": (0.02, "UKR"),
    "ARM": (0.02, "SYR"),
}
STATELESS = {"LBN": 0.2, "PSE": 0.2, "SYR": 0.02, "IRQ": 0.02, "RUS": 0.01}
OVERPAYMENT_SHARE = 0.002  # departed persons paid 500 EUR more than entitled
REPEAT_SHARE = 0.03  # departed single adults who come back in a later dossier


@dataclass(frozen=True)
class CountryTable:
    """Attributes of every plan country, and of every code, as aligned arrays."""

    iso3: np.ndarray
    ticket_cents: np.ndarray
    residence_mix: np.ndarray  # (C, 4)
    family_cdf: np.ndarray  # (C, 6)
    third_share: np.ndarray
    third_nationality: np.ndarray
    stateless_share: np.ndarray
    attr: dict[str, dict[str, bool]]


@cache
def country_table() -> CountryTable:
    p = plan()
    ref = countries()
    attr = {
        col: dict(zip(ref["iso3"].to_list(), ref[col].to_list(), strict=True))
        for col in ("eu15", "visa_required", "latin_america", "balkans")
    }
    third = [THIRD_COUNTRY.get(c, (0.0, c)) for c in p.iso3]
    return CountryTable(
        iso3=np.array(p.iso3),
        ticket_cents=np.array([TICKET_EUR[r] * 100 for r in p.region], dtype=np.int64),
        residence_mix=np.array([RESIDENCE_MIXES[r] for r in p.residence]),
        family_cdf=np.cumsum([FAMILY_MIXES[f] for f in p.family], axis=1),
        third_share=np.array([s for s, _ in third]),
        third_nationality=np.array([n for _, n in third]),
        stateless_share=np.array([STATELESS.get(c, 0.0) for c in p.iso3]),
        attr=attr,
    )


def _lookup(mapping: dict[str, bool], codes: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(codes, return_inverse=True)
    return np.array([mapping[c] for c in uniq], dtype=bool)[inverse]


# Dossier-level draws that drive the calibrated counts (type, status, residence,
# number of children, registration day, departure lag) come from per-country Weyl
# sequences frac(phase + j * step), j numbering the country's dossiers across all
# months: a quasi-random sample, so every country gets almost exactly its planned
# mix over any stretch of time and the yearly counts carry very little sampling
# noise even at scale 1, while each month stays its own computation. The steps are
# rationally independent, so the sequences behave as independent draws.
WEYL_STEPS = {
    "type": 0.6180339887498949,  # golden ratio
    "status": 0.4142135623730951,  # sqrt(2)
    "residence": 0.7320508075688772,  # sqrt(3)
    "children": 0.6457513110645906,  # sqrt(7)
    "day": 0.3166247903554,  # sqrt(11)
    "lag": 0.6055512754639893,  # sqrt(13)
}


def _triangular_quantile(u: np.ndarray, a: float, c: float, b: float) -> np.ndarray:
    fc = (c - a) / (b - a)
    return np.where(
        u < fc, a + np.sqrt(u * (b - a) * (c - a)), b - np.sqrt((1 - u) * (b - a) * (b - c))
    )


def _draw(rng, probabilities, n: int) -> np.ndarray:
    cdf = np.cumsum(probabilities)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def _adult_ages(rng, n: int) -> np.ndarray:
    """Single adults: 18-24 17%, 25-44 58%, 45-64 21%, 65-80 4%."""
    bins = np.array([[18, 25], [25, 45], [45, 65], [65, 81]])
    which = _draw(rng, (0.17, 0.58, 0.21, 0.04), n)
    return rng.integers(bins[which, 0], bins[which, 1])


def _date_series(days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(days.astype(np.int32)).cast(pl.Date)
    if valid is not None:
        s = pl.select(pl.when(pl.Series(valid)).then(s)).to_series()
    return s


def _nullable(values: np.ndarray | pl.Series, valid: np.ndarray, dtype=None) -> pl.Series:
    """``values`` where ``valid``, null elsewhere."""
    if not isinstance(values, pl.Series):
        values = pl.Series(values, dtype=dtype)
    return pl.select(pl.when(pl.Series(valid, dtype=pl.Boolean)).then(values)).to_series()


@dataclass
class Repeaters:
    """Persons of earlier dossiers who register again in this month."""

    person_counter: np.ndarray
    country: np.ndarray  # plan index
    nationality: np.ndarray
    sex: np.ndarray  # code into SEXES
    age: np.ndarray  # age at the earlier registration
    registration: np.ndarray  # earlier registration day
    departure: np.ndarray  # earlier departure day

    @staticmethod
    def concat(parts: list[Repeaters]) -> Repeaters:
        fields = Repeaters.__dataclass_fields__
        return Repeaters(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in fields})


def generate_month(
    m: int,
    counts: np.ndarray,
    offsets: np.ndarray,
    phases: dict[str, np.ndarray],
    repeaters: Repeaters | None,
    rng: np.random.Generator,
    seed: int,
) -> tuple[pl.DataFrame, dict[int, Repeaters]]:
    """The true dossiers registered in month ``m``, and who of them will come back.

    ``counts`` are the planned dossiers per country, ``offsets`` the number of
    dossiers each country had in earlier months (the position in its sequences).
    """
    ct = country_table()
    n_countries = len(ct.iso3)
    year = FIRST_YEAR + m // 12

    # ---- dossiers -----------------------------------------------------------
    cidx = np.repeat(np.arange(n_countries), counts)
    n_planned = len(cidx)
    n_rep = 0 if repeaters is None else len(repeaters.country)
    if n_rep:
        cidx = np.concatenate([cidx, repeaters.country])
    n_d = len(cidx)
    is_rep = np.arange(n_d) >= n_planned

    group_start = np.cumsum(counts) - counts
    running = np.zeros(n_d, dtype=np.int64)
    running[:n_planned] = (
        offsets[cidx[:n_planned]] + np.arange(n_planned) - group_start[cidx[:n_planned]]
    )
    # repeaters: random positions, they are not part of the plan
    running[n_planned:] = rng.integers(0, 1 << 40, n_rep)

    def weyl(purpose: str) -> np.ndarray:
        return np.mod(phases[purpose][cidx] + running * WEYL_STEPS[purpose], 1.0)

    def codes(purpose: str, cdf: np.ndarray) -> np.ndarray:
        return (weyl(purpose)[:, None] >= cdf[:, :-1]).sum(axis=1)

    dtype = codes("type", ct.family_cdf[cidx])
    dtype[is_rep] = SINGLE
    status_cdf = np.tile([SHARE_DEPARTED, SHARE_DEPARTED + SHARE_CANCELLED, 1.0], (n_d, 1))
    status = codes("status", status_cdf)
    mix = ct.residence_mix.copy()
    mix[:, IRREGULAR] *= IRREGULAR_TILT.get(year, 1.0)
    mix /= mix.sum(axis=1, keepdims=True)
    residence = codes("residence", np.cumsum(mix, axis=1)[cidx])

    weekdays = weekdays_of_month(m)
    reg = weekdays[np.minimum((weyl("day") * len(weekdays)).astype(np.int64), len(weekdays) - 1)]
    dep = reg + np.floor(_triangular_quantile(weyl("lag"), LAG_MIN, LAG_MODE, LAG_MAX)).astype(
        np.int64
    )
    cutoff = day_number(AS_OF) - REPORT_DELAY_DAYS
    status = np.where((status == DEPARTED) & (dep > cutoff), REGISTERED, status)
    has_departure = (status == DEPARTED) | (status == REGISTERED)

    children_cdf = np.tile(np.cumsum(CHILDREN_PMF), (n_d, 1))
    n_children = np.where(
        (dtype == FAMILY2) | (dtype == FAMILY1), 1 + codes("children", children_cdf), 0
    )
    has_partner = ((dtype == COUPLE) | (dtype == FAMILY2)).astype(np.int64)
    n_other = np.where(dtype == WITH_ADULTS, 1 + _draw(rng, OTHER_ADULTS_PMF, n_d), 0)
    n_other += (dtype == FAMILY2) & (rng.random(n_d) < FAMILY2_GRANDPARENT)
    size = 1 + has_partner + n_other + n_children

    ret_code = ct.iso3[cidx]
    nationality = ret_code.copy()
    u = rng.random(n_d)
    third = u < ct.third_share[cidx]
    nationality[third] = ct.third_nationality[cidx][third]
    stateless = (u >= 1 - ct.stateless_share[cidx]) & ~third
    nationality[stateless] = "STA"
    if n_rep:
        nationality[is_rep] = repeaters.nationality
    uptake = rng.random(n_d) < REINTEGRATION_UPTAKE.get(year, 0.9)
    partner_code = (rng.random(n_d) >= 0.7).astype(np.int64)  # IOM 70%, Caritas 30%
    dossier_u = rng.random(n_d)  # shared draw for dates inside one dossier
    arrival_known = rng.random(n_d) < 0.85
    asylum_eop_known = rng.random(n_d) < 0.7

    # ---- persons ------------------------------------------------------------
    n_p = int(size.sum())
    d = np.repeat(np.arange(n_d), size)
    first = np.cumsum(size) - size
    slot = np.arange(n_p) - first[d]
    role = np.select(
        [slot == 0, slot <= has_partner[d], slot <= has_partner[d] + n_other[d]],
        [PRINCIPAL, PARTNER, OTHER_ADULT],
        CHILD,
    )
    ptype = dtype[d]
    is_child = role == CHILD
    principal_row = first[d]

    # ages of principals first, then the others relative to them
    age = np.zeros(n_p, dtype=np.int64)
    princ = role == PRINCIPAL
    pt = ptype[princ]
    parent_age = np.clip(np.round(rng.normal(35, 7, n_p)), 20, 58).astype(np.int64)
    age[princ] = np.select(
        [pt == UAM, (pt == FAMILY2) | (pt == FAMILY1)],
        [rng.integers(15, 18, n_p)[princ], parent_age[princ]],
        _adult_ages(rng, n_p)[princ],
    )
    if n_rep:
        rep_rows = first[is_rep]
        years_gap = np.floor((reg[is_rep] - repeaters.registration) / 365.25).astype(np.int64)
        age[rep_rows] = np.minimum(repeaters.age + years_gap, 99)
    partner_age = np.clip(age[principal_row] + np.round(rng.normal(-2, 4, n_p)), 18, 85)
    age = np.where(role == PARTNER, partner_age, age)
    other_age = np.where(
        rng.random(n_p) < 0.5, rng.integers(18, 26, n_p), rng.integers(45, 79, n_p)
    )
    age = np.where(role == OTHER_ADULT, other_age, age)
    annex_parent = np.where(
        has_partner[d].astype(bool) & (rng.random(n_p) < 0.3), principal_row + 1, principal_row
    )
    max_child = np.clip(age[annex_parent] - 16, 0, 17)
    child_age = np.floor(rng.random(n_p) * (max_child + 1)).astype(np.int64)
    age = np.where(is_child, child_age, age).astype(np.int64)
    adult = age >= 18

    # sex: principals by dossier type, partners opposite, others even
    p_male = np.select(
        [
            ptype == UAM,
            (ptype == COUPLE) | (ptype == FAMILY2),
            ptype == FAMILY1,
            ptype == WITH_ADULTS,
        ],
        [0.85, 0.78, 0.14, 0.6],
        0.66,
    )
    u = rng.random(n_p)
    sex = np.where(u < 0.004, 2, np.where(u < 0.004 + (1 - 0.004) * p_male, 1, 0))
    even = rng.random(n_p)
    sex = np.where(
        (role == CHILD) | (role == OTHER_ADULT), np.where(even < 0.001, 2, even < 0.5), sex
    )
    sex = np.where(role == PARTNER, np.where(sex[principal_row] == 0, 1, 0), sex)
    if n_rep:
        sex[first[is_rep]] = repeaters.sex

    # ---- residence and procedure --------------------------------------------
    res = residence[d]
    applicant = res == APPLICANT
    phase = _draw(rng, PHASE_WEIGHTS, n_p)
    app_type = np.where(rng.random(n_p) < 0.82, 0, 1)
    follows_principal = (role == PARTNER) & (rng.random(n_p) < 0.85)
    phase = np.where(follows_principal, phase[principal_row], phase)
    app_type = np.where(follows_principal, app_type[principal_row], app_type)
    # children: most follow the parent on whose annex they are (fields empty)
    child_own = is_child & (rng.random(n_p) < 0.22)
    phase = np.where(child_own & (rng.random(n_p) < 0.7), phase[annex_parent], phase)
    app_type = np.where(child_own, np.where((age < 12) | (rng.random(n_p) < 0.8), 2, 0), app_type)
    app_type = np.where(role == PRINCIPAL, np.where(ptype == UAM, 0, app_type), app_type)
    has_phase = applicant & (~is_child | child_own)
    refusal = has_phase & REFUSED[phase]
    decision_lag = np.floor(rng.random(n_p) * 121).astype(np.int64)
    same_as_parent = is_child & (phase == phase[annex_parent])
    decision_lag = np.where(follows_principal, decision_lag[principal_row], decision_lag)
    decision_lag = np.where(same_as_parent, decision_lag[annex_parent], decision_lag)
    reg_p = reg[d]
    decision = reg_p - decision_lag
    u = rng.random(n_p)
    responsible = np.where(u < 0.3, 1, np.where(u < 0.75, 0, -1))  # -1 = unknown
    responsible = np.where(has_phase & DUBLIN[phase], responsible, -1)
    u = rng.random(n_p)
    m_status_true = adult & (u < np.where(applicant, 0.02, 0.004))
    m_status_known = m_status_true | (u > 0.5)

    # effective procedure (a child on an annex follows that parent) for the rules
    eff_phase = np.where(has_phase, phase, np.where(is_child & applicant, phase[annex_parent], -1))
    eff_has = has_phase | (is_child & applicant & has_phase[annex_parent])
    eff_phase = np.where(eff_has, eff_phase, -1)
    eff_type = np.where(has_phase, app_type, np.where(eff_has, app_type[annex_parent], -1))
    eff_resp = np.where(has_phase, responsible, responsible[annex_parent]) == 1
    eff_decision_days = np.where(
        has_phase, reg_p - decision, np.where(eff_has, reg_p - decision[annex_parent], 10_000)
    )

    # asylum application: by (effective) phase for applicants, earlier for end of procedure
    lag_phase = np.where(eff_phase >= 0, eff_phase, 0)
    lo, hi = ASYLUM_LAG[lag_phase, 0], ASYLUM_LAG[lag_phase, 1]
    du = dossier_u[d]
    asylum_lag = np.round(lo + du * (hi - lo)).astype(np.int64)
    asylum_lag = np.where(
        refusal | (eff_has & REFUSED[lag_phase]),
        np.maximum(asylum_lag, decision_lag + 30),
        asylum_lag,
    )
    eop_lag = np.round(365 + du * 1800).astype(np.int64)
    asylum_lag = np.where(res == END_OF_PROCEDURE, eop_lag, asylum_lag)
    if_other = role == OTHER_ADULT
    asylum_lag = np.where(if_other, np.round(lo + rng.random(n_p) * (hi - lo)), asylum_lag).astype(
        np.int64
    )
    asylum_known = applicant | ((res == END_OF_PROCEDURE) & asylum_eop_known[d])
    asylum = reg_p - asylum_lag
    arrival = np.select(
        [applicant | (res == END_OF_PROCEDURE), res == IRREGULAR],
        [asylum - np.floor(du * 25), reg_p - 60 - np.floor(du * 3600)],
        reg_p - 30 - np.floor(du * 2000),
    ).astype(np.int64)
    birth_approx = reg_p - age * 365 - 180
    arrival_ok = arrival_known[d] & (arrival >= birth_approx)
    asylum_ok = asylum_known & (asylum >= birth_approx)

    # ---- vulnerabilities and history ----------------------------------------
    female = sex == 0
    pregnant = female & adult & (age <= 45) & (rng.random(n_p) < 0.04)
    single_parent = (ptype == FAMILY1) & (role == PRINCIPAL) & (rng.random(n_p) < 0.92)
    trafficking = adult & (rng.random(n_p) < np.where(female, 0.01, 0.0025))
    ex_uam = ((ptype == UAM) & (role == PRINCIPAL)) | (
        adult & (age <= 22) & (rng.random(n_p) < 0.05)
    )
    medical = rng.random(n_p) < 0.05
    amaar_on = rng.random(n_p) < 0.01
    amaar_cents = np.round(np.exp(rng.uniform(np.log(500), np.log(15_000), n_p)) * 100).astype(
        np.int64
    )
    u = rng.random(n_p)
    prev_support = np.where(
        u < 0.006,
        reg_p - np.round(2000 + rng.random(n_p) * 2400),
        np.where(u < 0.0075, reg_p - np.round(365 + rng.random(n_p) * 1300), -1),
    ).astype(np.int64)
    prev_support = np.where(adult, prev_support, -1)
    if n_rep:
        rep_rows = first[is_rep]
        known = rng.random(n_rep) < 0.6
        prev_support[rep_rows] = np.where(known, repeaters.departure, -1)
    u = rng.random(n_p)
    became_belgian = np.where(adult & (u < 0.0001), 1, np.where(u < 0.55, 0, -1))

    # ---- payments -----------------------------------------------------------
    nat_p = nationality[d]
    ret_p = ret_code[d]
    excluded_5y = (prev_support >= 0) & (reg_p - prev_support < 1826)
    vuln_count = (pregnant.astype(int) + single_parent + trafficking + ex_uam + (age >= 65)).astype(
        np.int64
    )
    dep_p = dep[d]
    facts = PersonFacts(
        minor=~adult,
        nationality=nat_p,
        nat_visa_required=_lookup(ct.attr["visa_required"], nat_p),
        nat_eu15=_lookup(ct.attr["eu15"], nat_p),
        return_country=ret_p,
        ret_visa_required=_lookup(ct.attr["visa_required"], ret_p),
        ret_latin_america=_lookup(ct.attr["latin_america"], ret_p),
        ret_balkans=_lookup(ct.attr["balkans"], ret_p),
        registration=reg_p,
        departure=dep_p,
        vulnerability_count=vuln_count,
        medical_basic=medical,
        amaar=amaar_on,
        excluded=excluded_5y | (became_belgian == 1),
        applicant=applicant,
        application_type=np.where(eff_type >= 0, APP_TYPES[np.maximum(eff_type, 0)], ""),
        procedure_phase=np.where(eff_phase >= 0, PHASES[np.maximum(eff_phase, 0)], ""),
        belgium_responsible=eff_resp,
        m_status=m_status_true,
        days_since_decision=eff_decision_days,
    )
    premium, reintegration, ticket_due = approximate_paid_amounts(facts)
    reintegration = np.where(uptake[d], reintegration, 0)
    over = rng.random(n_p) < OVERPAYMENT_SHARE
    reintegration = np.where(over, reintegration + 50_000, reintegration)
    ticket_factor = np.where(age < 2, 0.15, np.where(age < 12, 0.75, 1.0)) * rng.uniform(
        0.8, 1.25, n_p
    )
    ticket = np.where(ticket_due, np.round(ct.ticket_cents[cidx][d] * ticket_factor), 0).astype(
        np.int64
    )
    dossier_reint = np.bincount(d, weights=reintegration, minlength=n_d) > 0
    departed_p = status[d] == DEPARTED

    # ---- repeat returners: chosen now, registered again in a later month ----
    pool: dict[int, Repeaters] = {}
    candidates = princ & (ptype == SINGLE) & departed_p & adult & (rng.random(n_p) < REPEAT_SHARE)
    gap = np.where(rng.random(n_p) < 0.6, rng.integers(6, 60, n_p), rng.integers(60, 91, n_p))
    target = m + gap
    person_counter = ids.person_counter(m, np.arange(n_p))
    if n_rep:
        person_counter[first[is_rep]] = repeaters.person_counter
    for t in np.unique(target[candidates]):
        rows = candidates & (target == t)
        pool[int(t)] = Repeaters(
            person_counter=person_counter[rows],
            country=cidx[d][rows],
            nationality=nat_p[rows],
            sex=sex[rows],
            age=age[rows],
            registration=reg_p[rows],
            departure=dep_p[rows],
        )

    # ---- ids ----------------------------------------------------------------
    dossier_id = ids.dossier_ids(ids.dossier_counter(m, np.arange(n_d)), seed)
    person_id = ids.person_ids(person_counter, seed)

    frame = pl.DataFrame(
        {
            "dossier_id": dossier_id.gather(pl.Series(d)),
            "person_id": person_id,
            "role": ROLES[role],
            "annex_parent_id": _nullable(person_id.gather(pl.Series(annex_parent)), is_child),
            "age_at_registration": age,
            "sex": SEXES[sex],
            "nationality": nat_p,
            "return_country": ret_p,
            "registration_date": _date_series(reg_p),
            "departure_date": _date_series(dep_p, has_departure[d]),
            "dossier_status": STATUSES[status[d]],
            "residence_status": RESIDENCES[res],
            "application_type": _nullable(APP_TYPES[app_type], has_phase, pl.String),
            "procedure_phase": _nullable(PHASES[phase], has_phase, pl.String),
            "decision_notified_on": _date_series(decision, refusal),
            "belgium_responsible": _nullable(responsible == 1, responsible >= 0, pl.Boolean),
            "protection_in_other_member_state": _nullable(
                m_status_true, m_status_known, pl.Boolean
            ),
            "asylum_application_date": _date_series(asylum, asylum_ok),
            "arrival_in_belgium_date": _date_series(arrival, arrival_ok),
            "pregnant": pregnant,
            "ex_unaccompanied_minor": ex_uam,
            "single_parent": single_parent,
            "trafficking_victim": trafficking,
            "medical_basic": medical,
            "amaar_estimated_cost_eur": _nullable(amaar_cents, amaar_on, pl.Int64),
            "previous_return_support_date": _date_series(prev_support, prev_support >= 0),
            "became_belgian": _nullable(became_belgian == 1, became_belgian >= 0, pl.Boolean),
            "reintegration_partner": _nullable(
                PARTNERS[partner_code[d]], dossier_reint[d] & has_departure[d], pl.String
            ),
            "paid_return_premium_eur": _nullable(premium, departed_p, pl.Int64),
            "paid_reintegration_eur": _nullable(reintegration, departed_p, pl.Int64),
            "ticket_cost_eur": _nullable(ticket, departed_p, pl.Int64),
            "_dossier": d + 0,
            "_departed": departed_p,
            "_planned_departure": dep_p + np.floor(rng.random(n_d) * 11 - 5).astype(np.int64)[d],
        }
    )
    return frame, pool
