"""The rules reference in plain Python: one person at a time, written to be read.

This module restates ``docs/domain/rules-reference.md`` as small functions named
after its rules, with the exact readings of ``docs/rules-semantics.md``. It is the
yardstick the vectorised engine (``rules/engine.py``) is tested against, and it
explains every amount it produces: each budget line comes with trace lines that name
the rule id, the parameter and its value, the parameter's status and source.

Clarity over speed: use it for tests, explanations and small sets of rows; use the
engine for the warehouse.

Amounts come from the parameter files through ``Table``; no amount, date or country
list is written here. Country attributes come from the versioned ``countries.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from data_contracts.countries import countries
from data_contracts.row_model import REFUSAL_PHASES
from rules.budget_lines import AMOUNT_COLUMNS, REINTEGRATION_LINES, TOTAL_LINES
from rules.ids import RULE_IDS
from rules.parameters import Parameter, Table, applicable_rules, load_table

NONMEDICAL_FLAGS: tuple[str, ...] = (
    "pregnant",
    "ex_unaccompanied_minor",
    "single_parent",
    "trafficking_victim",
)
DUBLIN_PHASES = ("dublin", "annex_26quater")
EARLY_PHASES = ("dvz", "cgvs_pending")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TraceLine:
    """One reason behind an amount: rule, parameter and value, with provenance."""

    budget_line: str  # an amount column, or "exclusion", "ticket", "category", "table"
    amount: Decimal  # EUR, 2 decimals (0 where the line only explains)
    rule: str  # rule id
    parameter: str | None  # parameter name in the table file, if one was used
    value: object  # the parameter value used (Decimal, list, date…)
    status: str | None  # confirmed / working (from the parameter)
    source: str | None  # the parameter's source text
    note: str  # one plain sentence


@dataclass(frozen=True)
class Entitlement:
    """What one person is entitled to under one table, with the reasons."""

    dossier_id: str
    person_id: str
    table: str  # table name, or "applicable"
    applied_table: str  # the table whose amounts these are
    category: int | None
    ticket_eligible: bool
    amounts: dict[str, Decimal]  # every AMOUNT_COLUMNS key, quantized to 0.01
    rules: tuple[str, ...]  # in RULE_IDS order, no repeats
    trace: tuple[TraceLine, ...]


# ---------------------------------------------------------------------------
# Reference data and small helpers
# ---------------------------------------------------------------------------


@cache
def _country_table() -> dict[str, dict[str, Any]]:
    return {row["iso3"]: row for row in countries().iter_rows(named=True)}


def country(code: str) -> dict[str, Any]:
    """Attributes of a country: name, eu15, visa_required, latin_america, balkans…"""
    return _country_table()[code]


def country_name(code: str) -> str:
    return country(code)["name"]


def euros(amount: Decimal | int | str) -> Decimal:
    return Decimal(amount).quantize(CENT)


def years_before(day: date, years: int) -> date:
    """The same day and month ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def departure(person: dict) -> date:
    """Departure for the date rules: ``departure_date``, else the registration date."""
    return person["departure_date"] or person["registration_date"]


class Values:
    """Every parameter of a table read at one reference date, with its provenance.

    All parameters are read at once: a parameter without a value at the date is an
    error (``ParameterDateError``) even when this person would not need it.
    """

    def __init__(self, table: Table, registration_date: date):
        self.table = table
        self.day = table.period.clamp(registration_date)
        self._values = {name: p.at(self.day) for name, p in table.parameters.items()}

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def has(self, name: str) -> bool:
        return name in self._values

    def parameter(self, name: str) -> Parameter:
        return self.table.parameters[name]

    def rule(self, name: str) -> str:
        return self.parameter(name).rule

    def line(self, budget_line: str, amount: Decimal, name: str, note: str) -> TraceLine:
        """A trace line citing parameter ``name`` (its rule, value, status, source)."""
        p = self.parameter(name)
        return TraceLine(
            budget_line, euros(amount), p.rule, name, self[name], p.status, p.source, note
        )

    def per_person(self, adult_name: str, minor_name: str, minor: bool) -> str:
        return minor_name if minor else adult_name


