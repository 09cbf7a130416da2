"""The great-expectations dataset suite: each expectation passes on a valid household
and fails, alone and with the right count, on a frame that breaks exactly its rule.

GX is slow to import and to build a context (~7 s); ``dataset_suite`` caches both per
process, so this module pays that once. One validation costs ~0.4 s of GX overhead.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from data_contracts.cross_field_rules import CROSS_FIELD_RULES
from data_contracts.dataset_expectations import expectations
from data_contracts.dataset_suite import (
    ANNEX_PARENT_FOUND,
    PRINCIPALS_IN_DOSSIER,
    DatasetValidation,
    _runner,
    build_suite,
    check_dataset,
    validate_extract_dataset,
    with_helper_columns,
)
from data_contracts.row_model import COLUMNS, REQUIRED_COLUMNS, Kind, field_specs
from tests.factories import PERSONS_SCHEMA

SPECS = {spec.name: spec for spec in field_specs()}
SCHEMA = PERSONS_SCHEMA

IN_SET = "expect_column_values_to_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
BETWEEN = "expect_column_values_to_be_between"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"


# ---------------------------------------------------------------------------
# Building typed frames
# ---------------------------------------------------------------------------


def person(**values) -> dict:
    """A valid, typed row: a departed, irregular adult principal of dossier D1."""
    row = dict.fromkeys(COLUMNS)
    row.update({name: False for name, spec in SPECS.items() if spec.kind is Kind.FLAG})
    row.update(
        dossier_id="D1",
        person_id="P1",
        role="principal",
        age_at_registration=40,
        sex="M",
        nationality="AFG",
        return_country="AFG",
        registration_date=date(2024, 3, 1),
        departure_date=date(2024, 4, 2),
        dossier_status="departed",
        residence_status="irregular",
        paid_return_premium_eur=Decimal("250.00"),
        ticket_cost_eur=Decimal("480.50"),
    )
    row.update(values)
    return row


def household(dossier: str = "D1", first: int = 1) -> list[dict]:
    """Principal + partner + child on the principal's annex, all valid."""
    principal, partner, child = (f"P{first}", f"P{first + 1}", f"P{first + 2}")
    return [
        person(dossier_id=dossier, person_id=principal),
        person(
            dossier_id=dossier, person_id=partner, role="partner", sex="F", age_at_registration=37
        ),
        person(
            dossier_id=dossier,
            person_id=child,
            role="child",
            age_at_registration=6,
            annex_parent_id=principal,
            paid_return_premium_eur=Decimal("125.00"),
        ),
    ]


