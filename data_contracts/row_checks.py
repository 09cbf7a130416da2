"""Vectorised row checks: the pydantic contract as polars expressions.

``field_specs()`` describes each column of ``ExtractRow``; from it this module builds,
per column, one expression that types the raw text and one that states the problem
when the text is not acceptable. Cross-field rules come from ``cross_field_rules``
and, as in pydantic, are only judged on rows whose cells all parsed. Cross-row rules
(unique key, one principal, annex parent in the dossier) are in ``check_dossiers``.

Reasons are human-readable and name the column and the rule, e.g.
``age_at_registration: '130' is above the maximum 120``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl

from data_contracts import values
from data_contracts.countries import country_codes
from data_contracts.cross_field_rules import CROSS_FIELD_RULES
from data_contracts.row_model import FieldSpec, Kind, field_specs

REASON = "reason"
MONEY_DTYPE = pl.Decimal(14, 2)
WHITESPACE = values.WHITESPACE


@cache
def _country_list() -> list[str]:
    return sorted(country_codes())


def _empty_is_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column).str.len_bytes() > 0).then(pl.col(column)).alias(column)


def _parse_date(text: pl.Expr) -> pl.Expr:
    iso = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    belgian = text.str.strptime(pl.Date, "%d/%m/%Y", strict=False)
    return (
        pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$"))
        .then(iso)
        .when(text.str.contains(r"^\d{2}/\d{2}/\d{4}$"))
        .then(belgian)
    )


def _normalise_money(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """An amount's text with a decimal point and no grouping (``values.normalise_money``)."""
    text = text.str.replace_many([" ", "\u00a0"], ["", ""])
    comma = text.str.replace_many([".", ","], ["", "."])
    result = pl.when(text.str.contains(",", literal=True)).then(comma)
    if decimal_comma:
        grouped = text.str.contains(f"^{values.DOT_GROUPED.pattern}$")
        result = result.when(grouped).then(text.str.replace_all(".", "", literal=True))
    return result.otherwise(text)


def _typed(spec: FieldSpec, text: pl.Expr) -> pl.Expr:
    """The typed value of a column from its cleaned text; null where the cell is empty or
    not acceptable."""
    match spec.kind:
        case Kind.TEXT:
            return text
        case Kind.CHOICE:
            mapping = {choice.lower(): choice for choice in spec.choices}
            return text.str.to_lowercase().replace_strict(
                mapping, default=None, return_dtype=pl.String
            )
        case Kind.COUNTRY:
            upper = text.str.to_uppercase()
            return pl.when(upper.is_in(_country_list())).then(upper)
        case Kind.WHOLE_NUMBER:
            return (
                pl.when(text.str.contains(f"^{values.WHOLE_NUMBER.pattern}$"))
                .then(text.cast(pl.Int32, strict=False))
                .cast(pl.Int16, strict=False)
            )
        case Kind.DATE:
            return _parse_date(text)
        case Kind.BOOL | Kind.FLAG:
            lowered = text.str.to_lowercase()
            parsed = (
                pl.when(lowered.is_in(values.TRUE_SPELLINGS))
                .then(True)
                .when(lowered.is_in(values.FALSE_SPELLINGS))
                .then(False)
            )
            if spec.kind is Kind.FLAG:  # an empty flag is no; a misspelt one stays a problem
                return pl.when(text.is_null()).then(False).otherwise(parsed)
            return parsed
        case Kind.MONEY:  # ``text`` is already normalised (``_normalise_money``)
            return pl.when(text.str.contains(f"^{values.MONEY.pattern}$")).then(
                text.cast(MONEY_DTYPE, strict=False)
            )
    raise AssertionError(f"no parser for {spec.kind}")  # pragma: no cover


def _expected(spec: FieldSpec) -> str:
    """What an unparsable cell of this column is not, for the reason."""
    match spec.kind:
        case Kind.CHOICE:
            return f"is not one of {', '.join(spec.choices)}"
        case Kind.COUNTRY:
            return "is not an ISO 3166-1 alpha-3 code (XKX Kosovo, STA stateless)"
        case Kind.DATE:
            return "is not a calendar date in YYYY-MM-DD or DD/MM/YYYY"
        case Kind.BOOL | Kind.FLAG:
            return "is not a yes/no value (true/false, 1/0, ja/nee, oui/non, yes/no)"
        case Kind.WHOLE_NUMBER:
            return "is not a whole number"
        case Kind.MONEY:
            return "is not an amount in EUR (digits, at most two decimals, no sign)"
    return ""


