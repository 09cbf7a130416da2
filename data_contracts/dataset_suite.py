"""The dataset expectations as a great-expectations suite (GX's pandas in-memory batch).

The expectations are stated once, in ``dataset_expectations``; this module builds them
as a GX suite and reads GX's results back in the project's words. The ingest does not
run it (it stores the vectorised ``check_dataset`` verdict with every file); the
Dagster ``dataset_expectations`` check runs it on the accepted rows of the files of
its run and requires GX's verdicts to be the vectorised ones.

GX 1.x has no polars engine, so the typed polars frame is prepared in polars (helper
columns for the cross-row rules, money as float for the ``>= 0`` checks only) and
handed to GX's pandas in-memory datasource. The context, suite and whole-dataframe
batch definition are built once per process (on first use: importing this module
does not import GX) and reused for every file.
"""

from __future__ import annotations

import os
import threading
import warnings
from functools import cache
from typing import TYPE_CHECKING, Any

import polars as pl

from data_contracts.dataset_expectations import (
    ANNEX_PARENT_FOUND,
    DOSSIERS,
    HELPER_COLUMNS,
    KEY_COLUMNS,
    MONEY_COLUMNS,
    PARTIAL_UNEXPECTED,
    PRINCIPALS_IN_DOSSIER,
    SAMPLE_SIZE,
    SUITE_NAME,
    VALUES,
    DatasetValidation,
    ExpectationOutcome,
    check_dataset,
    column_list_outcome,
    dedupe,
    expectations,
    plain,
    require_contract_columns,
    with_helper_columns,
)

if TYPE_CHECKING:
    import great_expectations as gx

__all__ = [
    "ANNEX_PARENT_FOUND",
    "HELPER_COLUMNS",
    "KEY_COLUMNS",
    "PRINCIPALS_IN_DOSSIER",
    "SUITE_NAME",
    "DatasetValidation",
    "ExpectationOutcome",
    "build_suite",
    "check_dataset",
    "validate_extract_dataset",
    "with_helper_columns",
]

# GX 1.24 ships no analytics client any more, but older 1.x releases read this at
# import time; keep the machine offline-safe whatever version is installed.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _gx_expectations() -> list:
    """The suite's expectations as GX objects, in the order they are reported."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    found = []
    for expectation in expectations():
        extra = {}
        if expectation.condition:
            name, value = expectation.condition
            extra["row_condition"] = Column(name) == value
        gx_class = getattr(gx.expectations, expectation.gx_class)
        found.append(
            gx_class(
                **expectation.kwargs,
                **extra,
                description=expectation.description,
                meta={"reab_column": expectation.column, "reab_sample": expectation.sample},
            )
        )
    return found


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
        suite = gx.ExpectationSuite(name=SUITE_NAME, expectations=_gx_expectations())
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
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED}
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
    """The dataset suite as GX code (built once per process, with its context)."""
    return _runner().suite


# ---------------------------------------------------------------------------
# Preparing a typed polars frame for GX's pandas engine
# ---------------------------------------------------------------------------


def _to_pandas(frame: pl.DataFrame):
    # Money as float: only for the ``>= 0`` checks here, never for sums.
    money = [pl.col(c).cast(pl.Float64) for c in MONEY_COLUMNS]
    return with_helper_columns(frame).with_columns(money).to_pandas()


# ---------------------------------------------------------------------------
# Reading GX's results back
# ---------------------------------------------------------------------------


def _sample(result: dict, how: str, column: str | None, keys: pl.DataFrame) -> list:
    if how == VALUES:
        values = result.get("partial_unexpected_list") or []
        return dedupe([plain(v, column) for v in values])[:SAMPLE_SIZE]
    # Row positions: the pandas frame keeps the default RangeIndex of the polars frame.
    positions = [
        int(i) for i in result.get("partial_unexpected_index_list") or [] if _is_position(i)
    ]
    rows = keys[positions].to_dicts() if positions else []
    if how == DOSSIERS:
        return dedupe([row["dossier_id"] for row in rows])[:SAMPLE_SIZE]
    return dedupe(rows)[:SAMPLE_SIZE]


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
        (expectation,) = [e for e in expectations() if e.type == config.type]
        observed = result.get("observed_value") or []  # absent from a BOOLEAN_ONLY result
        return column_list_outcome(expectation, observed, success=bool(gx_result.success))
    if raised:
        unexpected_count = 0
        sample = [str(exception.get("exception_message"))]
    else:
        unexpected_count = int(result.get("unexpected_count") or 0)
        how = meta.get("reab_sample", VALUES)
        sample = [] if gx_result.success else _sample(result, how, kwargs.get("column"), keys)
    return ExpectationOutcome(
        expectation=config.type,
        column=meta.get("reab_column"),
        description=config.description or config.type,
        success=bool(gx_result.success) and not raised,
        unexpected_count=unexpected_count,
        sample=sample,
    )


def validate_extract_dataset(frame: pl.DataFrame) -> DatasetValidation:
    """Run the dataset suite with great-expectations on the accepted rows of one file.

    ``frame`` is the typed polars frame (columns of ``ExtractRow`` in order). A frame
    lacking one of the contract's columns is a programming error, not a data problem,
    and raises ``ValueError`` naming the columns.
    """
    require_contract_columns(frame)
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