def typed(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def two_households() -> list[dict]:
    return household("D1", 1) + household("D2", 4)


def changed(rows: list[dict], index: int, **values) -> list[dict]:
    rows = [dict(r) for r in rows]
    rows[index].update(values)
    return rows


def only_failure(validation: DatasetValidation):
    failures = validation.failures()
    assert len(failures) == 1, validation.summary()
    return failures[0]


def valid_rows() -> list[dict]:
    """Two households, plus edge cases the contract allows: the same persons again in
    a third dossier, stateless/Kosovo codes, an adult partner of 18, a departure on the
    registration day, a decision notified that day, zero amounts, a registered dossier
    without departure date."""
    third = household("D3", 1)
    third = changed(third, 0, nationality="STA", return_country="XKX")
    third = changed(third, 1, age_at_registration=18, departure_date=date(2024, 3, 1))
    third = changed(third, 2, decision_notified_on=date(2024, 3, 1), ticket_cost_eur=Decimal(0))
    lone = person(dossier_id="D4", person_id="P9", dossier_status="registered", departure_date=None)
    return [*two_households(), *third, lone]


EVALUATIONS = {"gx": validate_extract_dataset, "vectorised": check_dataset}


@pytest.fixture(params=list(EVALUATIONS), scope="module")
def validate(request):
    """Each test runs with both evaluations of the suite: GX and vectorised polars."""
    return EVALUATIONS[request.param]


@pytest.fixture(scope="module")
def valid(validate) -> DatasetValidation:
    return validate(typed(valid_rows()))


# ---------------------------------------------------------------------------
# A valid frame, the suite, the result objects
# ---------------------------------------------------------------------------


def test_valid_households_meet_every_expectation(valid):
    assert valid.success, valid.summary()
    assert valid.failures() == []
    assert valid.summary() == f"all {len(valid.outcomes)} expectations met"
    assert len(valid.outcomes) == len(build_suite().expectations)
    assert all(o.unexpected_count == 0 and o.sample == [] for o in valid.outcomes)


def test_suite_is_built_once_and_derived_from_the_contract():
    suite = build_suite()
    assert build_suite() is suite
    configs = [e.configuration for e in suite.expectations]

    def unconditional(kind: str) -> set[str]:
        return {
            c.kwargs["column"]
            for c in configs
            if c.type == kind and not c.kwargs.get("row_condition")
        }

    in_set = {c.kwargs["column"]: set(c.kwargs["value_set"]) for c in configs if c.type == IN_SET}
    for name, spec in SPECS.items():
        if spec.kind is Kind.CHOICE:
            assert in_set[name] == set(spec.choices)
        if spec.kind is Kind.COUNTRY:
            assert {"BEL", "XKX", "STA"} <= in_set[name]
    flags = {name for name, spec in SPECS.items() if spec.kind is Kind.FLAG}
    assert unconditional(NOT_NULL) == set(REQUIRED_COLUMNS) | flags
    money = {name for name, spec in SPECS.items() if spec.kind is Kind.MONEY}
    assert money | {"age_at_registration", PRINCIPALS_IN_DOSSIER} == unconditional(BETWEEN)


def test_outcomes_follow_the_suite_order(valid):
    suite_order = [e.description for e in build_suite().expectations]
    assert [o.description for o in valid.outcomes] == suite_order


def test_to_json_round_trips_failures(validate):
    validation = validate(typed(changed(two_households(), 1, sex="Q")))
    stored = json.loads(validation.to_json())
    assert stored["success"] is False
    assert stored["row_count"] == 6
    assert stored["failed"] == 1
    (bad,) = [o for o in stored["outcomes"] if not o["success"]]
    assert bad == {
        "expectation": IN_SET,
        "column": "sex",
        "description": "sex is one of F, M, X (or empty)",
        "success": False,
        "unexpected_count": 1,
        "sample": ["Q"],
    }
    assert "sex is one of F, M, X (or empty): 1 unexpected" in validation.summary()
    assert stored["summary"] == validation.summary()  # the ingest check's failure text


def test_empty_frame_validates(validate):
    validation = validate(typed([]))
    assert validation.success, validation.summary()
    assert validation.row_count == 0


def test_missing_contract_column_is_a_clear_error(validate):
    with pytest.raises(ValueError, match="pregnant"):
        validate(typed(household()).drop("pregnant"))


def test_extra_column_breaks_the_column_list(validate):
    frame = typed(household()).with_columns(pl.lit("x").alias("name"))
    outcome = only_failure(validate(frame))
    assert outcome.expectation == "expect_table_columns_to_match_ordered_list"
    assert outcome.sample == ["name"]


# ---------------------------------------------------------------------------
# Cross-row rules
# ---------------------------------------------------------------------------


def test_helper_columns():
    rows = two_households() + [person(dossier_id="D3", person_id="P7", role="partner")]
    rows = changed(rows, 5, annex_parent_id="P1")  # D2's child names D1's principal
    frame = with_helper_columns(typed(rows))
    assert frame.columns == [*COLUMNS, PRINCIPALS_IN_DOSSIER, ANNEX_PARENT_FOUND]
    assert frame[PRINCIPALS_IN_DOSSIER].to_list() == [1, 1, 1, 1, 1, 1, 0]
    assert frame[ANNEX_PARENT_FOUND].to_list() == [None, None, True, None, None, False, None]


def test_duplicate_person_in_dossier(validate):
    rows = two_households()
    rows.append(dict(rows[1]))
    outcome = only_failure(validate(typed(rows)))
    assert outcome.expectation == "expect_compound_columns_to_be_unique"
    assert outcome.description == "(dossier_id, person_id) is unique within the file"
    assert outcome.unexpected_count == 2  # both copies
    assert outcome.sample == [{"dossier_id": "D1", "person_id": "P2"}]


def test_dossier_without_principal(validate):
    rows = changed(two_households(), 3, role="other_adult")
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        BETWEEN,
        "every dossier has exactly one principal",
    )
    assert outcome.unexpected_count == 3  # every row of D2
    assert outcome.sample == ["D2"]


