"""Rule tests as data: every case in ``tests/rules/cases/*.yaml``, against both implementations.

The case files are written for finance staff (see the header of each file). This
runner checks, per case, that the plain-Python reference (``rules/reference.py``) and
the vectorised engine (``rules/engine.py``) both produce the expected amounts
(budget lines not listed are 0) and the rule ids the case says it exercises.

Further tests here: every rule id is exercised by some case; the ids of
``rules/ids.py`` are exactly those of the rules reference; a parameter without a
value at a date, and broken parameter or scenario files, give clear errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from data_contracts.row_model import COLUMNS, ExtractRow
from rules import reference
from rules.ids import RULE_IDS
from rules.parameters import (
    ParameterDateError,
    ParameterFileError,
    Table,
    load_scenario,
    load_table,
)
from tests.factories import PERSONS_SCHEMA, typed_row

CASES_DIR = Path(__file__).parent / "cases"
SCENARIOS_DIR = CASES_DIR / "scenarios"
# The versioned copy in the repository (tests never read outside it).
RULES_REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "domain" / "rules-reference.md"
BUILT_IN_TABLES = ("2025", "2026")
APPLICABLE = "applicable"
AMOUNT_COLUMNS = reference.AMOUNT_COLUMNS
CASE_KEYS = {"name", "note", "rules", "common", "persons", "history", "expected"}
ROW_KEYS = {"table", "category", "ticket_eligible", "rules"}

# ---------------------------------------------------------------------------
# Shared helpers (also used by test_engine_matches_reference.py)
# ---------------------------------------------------------------------------


def persons_frame(rows: list[dict]) -> pl.DataFrame:
    """Typed rows as the warehouse holds them (the input of the engine)."""
    return pl.DataFrame([{c: row[c] for c in COLUMNS} for row in rows], schema=PERSONS_SCHEMA)


@cache  # the property tests ask for the same tables thousands of times
def table_for(key: str) -> Table:
    """``2025``, ``2026``, or the name of a scenario file in ``cases/scenarios/``."""
    if key in BUILT_IN_TABLES:
        return load_table(key)
    path = SCENARIOS_DIR / f"{key}.yaml"
    assert path.exists(), f"expected: {key!r} is neither 2025, 2026, applicable nor {path}"
    return load_scenario(path)


def _row_view(
    dossier_id, person_id, table, applied_table, category, ticket, amounts, rules
) -> dict:
    return {
        "dossier_id": dossier_id,
        "person_id": person_id,
        "table": table,
        "applied_table": applied_table,
        "category": category,
        "ticket_eligible": ticket,
        **{c: Decimal(amounts[c]).quantize(Decimal("0.01")) for c in AMOUNT_COLUMNS},
        "rules": tuple(rules),
    }


def reference_rows(persons: list[dict], key: str, history: list[dict] = ()) -> list[dict]:
    if key == APPLICABLE:
        found = reference.entitle_applicable(persons, history)
    else:
        found = reference.entitle(persons, table_for(key), history)
    return [
        _row_view(
            e.dossier_id,
            e.person_id,
            e.table,
            e.applied_table,
            e.category,
            e.ticket_eligible,
            e.amounts,
            e.rules,
        )
        for e in found
    ]


def engine_rows(
    persons: list[dict], key: str, history: list[dict] = (), table: Table | None = None
) -> list[dict]:
    from rules import engine

    frame = persons_frame(persons)
    past = persons_frame(list(history)) if history else None
    if key == APPLICABLE:
        out = engine.evaluate_applicable(frame, past)
    else:
        out = engine.evaluate(frame, table or table_for(key), past)
    assert out.height == len(persons), "the engine must return one row per input row"
    return [
        _row_view(
            row["dossier_id"],
            row["person_id"],
            row["table"],
            row["applied_table"],
            row["category"],
            row["ticket_eligible"],
            row,
            [r for r in (row["rules"] or "").split(";") if r],
        )
        for row in out.iter_rows(named=True)
    ]


IMPLEMENTATIONS = {"reference": reference_rows, "engine": engine_rows}

# ---------------------------------------------------------------------------
# Reading the case files
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    rules: tuple[str, ...]
    persons: list[dict]
    history: list[dict]
    expected: dict[str, dict[str, dict]]


def _typed_row(raw: dict, where: str) -> dict:
    try:
        return ExtractRow.model_validate(raw).model_dump()
    except Exception as exc:  # pydantic's message names the column
        raise AssertionError(f"{where}: not a valid extract row: {exc}") from None


def _read_case(raw: Any, file: Path, number: int) -> Case:
    where = f"{file.name}, case {number}"
    assert isinstance(raw, dict), f"{where}: a case is a mapping (name, rules, persons, expected)"
    name = raw.get("name")
    assert isinstance(name, str) and name, f"{where}: `name` is required"
    where = f"{file.name}, case {name!r}"
    unknown = set(raw) - CASE_KEYS
    assert not unknown, f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(CASE_KEYS)})"
    rules = raw.get("rules") or []
    bad = [r for r in rules if r not in RULE_IDS]
    assert not bad, f"{where}: rules: unknown rule ids {bad}"
    common = raw.get("common") or {}
    persons = [
        _typed_row({**common, **p}, f"{where}, person {i + 1}")
        for i, p in enumerate(raw.get("persons") or [])
    ]
    assert persons, f"{where}: `persons` is required"
    history = [
        _typed_row(h, f"{where}, history row {i + 1}")
        for i, h in enumerate(raw.get("history") or [])
    ]
    expected = raw.get("expected") or {}
    assert expected, f"{where}: `expected` is required"
    keys = {p["person_id"] for p in persons} | {
        f"{p['dossier_id']}/{p['person_id']}" for p in persons
    }
    for table, rows in expected.items():
        for key, row in (rows or {}).items():
            assert key in keys, f"{where}: expected.{table}: {key!r} is not a person of the case"
            extra = set(row) - set(AMOUNT_COLUMNS) - ROW_KEYS
            assert not extra, f"{where}: expected.{table}.{key}: unknown keys {sorted(extra)}"
    return Case(
        name=name,
        file=file.name,
        rules=tuple(rules),
        persons=persons,
        history=history,
        expected={
            str(t): {str(k): v for k, v in (rows or {}).items()} for t, rows in expected.items()
        },
    )


def load_cases() -> list[Case]:
    cases = []
    for file in sorted(CASES_DIR.glob("*.yaml")):
        content = yaml.safe_load(file.read_text(encoding="utf-8")) or []
        assert isinstance(content, list), f"{file.name}: a list of cases is expected"
        cases.extend(_read_case(raw, file, i + 1) for i, raw in enumerate(content))
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"case names must be unique: {duplicates}"
    return cases


CASES = load_cases()

# ---------------------------------------------------------------------------
# One test per case
# ---------------------------------------------------------------------------


def _find(rows: list[dict], key: str) -> dict:
    matching = [r for r in rows if key in (r["person_id"], f"{r['dossier_id']}/{r['person_id']}")]
    assert len(matching) == 1, f"{key!r} names {len(matching)} rows; write dossier_id/person_id"
    return matching[0]


def _euros(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def check_case(case: Case, implementation: str) -> None:
    produce = IMPLEMENTATIONS[implementation]
    produced_rules: set[str] = set()
    problems = []
    for table, expectations in case.expected.items():
        rows = produce(case.persons, table, case.history)
        for row in rows:
            produced_rules.update(row["rules"])
            want_table = table if table != APPLICABLE else None
            if row["table"] != table or (want_table and row["applied_table"] != want_table):
                problems.append(
                    f"{table}: row {row['person_id']} has table {row['table']!r} "
                    f"/ applied {row['applied_table']!r}"
                )
        for key, want in expectations.items():
            row = _find(rows, key)
            for column in AMOUNT_COLUMNS:
                expected = _euros(want.get(column, 0))
                if row[column] != expected:
                    problems.append(
                        f"{table} {key} {column}: expected {expected}, got {row[column]}"
                    )
            if "table" in want and row["applied_table"] != str(want["table"]):
                problems.append(
                    f"{table} {key}: expected table {want['table']}, got {row['applied_table']}"
                )
            if "category" in want and row["category"] != want["category"]:
                problems.append(
                    f"{table} {key}: expected category {want['category']}, got {row['category']}"
                )
            if "ticket_eligible" in want and row["ticket_eligible"] != want["ticket_eligible"]:
                problems.append(
                    f"{table} {key}: expected ticket_eligible {want['ticket_eligible']}, "
                    f"got {row['ticket_eligible']}"
                )
            if "rules" in want and set(row["rules"]) != set(want["rules"]):
                problems.append(
                    f"{table} {key}: expected exactly the rules {sorted(want['rules'])}, "
                    f"got {list(row['rules'])}"
                )
    for rule in case.rules:
        if rule == "A-BOTH":
            if not set(BUILT_IN_TABLES) <= set(case.expected):
                problems.append("A-BOTH: the case needs expectations under both 2025 and 2026")
        elif rule not in produced_rules:
            problems.append(f"rule {rule} is listed but no row of the case shows it")
    assert not problems, f"{implementation}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case):
    check_case(case, "reference")
    check_case(case, "engine")


def test_every_rule_id_is_exercised_by_a_case():
    exercised = {rule for case in CASES for rule in case.rules}
    missing = [rule for rule in RULE_IDS if rule not in exercised]
    assert not missing, f"no case in {CASES_DIR} exercises the rule ids {missing}"


def test_rule_ids_are_those_of_the_rules_reference():
    assert RULES_REFERENCE.exists(), (
        f"the rules reference is missing at {RULES_REFERENCE} (the versioned copy of "
        "shared/domain/rules-reference.md)"
    )
    ids = []
    for line in RULES_REFERENCE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\s*\|", line)
        if match:
            ids.append(match.group(1))
    only_code = sorted(set(RULE_IDS) - set(ids))
    only_reference = sorted(set(ids) - set(RULE_IDS))
    assert tuple(ids) == RULE_IDS, (
        f"rules/ids.py and {RULES_REFERENCE} differ: only in ids.py {only_code}, "
        f"only in the reference {only_reference} (or the order differs)"
    )


# ---------------------------------------------------------------------------
# Parameter errors
# ---------------------------------------------------------------------------


def _syrian(**changes) -> dict:
    raw = dict(
        dossier_id="D1",
        person_id="P1",
        role="principal",
        age_at_registration=30,
        nationality="SYR",
        return_country="SYR",
        registration_date=date(2026, 2, 10),
        departure_date=date(2026, 3, 1),
        dossier_status="departed",
        residence_status="irregular",
    )
    raw.update(changes)
    return typed_row(raw)


def _scenario(tmp_path: Path, text: str, name: str = "what_if.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("implementation", ["reference", "engine"])
def test_parameter_without_value_at_the_date_is_an_error(tmp_path, implementation):
    path = _scenario(
        tmp_path,
        "base: '2026'\n"
        "overrides:\n"
        "  transport_allowance:\n"
        "    values: {2026-06-01: 60.00}\n"
        "    source: scenario starting in June\n",
    )
    table = load_scenario(path)
    person = _syrian()
    with pytest.raises(ParameterDateError) as error:
        if implementation == "reference":
            reference.entitle([person], table)
        else:
            engine_rows([person], "what_if", table=table)
    assert "transport_allowance" in str(error.value)
    assert "2026-02-10" in str(error.value)


BROKEN_SCENARIOS = {
    "unknown parameter": (
        "overrides:\n  transport_allowanse:\n    values: {2026-01-01: 50.00}\n",
        ["transport_allowanse", "no parameter"],
    ),
    "wrong unit": (
        "overrides:\n  transport_allowance:\n    unit: days\n    values: {2026-01-01: 50}\n",
        ["transport_allowance", "unit 'EUR'"],
    ),
    "negative amount": (
        "overrides:\n  base_adult:\n    values: {2026-01-01: -100.00}\n",
        ["base_adult", "-100", "negative"],
    ),
    "unknown country code": (
        "overrides:\n  priority_countries:\n    values: {2026-01-01: [SYR, XYZ]}\n",
        ["priority_countries", "XYZ", "unknown country"],
    ),
    "bad YAML": (
        "overrides:\n  base_adult:\n    values: {2026-01-01: 100.00\n  - oops\n",
        ["line", "not valid YAML"],
    ),
}


@pytest.mark.parametrize("problem", list(BROKEN_SCENARIOS))
def test_broken_scenario_file_names_file_key_and_problem(tmp_path, problem):
    overrides, words = BROKEN_SCENARIOS[problem]
    path = _scenario(tmp_path, "base: '2026'\n" + overrides, name="broken.yaml")
    with pytest.raises(ParameterFileError) as error:
        load_table(path)
    message = str(error.value)
    assert str(path) in message
    for word in words:
        assert word in message, f"{problem}: {word!r} not in {message!r}"


def test_broken_table_file_names_file_key_and_problem(tmp_path):
    """A table file with a negative amount (as finance staff might mistype it)."""
    original = (Path(reference.__file__).parent / "parameters" / "table_2025.yaml").read_text()
    broken = original.replace("values: {2022-01-01: 150.00}", "values: {2022-01-01: -150.00}")
    assert broken != original
    path = _scenario(tmp_path, broken, name="table_2025.yaml")
    from rules.parameters import _read_yaml, _validate_table

    with pytest.raises(ParameterFileError) as error:
        _validate_table(_read_yaml(path), path)
    message = str(error.value)
    assert str(path) in message and "balkan_admin_support" in message
    assert "negative" in message


def test_explanation_names_rule_parameter_value_source_and_status():
    [entitlement] = reference.entitle_applicable([_syrian()])
    text = reference.explain(entitlement)
    assert "[T26-PRIORITY]" in text and "priority_adult = 1000.00" in text
    assert "confirmed" in text and "working" in text and "seed 000" in text
    assert "[A-2026]" in text
    for column in AMOUNT_COLUMNS:
        assert column in text


def test_trace_adds_up_to_the_amounts():
    """Every amount is the sum of its trace lines (the trace explains the whole amount)."""
    for case in CASES:
        for key in case.expected:
            if key == APPLICABLE:
                found = reference.entitle_applicable(case.persons, case.history)
            else:
                found = reference.entitle(case.persons, table_for(key), case.history)
            for e in found:
                for column in AMOUNT_COLUMNS[:-1]:
                    traced = sum((t.amount for t in e.trace if t.budget_line == column), Decimal(0))
                    assert traced == e.amounts[column], (case.name, key, e.person_id, column)
