"""The extract contract for one row: one person in one REAB dossier.

This model is the single statement of the contract (``docs/domain/extract-format.md``,
the versioned copy of ``shared/domain/extract-format.md``).
It is readable and explains a failing row field by field; the vectorised checks used
at scale (``row_checks``) are derived from its fields, and the cross-field rules are
shared through ``cross_field_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from data_contracts import values
from data_contracts.countries import country_codes


class Kind(StrEnum):
    """How a raw cell is read; attached to each field type as metadata."""

    TEXT = "text"
    CHOICE = "choice"
    COUNTRY = "country"
    WHOLE_NUMBER = "whole number"
    DATE = "date"
    BOOL = "yes/no"
    FLAG = "yes/no flag (empty = no)"
    MONEY = "amount in EUR"


def _country(raw: object) -> str | None:
    text = values.clean_text(raw)
    if text is None:
        return None
    code = text.upper()
    if code not in country_codes():
        raise ValueError(f"'{text}' is not an ISO 3166-1 alpha-3 code (XKX Kosovo, STA stateless)")
    return code


def _flag(raw: object) -> bool:
    return bool(values.parse_bool(raw))


def _choice(*choices: str):
    def parse(raw: object) -> str | None:
        return values.canonical_choice(raw, choices)

    return parse


@dataclass(frozen=True)
class Printable:
    """Marks a field whose text must hold no control character (``values.CONTROL_CHARACTER``:
    NUL, line breaks, escapes; a tab is allowed). The vectorised checks read the marker."""


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# Bounds: every date column must fall in a plausible window. A contract-valid date such
# as 0001-01-01 or 9999-12-31 is quarantined here rather than breaking a later stage
# (date arithmetic past year 9999, calendars of thousands of years). No REAB dossier
# dates from before 1990; planned departures and correction extracts reach at most two
# years ahead. The upper bound is taken when the process starts: a row's verdict may
# change over the years, never within a run.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = _add_years(date.today(), 2)

Text = Annotated[
    str,
    BeforeValidator(values.clean_text),
    Kind.TEXT,
    Field(max_length=64),
    Printable(),
    AfterValidator(values.no_control_characters),
]
Country = Annotated[str, BeforeValidator(_country), Kind.COUNTRY]
WholeNumber = Annotated[int, BeforeValidator(values.parse_whole_number), Kind.WHOLE_NUMBER]
Day = Annotated[
    date,
    BeforeValidator(values.parse_date),
    Kind.DATE,
    Field(ge=EARLIEST_DATE, le=LATEST_DATE),
]
YesNo = Annotated[bool, BeforeValidator(values.parse_bool), Kind.BOOL]
Flag = Annotated[bool, BeforeValidator(_flag), Kind.FLAG]
Money = Annotated[Decimal, BeforeValidator(values.parse_money), Kind.MONEY, Field(ge=0)]


def Choice(*choices: str):  # noqa: N802 - reads like a type in the model below
    return Annotated[Literal[choices], BeforeValidator(_choice(*choices)), Kind.CHOICE]


ROLES = ("principal", "partner", "child", "other_adult")
SEXES = ("F", "M", "X")
DOSSIER_STATUSES = ("registered", "departed", "cancelled", "no_show")
RESIDENCE_STATUSES = ("applicant", "end_of_procedure", "irregular", "other")
APPLICATION_TYPES = ("first", "subsequent", "accompanied_minor")
PROCEDURE_PHASES = (
    "dvz",
    "dublin",
    "annex_26quater",
    "cgvs_pending",
    "cgvs_refused",
    "rvv_pending",
    "rvv_refused",
)
REFUSAL_PHASES = ("cgvs_refused", "rvv_refused")
PARTNERS = ("IOM", "Caritas")


class ExtractRow(BaseModel):
    """One person in one REAB dossier, as the anonymised extract delivers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dossier_id: Text
    person_id: Text
    role: Choice(*ROLES)
    annex_parent_id: Text | None = None
    age_at_registration: Annotated[WholeNumber, Field(ge=0, le=120)]
    sex: Choice(*SEXES) | None = None
    nationality: Country
    return_country: Country
    registration_date: Day
    departure_date: Day | None = None
    dossier_status: Choice(*DOSSIER_STATUSES)
    residence_status: Choice(*RESIDENCE_STATUSES)
    application_type: Choice(*APPLICATION_TYPES) | None = None
    procedure_phase: Choice(*PROCEDURE_PHASES) | None = None
    decision_notified_on: Day | None = None
    belgium_responsible: YesNo | None = None
    protection_in_other_member_state: YesNo | None = None
    asylum_application_date: Day | None = None
    arrival_in_belgium_date: Day | None = None
    pregnant: Flag = False
    ex_unaccompanied_minor: Flag = False
    single_parent: Flag = False
    trafficking_victim: Flag = False
    medical_basic: Flag = False
    amaar_estimated_cost_eur: Money | None = None
    previous_return_support_date: Day | None = None
    became_belgian: YesNo | None = None
    reintegration_partner: Choice(*PARTNERS) | None = None
    paid_return_premium_eur: Money | None = None
    paid_reintegration_eur: Money | None = None
    ticket_cost_eur: Money | None = None

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ExtractRow:
        from data_contracts.cross_field_rules import CROSS_FIELD_RULES

        broken = [rule.message for rule in CROSS_FIELD_RULES if rule.broken_by(self)]
        if broken:
            raise ValueError("; ".join(broken))
        return self


