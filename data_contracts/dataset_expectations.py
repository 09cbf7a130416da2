"""Dataset-level expectations of one extract file: stated once, evaluated two ways.

The row-level contract is enforced by the vectorised checks in ``row_checks``; rows
that fail them are quarantined. The dataset expectations are the independent second
line of defence over the rows accepted from one file: cross-row rules (unique keys,
one principal per dossier, annex parents in the same dossier) and the column domains
again. Every expectation is derived from the contract (``field_specs()``, the enum
tuples, ``country_codes()``) and stated here once, in great-expectations' terms (the
expectation type and its keyword arguments), in the order they are reported.

Two evaluations of the same list:

- ``check_dataset`` — vectorised polars, one pass over the frame (a few milliseconds
  a file). The ingest runs it on every file and stores its verdict with the file
  (``ingested_files.dataset_validation``).
- ``dataset_suite.validate_extract_dataset`` — the same expectations as a
  great-expectations suite on GX's pandas in-memory batch. GX takes seconds to start,
  so it is not on the ingest's path: the Dagster ``dataset_expectations`` check runs it
  on the accepted rows of the files of its run and requires the same verdicts.

A test feeds both the same frames, failing ones included, and requires the same
outcome for every expectation (verdict, count and sample). This module never imports
great-expectations.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import polars as pl

from data_contracts.countries import country_codes
from data_contracts.row_model import COLUMNS, Kind, columns_of, field_specs

SUITE_NAME = "reab_extract_dataset"
KEY_COLUMNS = ("dossier_id", "person_id")
PRINCIPALS_IN_DOSSIER = "principals_in_dossier"
ANNEX_PARENT_FOUND = "annex_parent_found"
HELPER_COLUMNS = (PRINCIPALS_IN_DOSSIER, ANNEX_PARENT_FOUND)
SAMPLE_SIZE = 5
# GX (result format SUMMARY) reports the first 20 unexpected rows; a sample is read from those.
PARTIAL_UNEXPECTED = 20

# How an outcome's sample is read from the unexpected rows.
VALUES = "values"  # the unexpected values themselves
KEYS = "keys"  # the (dossier_id, person_id) of the unexpected rows
DOSSIERS = "dossiers"  # the dossier_id of the unexpected rows, once each

MONEY_COLUMNS = columns_of(Kind.MONEY)
WHOLE_NUMBER_COLUMNS = columns_of(Kind.WHOLE_NUMBER)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Expectation:
    """One expectation of the suite, in great-expectations' terms."""

    type: str  # e.g. expect_column_values_to_be_in_set
    description: str
    column: str | None  # the contract column(s) it speaks about, for the reader
    sample: str  # VALUES, KEYS or DOSSIERS
    kwargs: dict = field(default_factory=dict)  # GX's keyword arguments
    condition: tuple[str, str] | None = None  # only rows where column == value

    @property
    def gx_class(self) -> str:
        """The class name in ``great_expectations.expectations``."""
        return "".join(part.capitalize() for part in self.type.split("_"))


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, in the project's words rather than GX's."""

    expectation: str
    column: str | None
    description: str
    success: bool
    unexpected_count: int
    sample: list = field(default_factory=list)


@dataclass(frozen=True)
class DatasetValidation:
    """The suite's verdict on one extract file."""

    success: bool
    outcomes: list[ExpectationOutcome]
    row_count: int = 0

    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def summary(self) -> str:
        failures = self.failures()
        if not failures:
            return f"all {len(self.outcomes)} expectations met"
        lines = []
        for outcome in failures:
            sample = (
                f" (e.g. {', '.join(map(_sample_text, outcome.sample))})" if outcome.sample else ""
            )
            lines.append(
                f"{outcome.description}: {outcome.unexpected_count} unexpected"
                f" [{outcome.expectation}]{sample}"
            )
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "success": self.success,
                "row_count": self.row_count,
                "expectations": len(self.outcomes),
                "failed": len(self.failures()),
                "summary": self.summary(),  # what the dataset_expectations check shows
                "outcomes": [asdict(outcome) for outcome in self.outcomes],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> DatasetValidation:
        stored = json.loads(text)
        return cls(
            success=stored["success"],
            outcomes=[ExpectationOutcome(**outcome) for outcome in stored["outcomes"]],
            row_count=stored.get("row_count", 0),
        )