def plain_line(budget_line: str, rule: str, note: str, amount: Decimal = ZERO) -> TraceLine:
    """A trace line that cites a rule but no parameter."""
    return TraceLine(budget_line, euros(amount), rule, None, None, None, None, note)


# ---------------------------------------------------------------------------
# Derived facts about a person (definitions used by every rule)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A typed extract row with the facts every rule uses."""

    row: dict
    application_type: str | None  # effective (a follower's come from the parent)
    procedure_phase: str | None
    decision_notified_on: date | None
    belgium_responsible: bool | None
    follower: bool  # on a parent's annex without an own phase

    def __getitem__(self, column: str) -> Any:
        return self.row[column]

    @property
    def minor(self) -> bool:
        """Minor: ``age_at_registration`` < 18."""
        return self.row["age_at_registration"] < 18

    @property
    def nonmedical(self) -> int:
        """Number of non-medical vulnerabilities (aged 65 or more counts as one)."""
        flags = sum(bool(self.row[flag]) for flag in NONMEDICAL_FLAGS)
        return flags + (self.row["age_at_registration"] >= 65)

    @property
    def amaar_cost(self) -> Decimal:
        return self.row["amaar_estimated_cost_eur"] or ZERO

    @property
    def vulnerable(self) -> bool:
        """Any non-medical vulnerability, basic medical, or an AMAAR cost > 0."""
        return self.nonmedical > 0 or bool(self.row["medical_basic"]) or self.amaar_cost > 0


def household(persons: Sequence[dict]) -> list[Person]:
    """Persons with their effective procedure fields (T26-DEGR-CHILD).

    A child on an annex (``annex_parent_id`` set, own phase empty) takes the
    application type, phase, notification date and Belgium-responsible flag of the
    person of the same dossier named as parent (one level; nothing if not found).
    """
    by_key = {}
    for row in persons:
        by_key.setdefault((row["dossier_id"], row["person_id"]), row)
    result = []
    for row in persons:
        follower = row["annex_parent_id"] is not None and row["procedure_phase"] is None
        parent = by_key.get((row["dossier_id"], row["annex_parent_id"])) if follower else None
        source = parent if parent is not None else row
        result.append(
            Person(
                row=row,
                application_type=source["application_type"],
                procedure_phase=source["procedure_phase"],
                decision_notified_on=source["decision_notified_on"],
                belgium_responsible=source["belgium_responsible"],
                follower=follower,
            )
        )
    return result


# ---------------------------------------------------------------------------
# Exclusions (C-EXCL-BE, C-EXCL-5Y, C-EXCL-EU15), in this order
# ---------------------------------------------------------------------------


def became_belgian(person: Person) -> TraceLine | None:
    """C-EXCL-BE: a person who became Belgian gets no support."""
    if person["became_belgian"]:
        return plain_line("exclusion", "C-EXCL-BE", "Became Belgian: no support.")
    return None


def supported_in_last_five_years(
    person: Person, values: Values, earlier_rows: Sequence[dict]
) -> TraceLine | None:
    """C-EXCL-5Y: assisted-return support less than five years before registration.

    Known from ``previous_return_support_date`` or from another departed dossier of
    the same ``person_id`` (in the rows evaluated or in the warehouse history).
    """
    registered = person["registration_date"]
    window = values["five_year_window"]
    since = years_before(registered, window)

    def within(day: date | None) -> bool:
        return day is not None and since < day <= registered

    previous = person["previous_return_support_date"]
    if within(previous):
        return values.line(
            "exclusion",
            ZERO,
            "five_year_window",
            f"Earlier support on {previous}, less than {window} years before "
            f"registration on {registered}: no support.",
        )
    for other in earlier_rows:
        if (
            other["person_id"] == person["person_id"]
            and other["dossier_id"] != person["dossier_id"]
            and other["dossier_status"] == "departed"
            and within(other["departure_date"])
        ):
            return values.line(
                "exclusion",
                ZERO,
                "five_year_window",
                f"Departed with dossier {other['dossier_id']} on {other['departure_date']}, "
                f"less than {window} years before registration on {registered}: no support.",
            )
    return None


