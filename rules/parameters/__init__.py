"""Support tables as dated parameters: loading, validation, scenarios, date lookups.

A table file (``table_2025.yaml``, ``table_2026.yaml``) holds every amount with its
rule id, unit, status and source, keyed by the date from which it applies. A
scenario file names a base table and overrides some of its parameters; it is
validated exactly like a table and evaluated under its own name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from data_contracts.countries import country_codes
from rules.ids import RULE_IDS

HERE = Path(__file__).parent
BUILT_IN = {"2025": HERE / "table_2025.yaml", "2026": HERE / "table_2026.yaml"}
APPLICABLE_FILE = HERE / "applicable.yaml"


class ParameterFileError(ValueError):
    """A parameter or scenario file that cannot be used; the message names file and key."""


class ParameterDateError(LookupError):
    """A parameter has no value for the date asked (never extrapolated)."""


def _money(raw: Any) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise ValueError("an amount in EUR is required")
    value = Decimal(str(raw))
    if value < 0:
        raise ValueError(f"{value} is negative")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{value} has more than two decimals")
    return value.quantize(Decimal("0.01"))


def _countries(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple):
        raise ValueError("a list of ISO 3166-1 alpha-3 codes is required, e.g. [SYR]")
    unknown = [c for c in raw if not isinstance(c, str) or c not in country_codes()]
    if unknown:
        raise ValueError(f"unknown country codes {unknown}")
    return tuple(raw)


Money = Annotated[Decimal, BeforeValidator(_money)]
Countries = Annotated[tuple[str, ...], BeforeValidator(_countries)]


class ValueRange(BaseModel):
    """Where a ``working`` amount may plausibly lie: the forecast samples it per draw
    from a triangular distribution (``low``, the working value, ``high``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: Money
    high: Money
    why: str = Field(min_length=1)


class Parameter(BaseModel):
    """One dated parameter with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    label: str
    unit: Literal["EUR", "countries", "flag", "days", "years", "date"]
    status: Literal["confirmed", "working"]
    source: str
    values: dict[date, Any] = Field(min_length=1)
    # working amounts only: the range of the latest value (sampled in the forecast)
    range: ValueRange | None = None
    name: str = ""  # filled in by the table

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if rule not in RULE_IDS:
            raise ValueError(f"unknown rule id {rule!r} (see rules/ids.py)")
        return rule

    @model_validator(mode="after")
    def _typed_values(self) -> Parameter:
        parse = {
            "EUR": _money,
            "countries": _countries,
            "flag": _flag,
            "days": _count,
            "years": _count,
            "date": _date,
        }[self.unit]
        typed = {}
        for since, raw in sorted(self.values.items()):
            try:
                typed[since] = parse(raw)
            except ValueError as exc:
                raise ValueError(f"value from {since}: {exc}") from None
        object.__setattr__(self, "values", typed)
        if self.range is not None:
            if self.unit != "EUR" or self.status != "working":
                raise ValueError("a range is for working amounts (unit EUR, status working)")
            latest = self.changes[-1][1]
            if not self.range.low <= latest <= self.range.high:
                raise ValueError(
                    f"range [{self.range.low}, {self.range.high}] does not hold the "
                    f"latest value {latest}"
                )
        return self

    @property
    def latest(self) -> Any:
        return self.changes[-1][1]

    @property
    def changes(self) -> list[tuple[date, Any]]:
        """(from date, value) in date order."""
        return sorted(self.values.items())

    def at(self, day: date) -> Any:
        """The value in force on ``day``; an error when the parameter has none then."""
        found = None
        for since, value in self.changes:
            if since <= day:
                found = (value,)
        if found is None:
            first = self.changes[0][0]
            raise ParameterDateError(
                f"parameter {self.name!r} ({self.rule}) has no value for {day}: "
                f"its first value applies from {first}"
            )
        return found[0]


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("true or false is required")
    return raw


def _count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError("a whole number ≥ 0 is required")
    return raw


def _date(raw: Any) -> date:
    if not isinstance(raw, date):
        raise ValueError("a date YYYY-MM-DD is required")
    return raw


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: date
    end: date | None = None

    def clamp(self, day: date) -> date:
        if day < self.start:
            return self.start
        if self.end and day > self.end:
            return self.end
        return day


REQUIRED = {
    "transport_allowance": "EUR",
    "premium_visa_required_adult": "EUR",
    "premium_visa_required_minor": "EUR",
    "premium_visa_free_adult": "EUR",
    "premium_visa_free_minor": "EUR",
    "premium_abolished_nationalities": "countries",
    "base_adult": "EUR",
    "base_minor": "EUR",
    "base_ended_countries": "countries",
    "restricted_countries": "countries",
    "priority_countries": "countries",
    "priority_adult": "EUR",
    "priority_minor": "EUR",
    "vulnerability_topup": "EUR",
    "vulnerability_cumulative": "flag",
    "medical_basic_topup": "EUR",
    "balkan_admin_support": "EUR",
    "partner_service_fee": "EUR",
    "pap_cash_adult": "EUR",
    "pap_cash_minor": "EUR",
    "five_year_window": "years",
}
OPTIONAL = {
    "base_extra_countries": "countries",
    "monitored_countries": "countries",
}
DEGRESSIVE = {
    "degressive_early": "EUR",
    "degressive_late": "EUR",
    "degressive_after_grace": "EUR",
    "refusal_grace_days": "days",
    "degressive_registered_from": "date",
    "degressive_departed_from": "date",
}


class Table(BaseModel):
    """A support table (or a scenario on one): every parameter, dated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    period: Period
    rule_ids: dict[str, str]
    parameters: dict[str, Parameter]
    source_file: str = ""
    base_table: str | None = None  # for scenarios

    @model_validator(mode="after")
    def _complete(self) -> Table:
        known = REQUIRED | OPTIONAL | DEGRESSIVE
        unknown = sorted(set(self.parameters) - set(known))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}")
        missing = sorted(set(REQUIRED) - set(self.parameters))
        if missing:
            raise ValueError(f"missing parameters {missing}")
        present = set(DEGRESSIVE) & set(self.parameters)
        if present and present != set(DEGRESSIVE):
            raise ValueError(
                f"degressive parameters come together; missing {sorted(set(DEGRESSIVE) - present)}"
            )
        for name, parameter in self.parameters.items():
            if parameter.unit != known[name]:
                raise ValueError(f"parameter {name!r} must have unit {known[name]!r}")
            object.__setattr__(parameter, "name", name)
        if "no_base_without_category" not in self.rule_ids:
            raise ValueError("rule_ids.no_base_without_category is required")
        for key, rule in self.rule_ids.items():
            if rule not in RULE_IDS:
                raise ValueError(f"rule_ids.{key}: unknown rule id {rule!r}")
        return self

    @property
    def has_degressive(self) -> bool:
        return "degressive_early" in self.parameters

    def parameter(self, name: str) -> Parameter | None:
        return self.parameters.get(name)

    def value(self, name: str, day: date) -> Any:
        """The value of a parameter for a registration on ``day`` (clamped to the period)."""
        return self.parameters[name].at(self.period.clamp(day))

    def working_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters.values() if p.status == "working"]