# ---------------------------------------------------------------------------
# The suite, derived from the contract
# ---------------------------------------------------------------------------


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(choices)


@cache
def expectations() -> tuple[Expectation, ...]:
    """The suite's expectations, in the order they are reported."""
    specs = field_specs()
    found = [
        Expectation(
            "expect_table_columns_to_match_ordered_list",
            "the frame has the contract's columns in the contract's order",
            None,
            VALUES,
            {"column_list": [*COLUMNS, *HELPER_COLUMNS]},
        ),
        Expectation(
            "expect_compound_columns_to_be_unique",
            "(dossier_id, person_id) is unique within the file",
            "dossier_id, person_id",
            VALUES,
            {"column_list": list(KEY_COLUMNS)},
        ),
        Expectation(
            "expect_column_values_to_be_between",
            "every dossier has exactly one principal",
            "dossier_id, role",
            DOSSIERS,
            {"column": PRINCIPALS_IN_DOSSIER, "min_value": 1, "max_value": 1},
        ),
        Expectation(
            "expect_column_values_to_not_be_null",
            "every child has an annex_parent_id",
            "annex_parent_id",
            KEYS,
            {"column": "annex_parent_id"},
            condition=("role", "child"),
        ),
        Expectation(
            "expect_column_values_to_be_in_set",
            "every annex_parent_id is another person in the same dossier",
            "annex_parent_id",
            KEYS,
            {"column": ANNEX_PARENT_FOUND, "value_set": [True]},
        ),
        Expectation(
            "expect_column_values_to_be_between",
            "every child is under 18 at registration",
            "age_at_registration",
            KEYS,
            {"column": "age_at_registration", "max_value": 17},
            condition=("role", "child"),
        ),
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "departure_date is on or after registration_date",
            "departure_date, registration_date",
            KEYS,
            {
                "column_A": "departure_date",
                "column_B": "registration_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "decision_notified_on is on or before registration_date",
            "decision_notified_on, registration_date",
            KEYS,
            {
                "column_A": "registration_date",
                "column_B": "decision_notified_on",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        Expectation(
            "expect_column_values_to_not_be_null",
            "every departed row has a departure_date",
            "departure_date",
            KEYS,
            {"column": "departure_date"},
            condition=("dossier_status", "departed"),
        ),
    ]
    for spec in specs:
        if spec.required or spec.kind is Kind.FLAG:
            why = "is required" if spec.required else "is a flag (empty means no)"
            found.append(
                Expectation(
                    "expect_column_values_to_not_be_null",
                    f"{spec.name} is never empty (it {why})",
                    spec.name,
                    KEYS,
                    {"column": spec.name},
                )
            )
    for spec in specs:
        if spec.kind is Kind.CHOICE:
            found.append(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    f"{spec.name} is one of {_listed(spec.choices)}"
                    + ("" if spec.required else " (or empty)"),
                    spec.name,
                    VALUES,
                    {"column": spec.name, "value_set": list(spec.choices)},
                )
            )
        elif spec.kind is Kind.COUNTRY:
            found.append(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    f"{spec.name} is an ISO 3166-1 alpha-3 code (XKX, STA included)",
                    spec.name,
                    VALUES,
                    {"column": spec.name, "value_set": sorted(country_codes())},
                )
            )
        elif spec.kind is Kind.TEXT and spec.max_length is not None:
            found.append(
                Expectation(
                    "expect_column_value_lengths_to_be_between",
                    f"{spec.name} is 1 to {spec.max_length} characters long",
                    spec.name,
                    VALUES,
                    {"column": spec.name, "min_value": 1, "max_value": spec.max_length},
                )
            )
        elif spec.kind is Kind.WHOLE_NUMBER and (
            spec.minimum is not None or spec.maximum is not None
        ):
            found.append(
                Expectation(
                    "expect_column_values_to_be_between",
                    f"{spec.name} is between {spec.minimum} and {spec.maximum}",
                    spec.name,
                    VALUES,
                    {"column": spec.name, "min_value": spec.minimum, "max_value": spec.maximum},
                )
            )
        elif spec.kind is Kind.MONEY:
            found.append(
                Expectation(
                    "expect_column_values_to_be_between",
                    f"{spec.name} is not negative",
                    spec.name,
                    VALUES,
                    {
                        "column": spec.name,
                        "min_value": spec.minimum if spec.minimum is not None else 0,
                    },
                )
            )
    return tuple(found)