def eu15_national(person: Person, values: Values) -> list[TraceLine] | None:
    """C-EXCL-EU15: EU-15 nationals get no support; if vulnerable, ticket and transport."""
    nationality = person["nationality"]
    if not country(nationality)["eu15"]:
        return None
    name = country_name(nationality)
    if not person.vulnerable:
        return [plain_line("exclusion", "C-EXCL-EU15", f"{name} is an EU-15 country: no support.")]
    return [
        plain_line(
            "exclusion",
            "C-EXCL-EU15",
            f"{name} is an EU-15 country and the person is vulnerable: "
            "a ticket and the transport allowance only.",
        ),
        ticket(),
        transport_allowance(values),
    ]


# ---------------------------------------------------------------------------
# Common budget lines
# ---------------------------------------------------------------------------


def ticket() -> TraceLine:
    """C-TICKET: everyone not excluded gets a ticket (actual cost, not in the total)."""
    return plain_line("ticket", "C-TICKET", "A ticket is due (actual cost, not in the total).")


def transport_allowance(values: Values) -> TraceLine:
    """C-TRANSPORT: transport to the airport or station, budgeted at the cap."""
    amount = values["transport_allowance"]
    return values.line(
        "transport_allowance", amount, "transport_allowance", "Transport to the airport or station."
    )


def medical_topup(person: Person, values: Values) -> list[TraceLine]:
    """C-MED-BASIC: basic medical vulnerability, per person, unless AMAAR is given.

    Seed 000: "€500 (basic) of actual cost (AMAAR)", one or the other. A person with
    an AMAAR cost > 0 gets AMAAR instead (C-MED-EITHER), never both.
    """
    if not person["medical_basic"]:
        return []
    if person.amaar_cost > 0:
        return [
            plain_line(
                "medical_topup",
                "C-MED-EITHER",
                "Basic medical vulnerability and an AMAAR cost: AMAAR instead of the "
                "basic medical top-up (one or the other, not both).",
            )
        ]
    amount = values["medical_basic_topup"]
    return [
        values.line("medical_topup", amount, "medical_basic_topup", "Basic medical vulnerability.")
    ]


def amaar(person: Person) -> list[TraceLine]:
    """C-MED-AMAAR: the AMAAR cost estimated by the agency's doctor, no maximum.

    It replaces the basic medical top-up (C-MED-EITHER).
    """
    cost = person.amaar_cost
    if cost <= 0:
        return []
    return [plain_line("amaar", "C-MED-AMAAR", "AMAAR at its estimated actual cost.", cost)]


# ---------------------------------------------------------------------------
# Table rules (the ids come from the parameters, so one function serves both tables)
# ---------------------------------------------------------------------------


def return_premium(person: Person, values: Values) -> TraceLine:
    """T25-PREMIUM-VISA / -FREE / -MDA, T26-PREMIUM: cash at departure, by nationality."""
    nationality = person["nationality"]
    name = country_name(nationality)
    if nationality in values["premium_abolished_nationalities"]:
        return values.line(
            "return_premium",
            ZERO,
            "premium_abolished_nationalities",
            f"No return premium for nationals of {name}.",
        )
    if country(nationality)["visa_required"]:
        parameter = values.per_person(
            "premium_visa_required_adult", "premium_visa_required_minor", person.minor
        )
        kind = "a visa-required country"
    else:
        parameter = values.per_person(
            "premium_visa_free_adult", "premium_visa_free_minor", person.minor
        )
        kind = "a visa-free country, Kosovo or an EU country outside the EU-15"
    who = "a minor" if person.minor else "an adult"
    return values.line(
        "return_premium",
        values[parameter],
        parameter,
        f"Return premium for {who} national of {name} ({kind}).",
    )


@dataclass(frozen=True)
class BaseEligibility:
    eligible: bool
    lines: list[TraceLine] = field(default_factory=list)