def test_dossier_with_two_principals(validate):
    rows = changed(two_households(), 1, role="principal")
    outcome = only_failure(validate(typed(rows)))
    assert outcome.description == "every dossier has exactly one principal"
    assert outcome.unexpected_count == 3
    assert outcome.sample == ["D1"]


def test_child_without_annex_parent(validate):
    outcome = only_failure(validate(typed(changed(two_households(), 2, annex_parent_id=None))))
    assert (outcome.expectation, outcome.description) == (
        NOT_NULL,
        "every child has an annex_parent_id",
    )
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D1", "person_id": "P3"}]


@pytest.mark.parametrize("parent", ["P4", "P99", "P3"], ids=["other-dossier", "nobody", "self"])
def test_annex_parent_not_another_person_of_the_dossier(parent, validate):
    rows = changed(two_households(), 2, annex_parent_id=parent)
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        IN_SET,
        "every annex_parent_id is another person in the same dossier",
    )
    assert outcome.column == "annex_parent_id"
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D1", "person_id": "P3"}]


def test_child_of_18(validate):
    rows = changed(two_households(), 5, age_at_registration=18)
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        BETWEEN,
        "every child is under 18 at registration",
    )
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D2", "person_id": "P6"}]


# ---------------------------------------------------------------------------
# Date order and departed dossiers
# ---------------------------------------------------------------------------


def test_departure_before_registration(validate):
    rows = changed(two_households(), 4, departure_date=date(2024, 2, 29))
    rows = changed(rows, 1, departure_date=date(2024, 3, 1))  # same day is fine
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        PAIR,
        "departure_date is on or after registration_date",
    )
    assert outcome.column == "departure_date, registration_date"
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D2", "person_id": "P5"}]


def test_decision_after_registration(validate):
    rows = changed(two_households(), 0, decision_notified_on=date(2024, 3, 2))
    rows = changed(rows, 3, decision_notified_on=date(2024, 3, 1))  # same day is fine
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        PAIR,
        "decision_notified_on is on or before registration_date",
    )
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D1", "person_id": "P1"}]


def test_departed_without_departure_date(validate):
    rows = changed(two_households(), 1, departure_date=None)
    rows = changed(rows, 4, dossier_status="registered", departure_date=None)  # fine
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.description) == (
        NOT_NULL,
        "every departed row has a departure_date",
    )
    assert outcome.unexpected_count == 1
    assert outcome.sample == [{"dossier_id": "D1", "person_id": "P2"}]


# ---------------------------------------------------------------------------
# Column domains, one per contract column
# ---------------------------------------------------------------------------

CHOICE_COLUMNS = [name for name, spec in SPECS.items() if spec.kind is Kind.CHOICE]
COUNTRY_COLUMNS = [name for name, spec in SPECS.items() if spec.kind is Kind.COUNTRY]
MONEY_COLUMNS = [name for name, spec in SPECS.items() if spec.kind is Kind.MONEY]
FLAG_COLUMNS = [name for name, spec in SPECS.items() if spec.kind is Kind.FLAG]


def failures_by_column(validation: DatasetValidation) -> dict[str, tuple[str, int, list]]:
    return {o.column: (o.expectation, o.unexpected_count, o.sample) for o in validation.failures()}