def with_helper_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the per-row helper columns the cross-row expectations read.

    ``principals_in_dossier``: how many rows of the row's dossier have role principal.
    ``annex_parent_found``: null when ``annex_parent_id`` is empty, else whether it names
    another person of the same dossier.
    """
    persons = (
        frame.select("dossier_id", pl.col("person_id").alias("annex_parent_id"))
        .drop_nulls()
        .unique()
        .with_columns(pl.lit(True).alias("_person_found"))
    )
    return (
        frame.join(persons, on=["dossier_id", "annex_parent_id"], how="left", maintain_order="left")
        .with_columns(
            (pl.col("role") == "principal")
            .sum()
            .over("dossier_id")
            .cast(pl.Int32)
            .alias(PRINCIPALS_IN_DOSSIER),
            pl.when(pl.col("annex_parent_id").is_null())
            .then(None)
            .otherwise(
                pl.col("_person_found").fill_null(False)
                & (pl.col("annex_parent_id") != pl.col("person_id")).fill_null(True)
            )
            .alias(ANNEX_PARENT_FOUND),
        )
        .drop("_person_found")
    )


# ---------------------------------------------------------------------------
# Samples, as both evaluations report them
# ---------------------------------------------------------------------------


def plain(value: Any, column: str | None = None) -> Any:
    """A JSON-safe Python value for a sample entry; an amount as its exact text."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): plain(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None  # NaT
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, Decimal):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if column in WHOLE_NUMBER_COLUMNS and isinstance(value, float) and value.is_integer():
        return int(value)  # pandas holds a whole-number column with gaps as floats
    if column in MONEY_COLUMNS and isinstance(value, float | int | Decimal):
        # GX compares amounts as floats; the sample shows the amount itself, to the cent.
        return str(Decimal(repr(value) if isinstance(value, float) else value).quantize(CENT))
    if isinstance(value, Decimal):
        return str(value)
    return value


