"""Cross-field rules of the extract contract, each stated once in two forms.

``broken_by(row)`` reads a validated ``ExtractRow``; ``broken`` is the same rule as
a polars expression over typed columns. A property test keeps them in agreement.
Null handling: a rule only speaks when the cells it compares are present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from data_contracts.row_model import REFUSAL_PHASES


@dataclass(frozen=True)
class CrossFieldRule:
    rule_id: str
    message: str
    broken: pl.Expr
    broken_by: Callable[[object], bool]


def _set(column: str) -> pl.Expr:
    return pl.col(column).is_not_null()


def _empty(column: str) -> pl.Expr:
    return pl.col(column).is_null()


def _applicant_fields_ok(row) -> bool:
    has_phase = row.procedure_phase is not None
    has_type = row.application_type is not None
    if row.residence_status == "applicant":
        return (has_phase and has_type) or (
            row.annex_parent_id is not None and not has_phase and not has_type
        )
    return not has_phase and not has_type


CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = (
    CrossFieldRule(
        "departure-after-registration",
        "`departure_date` is before `registration_date`",
        (pl.col("departure_date") < pl.col("registration_date")).fill_null(False),
        lambda r: r.departure_date is not None and r.departure_date < r.registration_date,
    ),
    CrossFieldRule(
        "decision-before-registration",
        "`decision_notified_on` is after `registration_date`",
        (pl.col("decision_notified_on") > pl.col("registration_date")).fill_null(False),
        lambda r: (
            r.decision_notified_on is not None and r.decision_notified_on > r.registration_date
        ),
    ),
    CrossFieldRule(
        "departed-needs-departure-date",
        "`dossier_status` is departed but `departure_date` is empty",
        (pl.col("dossier_status") == "departed") & _empty("departure_date"),
        lambda r: r.dossier_status == "departed" and r.departure_date is None,
    ),
    CrossFieldRule(
        "child-is-minor",
        "`role` is child but `age_at_registration` is 18 or more",
        (pl.col("role") == "child") & (pl.col("age_at_registration") >= 18),
        lambda r: r.role == "child" and r.age_at_registration >= 18,
    ),
    CrossFieldRule(
        "child-has-annex-parent",
        "`role` is child but `annex_parent_id` is empty",
        (pl.col("role") == "child") & _empty("annex_parent_id"),
        lambda r: r.role == "child" and r.annex_parent_id is None,
    ),
    CrossFieldRule(
        "annex-parent-is-another-person",
        "`annex_parent_id` names the person themself",
        (pl.col("annex_parent_id") == pl.col("person_id")).fill_null(False),
        lambda r: r.annex_parent_id is not None and r.annex_parent_id == r.person_id,
    ),
    CrossFieldRule(
        "applicant-procedure-fields",
        "`procedure_phase` and `application_type` must both be set for an applicant "
        "(or both empty for a child on a parent's annex) and empty otherwise",
        ~pl.when(pl.col("residence_status") == "applicant")
        .then(
            (_set("procedure_phase") & _set("application_type"))
            | (_set("annex_parent_id") & _empty("procedure_phase") & _empty("application_type"))
        )
        .otherwise(_empty("procedure_phase") & _empty("application_type")),
        lambda r: not _applicant_fields_ok(r),
    ),
    CrossFieldRule(
        "refusal-needs-notification-date",
        "`procedure_phase` is a refusal but `decision_notified_on` is empty",
        pl.col("procedure_phase").is_in(REFUSAL_PHASES).fill_null(False)
        & _empty("decision_notified_on"),
        lambda r: r.procedure_phase in REFUSAL_PHASES and r.decision_notified_on is None,
    ),
)