def base_eligibility(person: Person, values: Values) -> BaseEligibility:
    """T25-BASE(-BRA/-MDA), T25-RESTRICT, T25-VISAFREE, T26-BASE, T26-CAT3.

    By return country, in this order: restricted → no base; base ended → no base;
    visa-required, Latin America or an extra country → base; otherwise no base.
    Returns the base line as well (0 when not eligible).
    """
    code = person["return_country"]
    name = country_name(code)
    if code in values["restricted_countries"]:
        return BaseEligibility(
            False,
            [
                values.line(
                    "reintegration_base",
                    ZERO,
                    "restricted_countries",
                    f"{name} is restricted: no reintegration support unless vulnerable.",
                )
            ],
        )
    if code in values["base_ended_countries"]:
        return BaseEligibility(
            False,
            [
                values.line(
                    "reintegration_base",
                    ZERO,
                    "base_ended_countries",
                    f"No base reintegration for {name}: top-ups for vulnerability only.",
                )
            ],
        )
    attributes = country(code)
    extra = values.has("base_extra_countries") and code in values["base_extra_countries"]
    if attributes["visa_required"] or attributes["latin_america"] or extra:
        parameter = values.per_person("base_adult", "base_minor", person.minor)
        lines = [
            values.line(
                "reintegration_base",
                values[parameter],
                parameter,
                f"Base reintegration for {'a minor' if person.minor else 'an adult'} "
                f"returning to {name}.",
            )
        ]
        if not (attributes["visa_required"] or attributes["latin_america"]):
            lines.append(
                values.line(
                    "reintegration_base",
                    ZERO,
                    "base_extra_countries",
                    f"{name} keeps base reintegration although it is visa-free.",
                )
            )
        return BaseEligibility(True, lines)
    rule = values.table.rule_ids["no_base_without_category"]
    return BaseEligibility(
        False,
        [
            plain_line(
                "reintegration_base",
                rule,
                f"{name} is visa-free (or in the EU): no base reintegration; "
                "top-ups for vulnerability only.",
            )
        ],
    )


def priority_topup(person: Person, values: Values, base_eligible: bool) -> list[TraceLine]:
    """T25-PRIORITY-SYR, T26-PRIORITY: priority top-up on top of the base."""
    code = person["return_country"]
    if not (base_eligible and code in values["priority_countries"]):
        return []
    parameter = values.per_person("priority_adult", "priority_minor", person.minor)
    return [
        values.line(
            "priority_topup",
            values[parameter],
            parameter,
            f"{country_name(code)} is a priority country.",
        )
    ]


def category(person: Person, values: Values) -> int | None:
    """T26-CAT: 1 priority, 2 other base-eligible, 3 base ended; otherwise none.

    Only under a table whose ``rule_ids`` declares ``category`` (the 2026 table and
    its scenarios). A property of the return country, so it is reported for excluded
    persons too (the base-eligibility tests read without regard to exclusions).
    """
    if "category" not in values.table.rule_ids:
        return None
    code = person["return_country"]
    if base_eligibility(person, values).eligible:
        return 1 if code in values["priority_countries"] else 2
    if code in values["base_ended_countries"]:
        return 3
    return None


def category_line(person: Person, values: Values, number: int | None) -> list[TraceLine]:
    """T26-CAT: every supported row under a table with categories names its category."""
    if "category" not in values.table.rule_ids:
        return []
    name = country_name(person["return_country"])
    note = f"{name} is in category {number}." if number else f"{name} is in no category."
    return [plain_line("category", values.table.rule_ids["category"], note)]


def degressive_topup(person: Person, values: Values, base_eligible: bool) -> list[TraceLine]:
    """T26-DEGR-WHO, -WHEN, -AMOUNT, -CHILD: the degressive top-up for applicants.

    Only under a table with degressive parameters, for applicants from categories 1
    and 2 (that is: base-eligible); everyone else gets no degressive line at all.
    """
    if not values.table.has_degressive:
        return []
    if not base_eligible or person["residence_status"] != "applicant":
        return []
    who = degressive_who(person)
    if who is not None:
        return [plain_line("degressive_topup", "T26-DEGR-WHO", who)]
    when = degressive_when(person, values)
    if when is not None:
        return [values.line("degressive_topup", ZERO, when[0], when[1])]
    lines = [
        plain_line(
            "degressive_topup",
            "T26-DEGR-WHO",
            "International-protection applicant on a first application.",
        ),
        values.line(
            "degressive_topup",
            ZERO,
            "degressive_registered_from",
            f"Registered on {person['registration_date']} and departing on "
            f"{departure(person)}: from {values['degressive_registered_from']} and "
            f"{values['degressive_departed_from']}.",
        ),
        degressive_amount(person, values),
    ]
    if person.follower:
        lines.append(
            plain_line(
                "degressive_topup",
                "T26-DEGR-CHILD",
                f"On the annex of {person['annex_parent_id']}: follows that parent's phase "
                f"({person.procedure_phase or 'none'}).",
            )
        )
    return lines


