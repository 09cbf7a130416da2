"""Dataset-level validation of one extract file with great-expectations.

The row-level contract is enforced by the vectorised polars checks; rows that fail
them are quarantined. This suite is the independent second line of defence, run on
the rows accepted from one file: cross-row rules (unique keys, one principal per
dossier, annex parents in the same dossier) and the column domains again, stated
as great-expectations expectations so the results can be stored with the file and
shown as Dagster asset checks.

Every expectation is derived from the contract (``field_specs()``, the enum tuples,
``country_codes()``) rather than re-typed here.

GX 1.x has no polars engine, so the typed polars frame is prepared in polars (helper
columns for the cross-row rules, money as float for the ``>= 0`` checks only) and
handed to GX's pandas in-memory datasource. The context, suite and whole-dataframe
batch definition are built once per process and reused for every file.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import polars as pl

from data_contracts.countries import country_codes
from data_contracts.row_model import COLUMNS, Kind, columns_of, field_specs

if TYPE_CHECKING:
    import great_expectations as gx

# GX 1.24 ships no analytics client any more, but older 1.x releases read this at
# import time; keep the machine offline-safe whatever version is installed.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

SUITE_NAME = "reab_extract_dataset"
KEY_COLUMNS = ("dossier_id", "person_id")
PRINCIPALS_IN_DOSSIER = "principals_in_dossier"
ANNEX_PARENT_FOUND = "annex_parent_found"
HELPER_COLUMNS = (PRINCIPALS_IN_DOSSIER, ANNEX_PARENT_FOUND)
SAMPLE_SIZE = 5

# How an outcome's sample is read from a GX result (stored in the expectation's meta).
_VALUES = "values"  # the unexpected values themselves
_KEYS = "keys"  # the (dossier_id, person_id) of the unexpected rows
_DOSSIERS = "dossiers"  # the dossier_id of the unexpected rows, once each


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


# ---------------------------------------------------------------------------
# The suite, derived from the contract
# ---------------------------------------------------------------------------


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(choices)


def _expectations() -> list:
    """The suite's expectations, in the order they are reported."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    ex = gx.expectations
    specs = field_specs()

    def meta(column: str | None, sample: str = _VALUES) -> dict:
        return {"reab_column": column, "reab_sample": sample}

    found: list = [
        ex.ExpectTableColumnsToMatchOrderedList(
            column_list=[*COLUMNS, *HELPER_COLUMNS],
            description="the frame has the contract's columns in the contract's order",
            meta=meta(None),
        ),
        ex.ExpectCompoundColumnsToBeUnique(
            column_list=list(KEY_COLUMNS),
            description="(dossier_id, person_id) is unique within the file",
            meta=meta("dossier_id, person_id"),
        ),
        ex.ExpectColumnValuesToBeBetween(
            column=PRINCIPALS_IN_DOSSIER,
            min_value=1,
            max_value=1,
            description="every dossier has exactly one principal",
            meta=meta("dossier_id, role", _DOSSIERS),
        ),
        ex.ExpectColumnValuesToNotBeNull(
            column="annex_parent_id",
            row_condition=Column("role") == "child",
            description="every child has an annex_parent_id",
            meta=meta("annex_parent_id", _KEYS),
        ),
        ex.ExpectColumnValuesToBeInSet(
            column=ANNEX_PARENT_FOUND,
            value_set=[True],
            description="every annex_parent_id is another person in the same dossier",
            meta=meta("annex_parent_id", _KEYS),
        ),
        ex.ExpectColumnValuesToBeBetween(
            column="age_at_registration",
            max_value=17,
            row_condition=Column("role") == "child",
            description="every child is under 18 at registration",
            meta=meta("age_at_registration", _KEYS),
        ),
        ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="departure_date",
            column_B="registration_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description="departure_date is on or after registration_date",
            meta=meta("departure_date, registration_date", _KEYS),
        ),
        ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="registration_date",
            column_B="decision_notified_on",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description="decision_notified_on is on or before registration_date",
            meta=meta("decision_notified_on, registration_date", _KEYS),
        ),
        ex.ExpectColumnValuesToNotBeNull(
            column="departure_date",
            row_condition=Column("dossier_status") == "departed",
            description="every departed row has a departure_date",
            meta=meta("departure_date", _KEYS),
        ),
    ]

    for spec in specs:
        if spec.required or spec.kind is Kind.FLAG:
            why = "is required" if spec.required else "is a flag (empty means no)"
            found.append(
                ex.ExpectColumnValuesToNotBeNull(
                    column=spec.name,
                    description=f"{spec.name} is never empty (it {why})",
                    meta=meta(spec.name, _KEYS),
                )
            )
    for spec in specs:
        if spec.kind is Kind.CHOICE:
            found.append(
                ex.ExpectColumnValuesToBeInSet(
                    column=spec.name,
                    value_set=list(spec.choices),
                    description=f"{spec.name} is one of {_listed(spec.choices)}"
                    + ("" if spec.required else " (or empty)"),
                    meta=meta(spec.name),
                )
            )
        elif spec.kind is Kind.COUNTRY:
            found.append(
                ex.ExpectColumnValuesToBeInSet(
                    column=spec.name,
                    value_set=sorted(country_codes()),
                    description=f"{spec.name} is an ISO 3166-1 alpha-3 code (XKX, STA included)",
                    meta=meta(spec.name),
                )
            )
        elif spec.kind is Kind.TEXT and spec.max_length is not None:
            found.append(
                ex.ExpectColumnValueLengthsToBeBetween(
                    column=spec.name,
                    min_value=1,
                    max_value=spec.max_length,
                    description=f"{spec.name} is 1 to {spec.max_length} characters long",
                    meta=meta(spec.name),
                )
            )
        elif spec.kind is Kind.WHOLE_NUMBER and (
            spec.minimum is not None or spec.maximum is not None
        ):
            found.append(
                ex.ExpectColumnValuesToBeBetween(
                    column=spec.name,
                    min_value=spec.minimum,
                    max_value=spec.maximum,
                    description=f"{spec.name} is between {spec.minimum} and {spec.maximum}",
                    meta=meta(spec.name),
                )
            )
        elif spec.kind is Kind.MONEY:
            found.append(
                ex.ExpectColumnValuesToBeBetween(
                    column=spec.name,
                    min_value=spec.minimum if spec.minimum is not None else 0,
                    description=f"{spec.name} is not negative",
                    meta=meta(spec.name),
                )
            )
    return found