# ---------------------------------------------------------------------------
# Introspection: what the vectorised checks and the readers derive from the model
# ---------------------------------------------------------------------------


class FieldSpec(BaseModel):
    """What the model says about one column, in a form the vectorised checks use."""

    name: str
    kind: Kind
    required: bool
    choices: tuple[str, ...] = ()
    minimum: int | date | None = None  # dates: the plausible window (EARLIEST_DATE …)
    maximum: int | date | None = None
    max_length: int | None = None
    printable: bool = False  # no control characters (``Printable``)


def _metadata(annotation) -> list:
    found = []
    if get_origin(annotation) is Annotated:
        inner, *meta = get_args(annotation)
        for item in meta:
            # A nested Field(...) carries its constraints in its own metadata.
            found.extend(getattr(item, "metadata", None) or [item])
        found.extend(_metadata(inner))
    elif get_args(annotation):
        for arg in get_args(annotation):
            if arg is not type(None):
                found.extend(_metadata(arg))
    return found


def _literal_choices(annotation) -> tuple[str, ...]:
    if get_origin(annotation) is Literal:
        return tuple(get_args(annotation))
    for arg in get_args(annotation):
        found = _literal_choices(arg)
        if found:
            return found
    return ()


def columns_of(kind: Kind) -> tuple[str, ...]:
    """The contract's columns of one kind, in contract order."""
    return tuple(spec.name for spec in field_specs() if spec.kind is kind)


def field_specs() -> tuple[FieldSpec, ...]:
    specs = []
    for name, info in ExtractRow.model_fields.items():
        meta = list(info.metadata) + _metadata(info.annotation)
        kind = next(m for m in meta if isinstance(m, Kind))
        bound = {type(m).__name__: m for m in meta if type(m).__name__ in ("Ge", "Le", "MaxLen")}
        specs.append(
            FieldSpec(
                name=name,
                kind=kind,
                required=info.is_required(),
                choices=_literal_choices(info.annotation),
                minimum=bound["Ge"].ge if "Ge" in bound else None,
                maximum=bound["Le"].le if "Le" in bound else None,
                max_length=bound["MaxLen"].max_length if "MaxLen" in bound else None,
                printable=any(isinstance(m, Printable) for m in meta),
            )
        )
    return tuple(specs)


COLUMNS: tuple[str, ...] = tuple(ExtractRow.model_fields)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    name for name, info in ExtractRow.model_fields.items() if info.is_required()
)
