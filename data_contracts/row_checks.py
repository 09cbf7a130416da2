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

import polars as pl

from data_contracts import values
from data_contracts.countries import country_codes
from data_contracts.cross_field_rules import CROSS_FIELD_RULES
from data_contracts.row_model import FieldSpec, Kind, field_specs

REASON = "reason"
MONEY_DTYPE = pl.Decimal(14, 2)
WHITESPACE = values.WHITESPACE


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars(WHITESPACE)
    return pl.when(text.str.len_bytes() > 0).then(text)


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
    text = text.str.replace_all(" ", "", literal=True).str.replace_all("\u00a0", "", literal=True)
    comma = text.str.replace_all(".", "", literal=True).str.replace_all(",", ".", literal=True)
    result = pl.when(text.str.contains(",", literal=True)).then(comma)
    if decimal_comma:
        grouped = text.str.contains(f"^{values.DOT_GROUPED.pattern}$")
        result = result.when(grouped).then(text.str.replace_all(".", "", literal=True))
    return result.otherwise(text)


def _typed(spec: FieldSpec, decimal_comma: bool) -> pl.Expr:
    """The typed value of a column; null where the cell is empty or not acceptable."""
    text = _clean(spec.name)
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
            return pl.when(upper.is_in(sorted(country_codes()))).then(upper)
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
        case Kind.MONEY:
            money = _normalise_money(text, decimal_comma)
            return pl.when(money.str.contains(f"^{values.MONEY.pattern}$")).then(
                money.cast(MONEY_DTYPE, strict=False)
            )
    raise AssertionError(f"no parser for {spec.kind}")  # pragma: no cover


def _problem(spec: FieldSpec, typed: pl.Expr) -> pl.Expr:
    """A sentence naming the column and the rule, or null when the cell is fine."""
    text = _clean(spec.name)
    shown = pl.col(spec.name).str.slice(0, 60)
    unparsed = text.is_not_null() & typed.is_null()
    problems = []
    if spec.required:
        problems.append(pl.when(text.is_null()).then(pl.lit(f"{spec.name}: empty but required")))
    match spec.kind:
        case Kind.CHOICE:
            expected = f"is not one of {', '.join(spec.choices)}"
        case Kind.COUNTRY:
            expected = "is not an ISO 3166-1 alpha-3 code (XKX Kosovo, STA stateless)"
        case Kind.DATE:
            expected = "is not a calendar date in YYYY-MM-DD or DD/MM/YYYY"
        case Kind.BOOL | Kind.FLAG:
            expected = "is not a yes/no value (true/false, 1/0, ja/nee, oui/non, yes/no)"
        case Kind.WHOLE_NUMBER:
            expected = "is not a whole number"
        case Kind.MONEY:
            expected = "is not an amount in EUR (digits, at most two decimals, no sign)"
        case _:
            expected = ""
    if expected:
        problems.append(pl.when(unparsed).then(pl.format(f"{spec.name}: '{{}}' {expected}", shown)))
    if spec.minimum is not None:
        problems.append(
            pl.when(typed < spec.minimum).then(
                pl.format(f"{spec.name}: '{{}}' is below the minimum {spec.minimum}", shown)
            )
        )
    if spec.maximum is not None:
        problems.append(
            pl.when(typed > spec.maximum).then(
                pl.format(f"{spec.name}: '{{}}' is above the maximum {spec.maximum}", shown)
            )
        )
    if spec.max_length is not None:
        problems.append(
            pl.when(text.str.len_chars() > spec.max_length).then(
                pl.lit(f"{spec.name}: longer than {spec.max_length} characters")
            )
        )
    return _join(problems)


def _join(sentences: list[pl.Expr]) -> pl.Expr:
    """Sentences joined by ``; ``, or null when there is none."""
    joined = pl.concat_str(sentences, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def check_rows(raw: pl.DataFrame, *, decimal_comma: bool = False) -> pl.DataFrame:
    """Type every contract column and state, per row, what breaks the contract.

    ``raw`` has the contract columns as text (plus any columns to carry along, such
    as ``source_row``). The result has the typed contract columns, the carried
    columns, and ``reason``: null for a valid row, else the problems joined by ``; ``.
    """
    specs = field_specs()
    typed = {spec.name: _typed(spec, decimal_comma) for spec in specs}
    field_problems = _join([_problem(spec, typed[spec.name]) for spec in specs])
    carried = [c for c in raw.columns if c not in typed]
    checked = raw.lazy().select(
        [expr.alias(name) for name, expr in typed.items()]
        + [pl.col(c) for c in carried]
        + [field_problems.alias(REASON)]
    )
    cross = _join([pl.when(rule.broken).then(pl.lit(rule.message)) for rule in CROSS_FIELD_RULES])
    return checked.with_columns(pl.coalesce(REASON, cross).alias(REASON)).collect()


def check_dossiers(rows: pl.DataFrame, known: pl.DataFrame | None = None) -> pl.Series:
    """Cross-row rules over the rows that passed ``check_rows``.

    ``known`` holds ``dossier_id, person_id, role`` of rows already in the warehouse:
    a correction extract may repeat only part of a dossier, so the dossier is judged
    as it will stand after this file (its rows replacing the warehouse's).
    Returns, aligned with ``rows``, the reason a row breaks a cross-row rule, or null.
    """
    keys = ["dossier_id", "person_id"]
    copies = pl.len().over(keys)
    frame = rows.select(keys + ["role", "annex_parent_id"]).with_columns(
        copies.alias("copies"), pl.int_range(pl.len()).alias("__i")
    )
    unique = frame.filter(pl.col("copies") == 1)
    merged = unique.select(keys + ["role"])
    if known is not None and known.height:
        merged = pl.concat(
            [merged, known.select(keys + ["role"]).join(unique.select(keys), on=keys, how="anti")]
        )
    principals = merged.group_by("dossier_id").agg(
        (pl.col("role") == "principal").sum().alias("principals")
    )
    persons = merged.select(
        pl.col("dossier_id"),
        pl.col("person_id").alias("annex_parent_id"),
        pl.lit(True).alias("found"),
    )
    judged = (
        frame.join(principals, on="dossier_id", how="left")
        .join(persons, on=["dossier_id", "annex_parent_id"], how="left")
        .sort("__i")
    )
    duplicate = pl.format("(dossier_id, person_id) appears {} times in this file", pl.col("copies"))
    principal = pl.format(
        "dossier has {} principals (exactly one required)", pl.col("principals").fill_null(0)
    )
    parent = pl.format(
        "annex_parent_id '{}' is not a person in the same dossier", pl.col("annex_parent_id")
    )
    reason = _join(
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
    )
    return judged.select(reason.alias(REASON)).to_series()