_MONEY_COLUMNS = columns_of(Kind.MONEY)


class _Runner:
    """An ephemeral GX context with the suite and a whole-dataframe batch definition."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # GX 1.24 imports the deprecated ``sre_constants``/``sre_parse``; harmless, but it
            # would break a test run with ``-W error``.
            warnings.filterwarnings(
                "ignore", "module 'sre_(constants|parse)' is deprecated", DeprecationWarning
            )
            import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        asset = self.context.data_sources.add_pandas("reab_extract").add_dataframe_asset(
            "accepted_rows"
        )
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole_file")
        suite = gx.ExpectationSuite(name=SUITE_NAME, expectations=_expectations())
        self.suite = self.context.suites.add(suite)
        self.lock = threading.Lock()

    def run(self, frame):
        # ``Batch.validate`` rather than ``ValidationDefinition.run``: the latter also keeps
        # every result in the context's validation-results store, which in a long-lived
        # process (Dagster) would grow with every file. The caller stores the outcome.
        #
        # No ``unexpected_index_column_names``: GX's pandas engine then looks up every
        # unexpected row one cell at a time (30 s for 300k failing rows). The plain row
        # positions it reports are mapped back to keys in polars instead.
        #
        # Most files meet every expectation: a BOOLEAN_ONLY pass costs half of a SUMMARY
        # pass, and only a file that fails something is validated again for the details.
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
        with self.lock:
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            quick = batch.validate(self.suite, result_format={"result_format": "BOOLEAN_ONLY"})
            if quick.success:
                return quick
            return batch.validate(self.suite, result_format=result_format)


@cache
def _runner() -> _Runner:
    return _Runner()


def build_suite() -> gx.ExpectationSuite:
    """The dataset suite as code (built once per process, with its context)."""
    return _runner().suite


# ---------------------------------------------------------------------------
# Preparing a typed polars frame for GX's pandas engine
# ---------------------------------------------------------------------------


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


def _to_pandas(frame: pl.DataFrame):
    # Money as float: only for the ``>= 0`` checks here, never for sums.
    money = [pl.col(c).cast(pl.Float64) for c in _MONEY_COLUMNS]
    return with_helper_columns(frame).with_columns(money).to_pandas()


# ---------------------------------------------------------------------------
# Reading GX's results back
# ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-safe Python value for a sample entry (GX hands back pandas/numpy scalars)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None  # NaT
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sample_text(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={v}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def _dedupe(values: list) -> list:
    unique: list = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def _sample(result: dict, how: str, keys: pl.DataFrame) -> list:
    if how == _VALUES:
        values = result.get("partial_unexpected_list") or []
        return _dedupe([_plain(v) for v in values])[:SAMPLE_SIZE]
    # Row positions: the pandas frame keeps the default RangeIndex of the polars frame.
    positions = [
        int(i) for i in result.get("partial_unexpected_index_list") or [] if _is_position(i)
    ]
    rows = keys[positions].to_dicts() if positions else []
    if how == _DOSSIERS:
        return _dedupe([row["dossier_id"] for row in rows])[:SAMPLE_SIZE]
    return _dedupe(rows)[:SAMPLE_SIZE]


def _is_position(value: Any) -> bool:
    return isinstance(value, int) or (hasattr(value, "item") and isinstance(value.item(), int))


def _outcome(gx_result, keys: pl.DataFrame) -> ExpectationOutcome:
    config = gx_result.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs
    result = gx_result.result or {}
    exception = gx_result.exception_info or {}
    raised = bool(exception.get("raised_exception"))
    if config.type == "expect_table_columns_to_match_ordered_list":
        observed = result.get("observed_value") or []
        expected = kwargs.get("column_list") or []
        differences = [c for c in observed if c not in expected] + [
            c for c in expected if c not in observed
        ]
        unexpected_count = 0 if gx_result.success else max(len(differences), 1)
        sample = [] if gx_result.success else differences[:SAMPLE_SIZE]
    elif raised:
        unexpected_count = 0
        sample = [str(exception.get("exception_message"))]
    else:
        unexpected_count = int(result.get("unexpected_count") or 0)
        sample = (
            [] if gx_result.success else _sample(result, meta.get("reab_sample", _VALUES), keys)
        )
    return ExpectationOutcome(
        expectation=config.type,
        column=meta.get("reab_column"),
        description=config.description or config.type,
        success=bool(gx_result.success) and not raised,
        unexpected_count=unexpected_count,
        sample=sample,
    )


def validate_extract_dataset(frame: pl.DataFrame) -> DatasetValidation:
    """Run the dataset suite on the accepted rows of one extract file.

    ``frame`` is the typed polars frame (columns of ``ExtractRow`` in order). A frame
    lacking one of the contract's columns is a programming error, not a data problem,
    and raises ``ValueError`` naming the columns.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the contract's columns: {', '.join(missing)}")
    runner = _runner()
    result = runner.run(_to_pandas(frame))
    # GX reports results in its own (metric-graph) order; report them in the suite's.
    position = {e.id: i for i, e in enumerate(runner.suite.expectations)}
    ordered = sorted(result.results, key=lambda r: position.get(r.expectation_config.id, 0))
    keys = frame.select(KEY_COLUMNS)
    outcomes = [_outcome(r, keys) for r in ordered]
    return DatasetValidation(
        success=all(o.success for o in outcomes), outcomes=outcomes, row_count=frame.height
    )