def degressive_who(person: Person) -> str | None:
    """T26-DEGR-WHO: why this applicant gets no degressive top-up, or None if eligible."""
    if person.application_type != "first":
        kind = person.application_type or "no application type"
        return f"Not a first application ({kind}): no degressive top-up; the base is kept."
    if person["protection_in_other_member_state"]:
        return "Holds protection in another member state (M-status): no degressive top-up."
    if person.procedure_phase in DUBLIN_PHASES and not person.belgium_responsible:
        return (
            f"Phase {person.procedure_phase} without Belgium declared responsible: "
            "no degressive top-up."
        )
    return None


def degressive_when(person: Person, values: Values) -> tuple[str, str] | None:
    """T26-DEGR-WHEN: (parameter, reason) when the dates exclude the top-up, else None."""
    registered = person["registration_date"]
    if registered < values["degressive_registered_from"]:
        return (
            "degressive_registered_from",
            f"Registered on {registered}, before {values['degressive_registered_from']}: "
            "no degressive top-up.",
        )
    leaves = departure(person)
    if leaves < values["degressive_departed_from"]:
        return (
            "degressive_departed_from",
            f"Departure on {leaves}, before {values['degressive_departed_from']}: "
            "no degressive top-up.",
        )
    return None


def degressive_amount(person: Person, values: Values) -> TraceLine:
    """T26-DEGR-AMOUNT: the amount by (effective) phase on the registration date."""
    phase = person.procedure_phase
    if phase in EARLY_PHASES or phase in DUBLIN_PHASES:
        parameter, note = "degressive_early", f"Phase {phase} on registration."
    elif phase == "rvv_pending":
        parameter, note = "degressive_late", "Appeal pending at the RvV on registration."
    elif phase in REFUSAL_PHASES:
        notified = person.decision_notified_on
        grace = values["refusal_grace_days"]
        if notified is None:
            parameter = "degressive_after_grace"
            note = f"Refusal ({phase}) without a notification date."
        else:
            day = (person["registration_date"] - notified).days
            if day <= grace:
                parameter = "degressive_late"
                note = f"Registered on day {day} after the refusal ({phase}), within {grace} days."
            else:
                parameter = "degressive_after_grace"
                note = f"Registered on day {day} after the refusal ({phase}), after {grace} days."
    else:
        parameter, note = "degressive_after_grace", "No procedure phase known."
    return values.line("degressive_topup", values[parameter], parameter, note)


def vulnerability_topup(person: Person, values: Values) -> list[TraceLine]:
    """T25-VULN (one supplement), T26-VULN (per vulnerability, cumulative)."""
    count = person.nonmedical
    if count == 0:
        return []
    each = values["vulnerability_topup"]
    if values["vulnerability_cumulative"]:
        amount = each * count
        note = f"{count} non-medical vulnerabilit{'y' if count == 1 else 'ies'}, each counted."
    else:
        amount = each
        note = f"{count} non-medical vulnerabilit{'y' if count == 1 else 'ies'}, one supplement."
    return [values.line("vulnerability_topup", amount, "vulnerability_topup", note)]


def balkan_admin_support(person: Person, values: Values) -> list[TraceLine]:
    """T25-BALKAN-ADMIN, T26-NO-BALKAN: administrative support for Balkan returns."""
    code = person["return_country"]
    if not country(code)["balkans"]:
        return []
    amount = values["balkan_admin_support"]
    return [
        values.line(
            "balkan_admin_support",
            amount,
            "balkan_admin_support",
            f"Return to {country_name(code)} (Balkans).",
        )
    ]


def monitored(person: Person, values: Values) -> list[TraceLine]:
    """T26-NO-RESTRICT: restriction lifted, the country is monitored for misuse."""
    code = person["return_country"]
    if not values.has("monitored_countries") or code not in values["monitored_countries"]:
        return []
    return [
        values.line(
            "category",
            ZERO,
            "monitored_countries",
            f"{country_name(code)}: restriction lifted, monitored for misuse.",
        )
    ]