def _problems(spec: FieldSpec, text: pl.Expr, typed: pl.Expr, shown: pl.Expr):
    """(broken, sentence) per rule of one column: ``broken`` is true where the cell breaks
    the rule; ``sentence`` names the column and the rule (only read where broken)."""
    name = spec.name
    if spec.required:
        yield text.is_null(), pl.lit(f"{name}: empty but required")
    expected = _expected(spec)
    if expected:
        yield (
            text.is_not_null() & typed.is_null(),
            pl.format(f"{name}: '{{}}' {expected}", shown),
        )
    if spec.minimum is not None:
        below = (
            f"is before {spec.minimum}, the earliest date the contract accepts"
            if spec.kind is Kind.DATE
            else f"is below the minimum {spec.minimum}"
        )
        yield (
            (typed < pl.lit(spec.minimum)).fill_null(False),
            pl.format(f"{name}: '{{}}' {below}", shown),
        )
    if spec.maximum is not None:
        above = (
            f"is after {spec.maximum}, the latest date the contract accepts (two years ahead)"
            if spec.kind is Kind.DATE
            else f"is above the maximum {spec.maximum}"
        )
        yield (
            (typed > pl.lit(spec.maximum)).fill_null(False),
            pl.format(f"{name}: '{{}}' {above}", shown),
        )
    if spec.printable:
        yield (
            text.str.contains(values.CONTROL_CHARACTER.pattern).fill_null(False),
            pl.lit(f"{name}: {values.CONTROL_CHARACTER_PROBLEM}"),
        )
    if spec.max_length is not None:
        yield (
            (text.str.len_chars() > spec.max_length).fill_null(False),
            pl.lit(f"{name}: longer than {spec.max_length} characters"),
        )


