"""Each contract rule with a failing example, judged by pydantic and by the vectorised checks.

The vectorised checks are derived from the pydantic model; a property test at the end
feeds both the same random rows and requires the same verdict and the same values.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from data_contracts.cross_field_rules import CROSS_FIELD_RULES
from data_contracts.row_checks import REASON, check_dossiers, check_rows
from data_contracts.row_model import COLUMNS, ExtractRow, field_specs
from tests.factories import household, person, typed_row


def vectorised(rows: list[dict], decimal_comma: bool = False) -> pl.DataFrame:
    raw = pl.DataFrame(
        [{c: (r.get(c) or None) for c in COLUMNS} for r in rows],
        schema={c: pl.String for c in COLUMNS},
    )
    return check_rows(raw, decimal_comma=decimal_comma)


def pydantic_verdict(row: dict) -> str | None:
    try:
        typed_row(row)
    except ValidationError as exc:
        return str(exc)
    return None


def test_valid_rows_pass_both():
    rows = [person(), *household(dossier="D0002", first_person=10)]
    checked = vectorised(rows)
    assert checked[REASON].null_count() == len(rows), checked[REASON].to_list()
    assert all(pydantic_verdict(r) is None for r in rows)


# (what is broken, cells that break it, words the reason must contain)
FIELD_CASES = [
    ("required id empty", dict(dossier_id=""), "dossier_id: empty but required"),
    ("required person id empty", dict(person_id="  "), "person_id: empty but required"),
    ("unknown role", dict(role="head"), "role: 'head' is not one of"),
    ("age above 120", dict(age_at_registration="130"), "above the maximum 120"),
    ("age not a number", dict(age_at_registration="34.5"), "is not a whole number"),
    ("age negative", dict(age_at_registration="-1"), "is not a whole number"),
    ("unknown sex", dict(sex="Q"), "sex: 'Q' is not one of F, M, X"),
    ("unknown country", dict(nationality="XXX"), "nationality: 'XXX' is not an ISO"),
    ("two-letter country", dict(return_country="GE"), "return_country: 'GE' is not an ISO"),
    ("impossible date", dict(registration_date="2025-02-30"), "is not a calendar date"),
    ("american date", dict(registration_date="03/31/2025"), "is not a calendar date"),
    ("missing registration", dict(registration_date=""), "registration_date: empty"),
    ("unknown status", dict(dossier_status="gone"), "dossier_status: 'gone' is not one of"),
    ("unknown residence", dict(residence_status="tourist"), "residence_status: 'tourist'"),
    ("bad yes/no", dict(became_belgian="maybe"), "became_belgian: 'maybe' is not a yes/no"),
    ("bad flag", dict(pregnant="perhaps"), "pregnant: 'perhaps' is not a yes/no"),
    ("negative money", dict(ticket_cost_eur="-5"), "ticket_cost_eur: '-5' is not an amount"),
    ("three decimals", dict(paid_return_premium_eur="1.005"), "is not an amount in EUR"),
    ("partner", dict(reintegration_partner="UNHCR"), "not one of IOM, Caritas"),
    ("id too long", dict(person_id="P" * 65), "person_id: longer than 64 characters"),
]


@pytest.mark.parametrize(("what", "cells", "words"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_each_field_rule_rejects_its_failing_example(what, cells, words):
    row = person(**cells)
    reason = vectorised([row])[REASON][0]
    assert reason is not None and words in reason, reason
    assert pydantic_verdict(row) is not None


CROSS_CASES = {
    "departure-after-registration": person(departure_date="2025-03-01"),
    "decision-before-registration": person(
        residence_status="applicant",
        application_type="first",
        procedure_phase="cgvs_refused",
        decision_notified_on="2025-03-11",
    ),
    "departed-needs-departure-date": person(departure_date=""),
    "child-is-minor": person(role="child", annex_parent_id="P9", age_at_registration="18"),
    "child-has-annex-parent": person(role="child", age_at_registration="5"),
    "annex-parent-is-another-person": person(annex_parent_id="P0001"),
    "applicant-procedure-fields": person(residence_status="applicant"),
    "refusal-needs-notification-date": person(
        residence_status="applicant", application_type="first", procedure_phase="rvv_refused"
    ),
}


def test_every_cross_field_rule_has_a_case():
    assert set(CROSS_CASES) == {rule.rule_id for rule in CROSS_FIELD_RULES}


@pytest.mark.parametrize("rule", CROSS_FIELD_RULES, ids=lambda r: r.rule_id)
def test_each_cross_field_rule_rejects_its_failing_example(rule):
    row = CROSS_CASES[rule.rule_id]
    reason = vectorised([row])[REASON][0]
    assert reason is not None and rule.message in reason, reason
    verdict = pydantic_verdict(row)
    assert verdict is not None and rule.message in verdict


def test_applicant_fields_must_be_empty_for_non_applicants():
    row = person(procedure_phase="dvz", application_type="first")
    assert "procedure_phase" in vectorised([row])[REASON][0]


def test_annex_child_of_applicant_may_leave_procedure_fields_empty():
    rows = household()
    assert rows[2]["procedure_phase"] == ""
    assert vectorised(rows)[REASON].null_count() == 3


def test_spellings_are_read_as_the_contract_says():
    row = person(
        registration_date="10/03/2025",
        departure_date=" 2025-04-02 ",
        pregnant="JA",
        medical_basic="oui",
        became_belgian="nee",
        belgium_responsible="0",
        role="Principal",
        nationality="geo",
        reintegration_partner="caritas",
        amaar_estimated_cost_eur="1.234,50",
        paid_reintegration_eur="12,5",
        ticket_cost_eur="1 180.25",
    )
    typed = vectorised([row], decimal_comma=True).row(0, named=True)
    assert typed[REASON] is None
    assert typed["registration_date"] == date(2025, 3, 10)
    assert typed["departure_date"] == date(2025, 4, 2)
    assert typed["pregnant"] is True and typed["medical_basic"] is True
    assert typed["became_belgian"] is False and typed["belgium_responsible"] is False
    assert typed["role"] == "principal" and typed["nationality"] == "GEO"
    assert typed["reintegration_partner"] == "Caritas"
    assert typed["amaar_estimated_cost_eur"] == Decimal("1234.50")
    assert typed["paid_reintegration_eur"] == Decimal("12.50")
    assert typed["ticket_cost_eur"] == Decimal("1180.25")
    assert typed["single_parent"] is False  # empty flag = no
    assert typed["sex"] == "M"


def test_dot_grouped_amount_is_thousands_only_in_semicolon_files():
    row = person(ticket_cost_eur="1.500")
    assert vectorised([row], decimal_comma=True)["ticket_cost_eur"][0] == Decimal("1500")
    assert "not an amount" in vectorised([row], decimal_comma=False)[REASON][0]


# ---------------------------------------------------------------------------
# Cross-row rules
# ---------------------------------------------------------------------------


def dossier_reasons(rows, known=None):
    return check_dossiers(vectorised(rows), known).to_list()


def test_duplicate_key_quarantines_every_copy():
    rows = [person(), person(age_at_registration="35")]
    reasons = dossier_reasons(rows)
    assert all(r and "appears 2 times" in r for r in reasons)


def test_dossier_without_principal_is_rejected():
    rows = household()
    rows[0]["role"] = "other_adult"
    reasons = dossier_reasons(rows)
    assert all(r and "0 principals" in r for r in reasons)


def test_dossier_with_two_principals_is_rejected():
    rows = household()
    rows[1]["role"] = "principal"
    assert all(r and "2 principals" in r for r in dossier_reasons(rows))


def test_child_whose_parent_is_not_in_the_dossier_is_rejected():
    rows = household()
    rows[2]["annex_parent_id"] = "P9999"
    reasons = dossier_reasons(rows)
    assert reasons[:2] == [None, None]
    assert "annex_parent_id 'P9999' is not a person in the same dossier" in reasons[2]


def test_partial_correction_is_judged_with_the_warehouse_rows():
    rows = household()
    correction = [rows[2]]  # only the child is re-extracted
    known = pl.DataFrame(
        {
            "dossier_id": ["D0001"] * 3,
            "person_id": ["P0001", "P0002", "P0003"],
            "role": ["principal", "partner", "child"],
        }
    )
    assert dossier_reasons(correction, known) == [None]
    assert "0 principals" in dossier_reasons(correction)[0]


# ---------------------------------------------------------------------------
# Property: the vectorised checks and pydantic agree on random rows
# ---------------------------------------------------------------------------

CELL_CHOICES = {
    "role": ["principal", "partner", "child", "other_adult", "CHILD", "boss", ""],
    "annex_parent_id": ["", "P0001", "P0002", " P7 "],
    "age_at_registration": ["0", "17", "18", "34", "120", "121", "-3", "4.0", "", "0034"],
    "sex": ["", "F", "m", "X", "?"],
    "nationality": ["GEO", "syr", "XKX", "STA", "ZZZ", "", "BR"],
    "registration_date": ["2025-03-10", "10/03/2025", "2024-02-29", "2023-02-29", "", "2025-3-1"],
    "departure_date": ["", "2025-03-09", "2025-04-02", "31/12/2026", "2025-13-01"],
    "dossier_status": ["departed", "registered", "cancelled", "no_show", "Departed", "left"],
    "residence_status": ["applicant", "irregular", "end_of_procedure", "other", "x"],
    "application_type": ["", "first", "subsequent", "accompanied_minor", "second"],
    "procedure_phase": ["", "dvz", "dublin", "cgvs_refused", "rvv_refused", "rvv_pending", "zz"],
    "decision_notified_on": ["", "2025-01-10", "2025-03-10", "2025-06-01", "nope"],
    "belgium_responsible": ["", "true", "nee", "oui", "1", "2"],
    "pregnant": ["", "yes", "no", "ja", "0", "waar"],
    "amaar_estimated_cost_eur": [
        "",
        "0",
        "1500",
        "1500.5",
        "1.234,56",
        "12,345",
        "-1",
        "1e3",
        "1.500",
        "99999999999999",
    ],
    "ticket_cost_eur": ["", "180.50", "180,50", " 12 ", "1.00.0"],
}


@st.composite
def random_rows(draw):
    row = person()
    for column, choices in CELL_CHOICES.items():
        if draw(st.booleans()):
            row[column] = draw(st.sampled_from(choices))
    if draw(st.integers(0, 9)) == 0:
        column = draw(st.sampled_from(COLUMNS))
        row[column] = draw(st.text(max_size=8))
    return row


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(random_rows(), min_size=1, max_size=25), decimal_comma=st.booleans())
def test_vectorised_checks_agree_with_pydantic(rows, decimal_comma):
    checked = vectorised(rows, decimal_comma)
    for row, typed in zip(rows, checked.iter_rows(named=True), strict=True):
        cells = {k: v for k, v in row.items() if v != ""}
        if decimal_comma:
            # The reader passes the file's dialect to pydantic through the money fields.
            from data_contracts import values

            for spec in field_specs():
                if spec.kind.name == "MONEY" and spec.name in cells:
                    with contextlib.suppress(ValueError):
                        cells[spec.name] = values.parse_money(cells[spec.name], True)
        try:
            model = ExtractRow.model_validate(cells)
        except ValidationError:
            assert typed[REASON] is not None, (row, "pydantic rejects, polars accepts")
            continue
        assert typed[REASON] is None, (row, typed[REASON])
        assert {c: typed[c] for c in COLUMNS} == model.model_dump()