def test_each_choice_outside_its_domain(validate):
    # One household per choice column; its partner carries a lowercase (non-canonical)
    # spelling. The partner's role and status touch no cross-row rule.
    rows, expected = [], {}
    for i, column in enumerate(CHOICE_COLUMNS):
        wrong = SPECS[column].choices[0].swapcase()
        rows += changed(household(f"D{i}", 3 * i + 1), 1, **{column: wrong})
        expected[column] = (IN_SET, 1, [wrong])
    validation = validate(typed(rows))
    assert failures_by_column(validation) == expected
    for outcome in validation.failures():
        assert outcome.description.startswith(f"{outcome.column} is one of ")


def test_each_country_column_outside_the_code_list(validate):
    rows = changed(two_households(), 1, nationality="BE")
    rows = changed(rows, 4, return_country="ZZZ")
    validation = validate(typed(rows))
    assert failures_by_column(validation) == {
        "nationality": (IN_SET, 1, ["BE"]),
        "return_country": (IN_SET, 1, ["ZZZ"]),
    }
    assert all("ISO 3166-1 alpha-3" in o.description for o in validation.failures())


def test_each_required_or_flag_column_empty(validate):
    # One household per column, its partner missing the value; dossier_id is missing on a
    # lone principal instead, so that no dossier loses its principal.
    columns = [c for c in REQUIRED_COLUMNS if c != "dossier_id"] + FLAG_COLUMNS
    rows, expected = [], {}
    for i, column in enumerate(columns):
        rows += changed(household(f"D{i}", 3 * i + 1), 1, **{column: None})
        person_id = None if column == "person_id" else f"P{3 * i + 2}"
        expected[column] = (NOT_NULL, 1, [{"dossier_id": f"D{i}", "person_id": person_id}])
    rows.append(person(dossier_id=None, person_id="P999"))
    expected["dossier_id"] = (NOT_NULL, 1, [{"dossier_id": None, "person_id": "P999"}])
    validation = validate(typed(rows))
    assert failures_by_column(validation) == expected
    for outcome in validation.failures():
        assert outcome.description.startswith(f"{outcome.column} is never empty")


def test_age_out_of_range(validate):
    rows = changed(two_households(), 1, age_at_registration=-1)
    rows = changed(rows, 4, age_at_registration=121)
    rows = changed(rows, 3, age_at_registration=120)  # the bounds are inclusive
    rows = changed(rows, 5, age_at_registration=0)
    outcome = only_failure(validate(typed(rows)))
    assert (outcome.expectation, outcome.column) == (BETWEEN, "age_at_registration")
    assert outcome.description == "age_at_registration is between 0 and 120"
    assert (outcome.unexpected_count, outcome.sample) == (2, [-1, 121])


def test_each_money_column_negative(validate):
    rows, expected = [], {}
    for i, column in enumerate(MONEY_COLUMNS):
        household_rows = changed(household(f"D{i}", 3 * i + 1), 2, **{column: Decimal("-0.01")})
        rows += changed(household_rows, 1, **{column: Decimal("0.00")})  # zero is fine
        expected[column] = (BETWEEN, 1, ["-0.01"])  # the amount itself, to the cent
    validation = validate(typed(rows))
    assert failures_by_column(validation) == expected
    for outcome in validation.failures():
        assert outcome.description == f"{outcome.column} is not negative"


def test_text_too_long(validate):
    rows = changed(two_households(), 1, person_id="P" * 65)
    outcome = only_failure(validate(typed(rows)))
    assert outcome.expectation == "expect_column_value_lengths_to_be_between"
    assert outcome.column == "person_id"
    assert outcome.unexpected_count == 1


def test_many_failures_are_counted_and_summarised(validate):
    rows = changed(two_households(), 1, sex="Q", age_at_registration=200)
    rows = changed(rows, 4, sex="Q", departure_date=None)
    validation = validate(typed(rows))
    assert not validation.success
    counts = {o.column: o.unexpected_count for o in validation.failures()}
    assert counts == {"sex": 2, "age_at_registration": 1, "departure_date": 1}
    assert len(validation.summary().splitlines()) == 3


# ---------------------------------------------------------------------------
# Agreement with the polars cross-field rules on a mixed frame
# ---------------------------------------------------------------------------