def _join(sentences: list[pl.Expr]) -> pl.Expr:
    """Sentences joined by ``; ``, or null when there is none."""
    joined = pl.concat_str(sentences, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


_TEXT = "\x00text:"  # cleaned cells, beside the typed columns while checking
_MONEY = "\x00amount:"  # amounts' text normalised to a decimal point
_RAW = "\x00raw:"  # cells as delivered, for the reasons of the rows that break a rule
_BROKEN = "\x00broken"


@dataclass(frozen=True)
class _Plan:
    """The expressions of ``check_rows`` for one dialect, built once per process."""

    names: tuple[str, ...]
    clean: tuple[pl.Expr, ...]
    empty: tuple[pl.Expr, ...]
    money: tuple[pl.Expr, ...]
    typed: tuple[pl.Expr, ...]
    broken: pl.Expr
    shown: tuple[pl.Expr, ...]
    reason: pl.Expr


@cache
def _plan(decimal_comma: bool) -> _Plan:
    specs = field_specs()
    names = tuple(spec.name for spec in specs)

    def text(spec: FieldSpec) -> pl.Expr:
        return pl.col(_TEXT + spec.name)

    rules = [
        list(_problems(spec, text(spec), pl.col(spec.name), pl.col(_RAW + spec.name)))
        for spec in specs
    ]
    cross_field = [rule.broken.fill_null(False) for rule in CROSS_FIELD_RULES]
    field_problems = _join(
        [_join([pl.when(flag).then(sentence) for flag, sentence in column]) for column in rules]
    )
    cross = _join(
        [
            pl.when(flag).then(pl.lit(rule.message))
            for flag, rule in zip(cross_field, CROSS_FIELD_RULES, strict=True)
        ]
    )
    return _Plan(
        names=names,
        # Stripped here; the few columns with an empty cell left are then made null.
        clean=tuple(pl.col(name).str.strip_chars(WHITESPACE).alias(_TEXT + name) for name in names),
        empty=tuple((pl.col(_TEXT + name).str.len_bytes() == 0).any() for name in names),
        money=tuple(
            _normalise_money(text(spec), decimal_comma).alias(_MONEY + spec.name)
            for spec in specs
            if spec.kind is Kind.MONEY
        ),
        typed=tuple(
            _typed(
                spec, pl.col(_MONEY + spec.name) if spec.kind is Kind.MONEY else text(spec)
            ).alias(spec.name)
            for spec in specs
        ),
        broken=pl.any_horizontal([flag for column in rules for flag, _ in column] + cross_field),
        # A value a reason quotes: its first 60 characters, control characters masked.
        shown=tuple(
            pl.col(name)
            .str.slice(0, 60)
            .str.replace_all(values.CONTROL_CHARACTER.pattern, "\ufffd")
            .alias(_RAW + name)
            for name in names
        ),
        # As in pydantic, the cross-field rules speak only when every cell parsed.
        reason=pl.coalesce(field_problems, cross).alias(REASON),
    )


def check_rows(raw: pl.DataFrame, *, decimal_comma: bool = False) -> pl.DataFrame:
    """Type every contract column and state, per row, what breaks the contract.

    ``raw`` has the contract columns as text (plus any columns to carry along, such
    as ``source_row``). The result has the typed contract columns, the carried
    columns, and ``reason``: null for a valid row, else the problems joined by ``; ``.

    Each cell is cleaned once and typed once; the rules then read the typed columns,
    and only the rows that break one have their reason written.
    """
    plan = _plan(decimal_comma)
    carried = [c for c in raw.columns if c not in plan.names]
    cleaned = raw.select(*plan.clean, *carried)
    empty = cleaned.select(plan.empty).row(0)
    if any(empty):
        found = [name for name, any_empty in zip(plan.names, empty, strict=True) if any_empty]
        cleaned = cleaned.with_columns(_empty_is_null(_TEXT + name) for name in found)
    both = (
        cleaned.with_columns(plan.money)
        .with_columns(plan.typed)
        .with_columns(plan.broken.alias(_BROKEN))
    )
    bad = both.select(pl.arg_where(_BROKEN)).to_series()
    result = both.select(*plan.names, *carried)
    if bad.is_empty():
        return result.with_columns(pl.lit(None, pl.String).alias(REASON))
    subset = pl.concat([both[bad], raw[bad].select(plan.shown)], how="horizontal")
    reasons = subset.select(plan.reason).to_series()
    reason = pl.repeat(None, both.height, dtype=pl.String, eager=True).scatter(bad, reasons)
    return result.with_columns(reason.alias(REASON))


def check_dossiers(rows: pl.DataFrame, known: pl.DataFrame | None = None) -> pl.Series:
    """Cross-row rules over the rows that passed ``check_rows``.

    ``known`` holds ``dossier_id, person_id, role`` of rows already in the warehouse:
    a correction extract may repeat only part of a dossier, so the dossier is judged
    as it will stand after this file (its rows replacing the warehouse's).
    Returns, aligned with ``rows``, the reason a row breaks a cross-row rule, or null.
    """
    keys = ["dossier_id", "person_id"]
    frame = rows.select(*keys, "role", "annex_parent_id", pl.len().over(keys).alias("copies"))
    unique = frame.filter(pl.col("copies") == 1)
    merged = unique.select(keys + ["role"])
    if known is not None and known.height:
        earlier = known.select(keys + ["role"]).join(unique.select(keys), on=keys, how="anti")
        merged = pl.concat([merged, earlier])
    principals = merged.group_by("dossier_id").agg(
        (pl.col("role") == "principal").sum().alias("principals")
    )
    persons = merged.select(
        pl.col("dossier_id"),
        pl.col("person_id").alias("annex_parent_id"),
        pl.lit(True).alias("found"),
    )
    judged = frame.join(principals, on="dossier_id", how="left", maintain_order="left").join(
        persons, on=["dossier_id", "annex_parent_id"], how="left", maintain_order="left"
    )
    return judged.select(_dossier_reason()).to_series()


@cache
def _dossier_reason() -> pl.Expr:
    duplicate = pl.format("(dossier_id, person_id) appears {} times in this file", pl.col("copies"))
    principal = pl.format(
        "dossier has {} principals (exactly one required)", pl.col("principals").fill_null(0)
    )
    parent = pl.format(
        "annex_parent_id '{}' is not a person in the same dossier", pl.col("annex_parent_id")
    )
    return _join(
        [
            pl.when(pl.col("copies") > 1).then(duplicate),
            pl.when((pl.col("copies") == 1) & (pl.col("principals").fill_null(0) != 1)).then(
                principal
            ),
            pl.when(
                (pl.col("copies") == 1)
                & (pl.col("role") == "child")
                & pl.col("annex_parent_id").is_not_null()
                & pl.col("found").is_null()
            ).then(parent),
        ]
    ).alias(REASON)