class ApplicableRules(BaseModel):
    """Which table applies to a dossier (A-2026, A-TRANSITION)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class DateRule(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        rule: str
        label: str
        unit: Literal["date"]
        status: Literal["confirmed", "working"]
        source: str
        value: date

    new_table_from: DateRule
    transition_departure_until: DateRule
    before_table: str
    after_table: str


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ParameterFileError(f"{path}:{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ParameterFileError(f"{path}: expected a mapping of keys at the top level")
    return data


def _explain(path: Path, error: ValidationError) -> ParameterFileError:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{path}: {key}: {item['msg']}")
    return ParameterFileError("\n".join(lines))


def _validate_table(data: dict, path: Path) -> Table:
    try:
        return Table.model_validate({**data, "source_file": str(path)})
    except ValidationError as exc:
        raise _explain(path, exc) from None


@cache
def built_in_table(name: str) -> Table:
    return _validate_table(_read_yaml(BUILT_IN[name]), BUILT_IN[name])


def load_scenario(path: str | Path) -> Table:
    """A scenario file: ``base`` table, optional ``name``/``label``, and ``overrides``.

    Each override replaces keys of one parameter (typically ``values``, with a new
    ``source`` and ``status``); the result is validated like a table.
    """
    path = Path(path)
    data = _read_yaml(path)
    allowed = {"base", "name", "label", "overrides"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise ParameterFileError(f"{path}: unknown keys {extra} (allowed: {sorted(allowed)})")
    base_name = str(data.get("base", ""))
    if base_name not in BUILT_IN:
        raise ParameterFileError(f"{path}: base: must be one of {sorted(BUILT_IN)}")
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ParameterFileError(f"{path}: overrides: expected a mapping of parameter names")
    base = _read_yaml(BUILT_IN[base_name])
    parameters = dict(base["parameters"])
    for name, change in overrides.items():
        if not isinstance(change, dict):
            raise ParameterFileError(f"{path}: overrides.{name}: expected a mapping")
        if name not in parameters and name not in (OPTIONAL | DEGRESSIVE):
            raise ParameterFileError(
                f"{path}: overrides.{name}: table {base_name} has no parameter {name!r}"
            )
        merged_parameter = {**parameters.get(name, {}), **change}
        # A range describes the base table's working value: a scenario that sets its own
        # values (or confirms them) gives its own range or none.
        if "range" not in change and ("values" in change or change.get("status") == "confirmed"):
            merged_parameter.pop("range", None)
        parameters[name] = merged_parameter
    merged = {
        **base,
        "name": str(data.get("name") or path.stem),
        "label": str(data.get("label") or f"Scenario {path.stem} on the {base_name} table"),
        "parameters": parameters,
        "base_table": base_name,
    }
    return _validate_table(merged, path)


def load_table(name_or_path: str | Path) -> Table:
    """``2025``, ``2026`` or the path of a scenario file."""
    key = str(name_or_path)
    if key in BUILT_IN:
        return built_in_table(key)
    path = Path(key)
    if not path.exists():
        raise ParameterFileError(
            f"{key}: not a table name ({', '.join(BUILT_IN)}) nor an existing scenario file"
        )
    return load_scenario(path)


@cache
def applicable_rules() -> ApplicableRules:
    data = _read_yaml(APPLICABLE_FILE)
    try:
        return ApplicableRules.model_validate(data)
    except ValidationError as exc:
        raise _explain(APPLICABLE_FILE, exc) from None