def _sample_text(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={v}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def dedupe(values: list) -> list:
    unique: list = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def column_list_outcome(
    expectation: Expectation, observed: list[str], success: bool | None = None
) -> ExpectationOutcome:
    """The outcome of ``expect_table_columns_to_match_ordered_list`` for the observed
    columns (``success``: the verdict when already known)."""
    expected = expectation.kwargs["column_list"]
    if success is None:
        success = list(observed) == list(expected)
    differences = [c for c in observed if c not in expected] + [
        c for c in expected if c not in observed
    ]
    return ExpectationOutcome(
        expectation=expectation.type,
        column=expectation.column,
        description=expectation.description,
        success=success,
        unexpected_count=0 if success else max(len(differences), 1),
        sample=[] if success else differences[:SAMPLE_SIZE],
    )


def require_contract_columns(frame: pl.DataFrame) -> None:
    """A frame lacking one of the contract's columns is a programming error, not a data
    problem."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the contract's columns: {', '.join(missing)}")


# ---------------------------------------------------------------------------
# The vectorised evaluation
# ---------------------------------------------------------------------------


def _outside(column: pl.Expr, low, high) -> pl.Expr:
    outside = pl.lit(False)
    if low is not None:
        outside = outside | (column < low)
    if high is not None:
        outside = outside | (column > high)
    return column.is_not_null() & outside


def unexpected(expectation: Expectation) -> pl.Expr:
    """True on the rows that break ``expectation`` (GX's unexpected rows), else false."""
    kwargs = expectation.kwargs
    column = pl.col(kwargs["column"]) if "column" in kwargs else None
    match expectation.type:
        case "expect_compound_columns_to_be_unique":  # rows whose keys are all empty: ignored
            keys = kwargs["column_list"]
            broken = ~pl.all_horizontal(pl.col(c).is_null() for c in keys) & (
                pl.len().over(keys) > 1
            )
        case "expect_column_values_to_be_between":
            broken = _outside(column, kwargs.get("min_value"), kwargs.get("max_value"))
        case "expect_column_values_to_not_be_null":
            broken = column.is_null()
        case "expect_column_values_to_be_in_set":
            broken = column.is_not_null() & ~column.is_in(kwargs["value_set"])
        case "expect_column_value_lengths_to_be_between":
            lengths = column.str.len_chars()
            broken = _outside(lengths, kwargs.get("min_value"), kwargs.get("max_value"))
        case "expect_column_pair_values_a_to_be_greater_than_b":  # either missing: ignored
            a, b = pl.col(kwargs["column_A"]), pl.col(kwargs["column_B"])
            broken = a.is_not_null() & b.is_not_null() & (a < b if kwargs["or_equal"] else a <= b)
        case _:  # pragma: no cover - a new expectation type needs its evaluation here
            raise AssertionError(f"no vectorised evaluation of {expectation.type}")
    if expectation.condition:
        name, value = expectation.condition
        broken = broken & (pl.col(name) == value).fill_null(False)
    return broken.fill_null(False)


@cache
def _unexpected_counts() -> tuple[pl.Expr, ...]:
    return tuple(
        unexpected(e).sum().alias(str(i))
        for i, e in enumerate(expectations())
        if e.type != "expect_table_columns_to_match_ordered_list"
    )


def _vectorised_sample(expectation: Expectation, rows: pl.DataFrame) -> list:
    """The sample of the first ``PARTIAL_UNEXPECTED`` unexpected ``rows``, as GX reads it."""
    kwargs = expectation.kwargs
    if expectation.sample == KEYS:
        return dedupe(rows.select(KEY_COLUMNS).to_dicts())[:SAMPLE_SIZE]
    if expectation.sample == DOSSIERS:
        return dedupe(rows["dossier_id"].to_list())[:SAMPLE_SIZE]
    if "column_list" in kwargs:
        values = [plain(row) for row in rows.select(kwargs["column_list"]).to_dicts()]
    else:
        values = [plain(v, kwargs["column"]) for v in rows[kwargs["column"]].to_list()]
    return dedupe(values)[:SAMPLE_SIZE]


def check_dataset(frame: pl.DataFrame) -> DatasetValidation:
    """Evaluate the dataset expectations on the accepted rows of one extract file.

    ``frame`` is the typed polars frame (columns of ``ExtractRow`` in order). The
    outcome is the one ``dataset_suite.validate_extract_dataset`` (GX) gives on the
    same frame; a frame lacking one of the contract's columns raises ``ValueError``.
    """
    require_contract_columns(frame)
    helped = with_helper_columns(frame)
    counts = helped.select(_unexpected_counts()).row(0, named=True)
    outcomes = []
    for i, expectation in enumerate(expectations()):
        if expectation.type == "expect_table_columns_to_match_ordered_list":
            outcomes.append(column_list_outcome(expectation, helped.columns))
            continue
        count = int(counts[str(i)] or 0)
        sample = []
        if count:
            rows = helped.filter(unexpected(expectation)).head(PARTIAL_UNEXPECTED)
            sample = _vectorised_sample(expectation, rows)
        outcomes.append(
            ExpectationOutcome(
                expectation=expectation.type,
                column=expectation.column,
                description=expectation.description,
                success=count == 0,
                unexpected_count=count,
                sample=sample,
            )
        )
    return DatasetValidation(
        success=all(o.success for o in outcomes), outcomes=outcomes, row_count=frame.height
    )