def cash_and_in_kind(person: Person, values: Values, reintegration: Decimal) -> list[TraceLine]:
    """T25-CASH, T26-PAP: the cash PAP (capped) and the in-kind PRP of reintegration."""
    if reintegration <= 0:
        return []
    parameter = values.per_person("pap_cash_adult", "pap_cash_minor", person.minor)
    cash = min(values[parameter], reintegration)
    return [
        values.line(
            "pap_cash",
            cash,
            parameter,
            f"Cash PAP: the cap, at most the reintegration support of {euros(reintegration)}.",
        ),
        TraceLine(
            "prp_in_kind",
            euros(reintegration - cash),
            values.rule(parameter),
            None,
            None,
            None,
            None,
            "In-kind PRP: the rest of the reintegration support.",
        ),
    ]


# ---------------------------------------------------------------------------
# One person, one dossier, one table
# ---------------------------------------------------------------------------


@dataclass
class _Draft:
    person: Person
    values: Values
    category: int | None = None
    ticket_eligible: bool = False
    lines: list[TraceLine] = field(default_factory=list)

    def amount(self, budget_line: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.budget_line == budget_line), ZERO)

    @property
    def reintegration(self) -> Decimal:
        return sum((self.amount(name) for name in REINTEGRATION_LINES), ZERO)


def person_entitlement(person: Person, table: Table, earlier_rows: Sequence[dict]) -> _Draft:
    """Everything but the partner service fee (which needs the whole dossier)."""
    values = Values(table, person["registration_date"])
    draft = _Draft(person, values, category=category(person, values))
    for exclusion in (
        became_belgian(person),
        supported_in_last_five_years(person, values, earlier_rows),
    ):
        if exclusion is not None:
            draft.lines.append(exclusion)
            return draft
    eu15 = eu15_national(person, values)
    if eu15 is not None:
        draft.lines.extend(eu15)
        draft.ticket_eligible = any(line.rule == "C-TICKET" for line in eu15)
        return draft

    draft.ticket_eligible = True
    draft.lines += [ticket(), transport_allowance(values), return_premium(person, values)]
    base = base_eligibility(person, values)
    draft.lines += category_line(person, values, draft.category)
    draft.lines += base.lines
    draft.lines += priority_topup(person, values, base.eligible)
    draft.lines += degressive_topup(person, values, base.eligible)
    draft.lines += vulnerability_topup(person, values)
    draft.lines += medical_topup(person, values)
    draft.lines += amaar(person)
    draft.lines += balkan_admin_support(person, values)
    draft.lines += monitored(person, values)
    draft.lines += cash_and_in_kind(person, values, draft.reintegration)
    return draft


def partner_service_fee(drafts: list[_Draft]) -> None:
    """C-FEE: once per dossier with any reintegration support, on the principal's row."""
    supported_dossiers = {d.person["dossier_id"] for d in drafts if d.reintegration > 0}
    for draft in drafts:
        if draft.person["role"] == "principal" and draft.person["dossier_id"] in supported_dossiers:
            draft.lines.append(
                draft.values.line(
                    "partner_service_fee",
                    draft.values["partner_service_fee"],
                    "partner_service_fee",
                    f"Dossier {draft.person['dossier_id']} has reintegration support: "
                    "one partner service fee, on the principal's row.",
                )
            )


def _finish(draft: _Draft, table: str, applied_table: str) -> Entitlement:
    amounts = {name: draft.amount(name) for name in AMOUNT_COLUMNS if name != "total"}
    amounts["total"] = sum((amounts[name] for name in TOTAL_LINES), ZERO)
    amounts = {name: euros(amounts[name]) for name in AMOUNT_COLUMNS}
    used = {line.rule for line in draft.lines}
    return Entitlement(
        dossier_id=draft.person["dossier_id"],
        person_id=draft.person["person_id"],
        table=table,
        applied_table=applied_table,
        category=draft.category,
        ticket_eligible=draft.ticket_eligible,
        amounts=amounts,
        rules=tuple(rule for rule in RULE_IDS if rule in used),
        trace=tuple(draft.lines),
    )