AGREEING = {
    "departure-after-registration": "departure_date is on or after registration_date",
    "decision-before-registration": "decision_notified_on is on or before registration_date",
    "departed-needs-departure-date": "every departed row has a departure_date",
    "child-is-minor": "every child is under 18 at registration",
    "child-has-annex-parent": "every child has an annex_parent_id",
}


def test_counts_agree_with_the_row_level_rules(validate):
    rng = random.Random(20240301)
    rows = []
    for d in range(40):
        for p, row in enumerate(household(f"D{d}", 3 * d + 1)):
            registered = row["registration_date"]
            rows.append(
                row
                | {
                    "departure_date": rng.choice(
                        [None, registered, registered + timedelta(days=rng.randint(-9, 9))]
                    ),
                    "decision_notified_on": rng.choice(
                        [None, registered + timedelta(days=rng.randint(-9, 9))]
                    ),
                    "dossier_status": rng.choice(["departed", "registered"]),
                    "age_at_registration": rng.randint(0, 30) if p == 2 else 40,
                    "annex_parent_id": rng.choice([None, row["annex_parent_id"]]),
                }
            )
    frame = typed(rows)
    validation = validate(frame)
    by_description = {o.description: o for o in validation.outcomes}
    for rule in CROSS_FIELD_RULES:
        if rule.rule_id in AGREEING:
            expected = frame.filter(rule.broken).height
            assert expected > 0, rule.rule_id  # the frame exercises the rule
            assert by_description[AGREEING[rule.rule_id]].unexpected_count == expected, rule.rule_id


# ---------------------------------------------------------------------------
# GX and the vectorised evaluation agree on random frames, failing ones included
# ---------------------------------------------------------------------------

# Per column, typed values a mutated row may take: in and out of the column's domain.
MUTATIONS = {
    "dossier_id": [None, "D1", "D2", "D9", "", "D" * 65],
    "person_id": [None, "P1", "P2", "P" * 65, ""],
    "role": ["principal", "partner", "child", "other_adult", "boss", None],
    "annex_parent_id": [None, "P1", "P2", "P4", "P99", "P" * 65],
    "age_at_registration": [0, 6, 17, 18, 40, 120, -1, 121, None],
    "sex": ["F", "M", "X", "Q", "m", None],
    "nationality": ["AFG", "STA", "XKX", "ZZZ", "BE", None],
    "return_country": ["AFG", "zzz", None],
    "registration_date": [date(2024, 3, 1), date(2024, 5, 1), None],
    "departure_date": [date(2024, 2, 1), date(2024, 3, 1), date(2024, 6, 1), None],
    "decision_notified_on": [date(2024, 2, 1), date(2024, 3, 2), None],
    "dossier_status": ["departed", "registered", "gone", None],
    "residence_status": ["irregular", "applicant", "Applicant", None],
    "application_type": ["first", "second", None],
    "procedure_phase": ["dvz", "cgvs_refused", "x", None],
    "belgium_responsible": [True, False, None],
    "pregnant": [True, False, None],
    "ex_unaccompanied_minor": [True, None],
    "single_parent": [False, None],
    "trafficking_victim": [True, None],
    "medical_basic": [True, None],
    "reintegration_partner": ["IOM", "Caritas", "UNHCR", None],
    "amaar_estimated_cost_eur": [Decimal("0.00"), Decimal("-0.01"), Decimal("1500.00"), None],
    "paid_return_premium_eur": [Decimal("250.00"), Decimal("-1.00"), None],
    "paid_reintegration_eur": [Decimal("1000.00"), Decimal("-99999999999.99"), None],
    "ticket_cost_eur": [Decimal("480.50"), Decimal("-480.50"), Decimal("0"), None],
}