def _drafts(persons: list[dict], table: Table, history: Sequence[dict]) -> list[_Draft]:
    earlier_rows = list(persons) + list(history)
    drafts = [person_entitlement(p, table, earlier_rows) for p in household(persons)]
    partner_service_fee(drafts)
    return drafts


def entitle(persons: list[dict], table: Table, history: Sequence[dict] = ()) -> list[Entitlement]:
    """Every person's entitlement under ``table``, in the order of ``persons``.

    ``persons`` are typed extract rows (``ExtractRow(...).model_dump()``); the whole
    set is needed for households (annex children, the fee per dossier) and, with
    ``history``, for the five-year rule.
    """
    return [_finish(d, table.name, table.name) for d in _drafts(persons, table, history)]


# ---------------------------------------------------------------------------
# Which table applies (A-2026, A-TRANSITION)
# ---------------------------------------------------------------------------


def applicable_table(person: dict) -> tuple[str, TraceLine]:
    """A-2026 / A-TRANSITION: the table that applies to this person's dossier."""
    rules = applicable_rules()
    new_from = rules.new_table_from
    until = rules.transition_departure_until
    registered = person["registration_date"]
    if registered >= new_from.value:
        return rules.after_table, TraceLine(
            "table",
            ZERO,
            new_from.rule,
            "new_table_from",
            new_from.value,
            new_from.status,
            new_from.source,
            f"Registered on {registered}, from {new_from.value}: table {rules.after_table}.",
        )
    leaves = departure(person)
    name = rules.before_table if leaves <= until.value else rules.after_table
    verb = "by" if name == rules.before_table else "after"
    return name, TraceLine(
        "table",
        ZERO,
        until.rule,
        "transition_departure_until",
        until.value,
        until.status,
        until.source,
        f"Registered on {registered}, before {new_from.value}, departing on {leaves}, "
        f"{verb} {until.value}: table {name}.",
    )


def entitle_applicable(persons: list[dict], history: Sequence[dict] = ()) -> list[Entitlement]:
    """Every person under the table that applies to them (``table = "applicable"``)."""
    rules = applicable_rules()
    by_table = {
        name: _drafts(persons, load_table(name), history)
        for name in (rules.before_table, rules.after_table)
    }
    result = []
    for i, person in enumerate(persons):
        name, why = applicable_table(person)
        draft = by_table[name][i]
        draft.lines.insert(0, why)
        result.append(_finish(draft, "applicable", name))
    return result


# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "[] (none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def explain(entitlement: Entitlement) -> str:
    """Each amount with its rule ids, parameter values, sources and statuses, as text."""
    e = entitlement
    table = e.applied_table if e.table == e.applied_table else f"{e.applied_table} ({e.table})"
    head = [
        f"Dossier {e.dossier_id}, person {e.person_id}, table {table}",
        f"  category: {e.category if e.category is not None else '-'}; "
        f"ticket: {'due' if e.ticket_eligible else 'not due'}",
    ]
    explaining = [line for line in e.trace if line.budget_line not in AMOUNT_COLUMNS]
    body = [_trace_text(line) for line in explaining]
    for name in AMOUNT_COLUMNS:
        amount = e.amounts[name]
        body.append(f"  {name:<22}{amount:>10} EUR")
        if name == "total":
            parts = [n for n in TOTAL_LINES if e.amounts[n]]
            body.append("      = " + (" + ".join(parts) or "nothing"))
            continue
        for line in e.trace:
            if line.budget_line == name:
                body.append(_trace_text(line, indent="      "))
    working = sorted(
        {line.parameter for line in e.trace if line.status == "working" and line.parameter}
    )
    tail = [f"  rules: {';'.join(e.rules) or '-'}"]
    if working:
        tail.append(f"  depends on working values: {', '.join(working)}")
    return "\n".join(head + body + tail)


def _trace_text(line: TraceLine, indent: str = "  ") -> str:
    text = f"{indent}[{line.rule}] {line.note}"
    if line.parameter:
        text += f" ({line.parameter} = {_shown(line.value)}; {line.status}; source: {line.source})"
    return text