def random_frame(seed: int) -> pl.DataFrame:
    """Households of a few dossiers, some rows mutated, some copied (duplicate keys)."""
    rng = random.Random(seed)
    rows = []
    for d in range(rng.randint(1, 6)):
        rows += household(f"D{d}", 3 * d + 1)
    for _ in range(rng.randint(0, 3)):
        rows.append(dict(rng.choice(rows)))
    rows = [dict(r) for r in rows]
    rate = rng.choice([0.0, 0.05, 0.2, 0.5])
    for row in rows:
        for column, choices in MUTATIONS.items():
            if rng.random() < rate:
                row[column] = rng.choice(choices)
    rng.shuffle(rows)
    return typed(rows)


def test_random_frames_exercise_every_expectation_both_ways():
    """Across the random frames below, every expectation fails at least once."""
    failed = set()
    for seed in range(AGREEMENT_SEEDS):
        failed |= {o.description for o in check_dataset(random_frame(seed)).failures()}
    suite = {e.description for e in expectations()}
    # The column list never fails on a typed frame; it has its own test.
    assert suite - failed == {"the frame has the contract's columns in the contract's order"}


AGREEMENT_SEEDS = 40


@pytest.mark.parametrize("seed", range(AGREEMENT_SEEDS))
def test_gx_and_the_vectorised_evaluation_give_the_same_outcomes(seed):
    frame = random_frame(seed)
    gx_validation = validate_extract_dataset(frame)
    vectorised = check_dataset(frame)
    assert vectorised.outcomes == gx_validation.outcomes
    assert vectorised.to_json() == gx_validation.to_json()


def test_samples_come_from_the_first_unexpected_rows_as_in_gx():
    """Many failures: the samples (first 20 unexpected rows, then 5 distinct) agree."""
    rows = []
    for d in range(30):
        rows += changed(household(f"D{d}", 3 * d + 1), 1, role="principal", sex="Q")
    rows = changed(rows, 80, sex="Z")  # a distinct value beyond the first 20 unexpected
    frame = typed(rows)
    gx_validation, vectorised = validate_extract_dataset(frame), check_dataset(frame)
    assert vectorised.outcomes == gx_validation.outcomes
    by_column = {o.column: o for o in vectorised.failures()}
    assert by_column["sex"].unexpected_count == 31
    assert by_column["sex"].sample == ["Q"]
    assert by_column["dossier_id, role"].sample == ["D0", "D1", "D2", "D3", "D4"]


# ---------------------------------------------------------------------------
# Running quietly, without keeping results, at scale
# ---------------------------------------------------------------------------


def test_validation_is_quiet_and_keeps_no_results(capfd):
    validate_extract_dataset(typed(changed(two_households(), 1, sex="Q")))
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")  # no progress bars, no warnings
    assert _runner().context.validation_results_store.list_keys() == []


def many_households(rows: int) -> pl.DataFrame:
    """``rows`` valid rows (households of three), built column-wise."""
    i = pl.int_range(0, rows, eager=True).alias("i")
    position = i % 3
    frame = pl.DataFrame(i).select(
        dossier_id=pl.format("D{}", pl.col("i") // 3),
        person_id=pl.format("P{}", pl.col("i")),
        role=pl.when(position == 0)
        .then(pl.lit("principal"))
        .when(position == 1)
        .then(pl.lit("partner"))
        .otherwise(pl.lit("child")),
        annex_parent_id=pl.when(position == 2).then(pl.format("P{}", pl.col("i") - 2)),
        age_at_registration=pl.when(position == 2).then(6).otherwise(40),
    )
    constants = {c: v for c, v in person().items() if c not in frame.columns}
    return frame.with_columns(
        pl.lit(value, SCHEMA[column]).alias(column) for column, value in constants.items()
    ).select([pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])


@pytest.mark.slow
def test_300k_rows_failing_everywhere_are_counted_exactly(validate):
    frame = many_households(300_000).with_columns(
        ticket_cost_eur=pl.lit(Decimal("-1.00"), SCHEMA["ticket_cost_eur"]),
        role=pl.lit("principal"),
    )
    validation = validate(frame)
    counts = {o.description: o.unexpected_count for o in validation.failures()}
    assert counts == {
        "every dossier has exactly one principal": 300_000,
        "ticket_cost_eur is not negative": 300_000,
    }
