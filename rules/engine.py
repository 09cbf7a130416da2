"""The vectorised rule engine: every person under a table, in polars, in integer cents.

``prepare`` derives, once, what every table needs (dates as day numbers, country
attributes, household and five-year facts); ``evaluate_cents`` applies one table to
a prepared frame with a single polars ``select``; ``evaluate`` is the same with EUR
amounts as ``Decimal(12, 2)``. ``docs/rules-semantics.md`` is the specification and
``rules/reference.py`` the plain-Python twin the property tests compare against.

No Python loop over rows: parameters dated within a table become ``when/then``
chains on the reference date; country lists become lookups by country index.
"""

from __future__ import annotations

from datetime import date
from functools import reduce

import numpy as np
import polars as pl

from data_contracts.countries import countries
from data_contracts.row_model import PROCEDURE_PHASES, REFUSAL_PHASES
from rules.budget_lines import AMOUNT_COLUMNS, REINTEGRATION_LINES, TOTAL_LINES
from rules.ids import RULE_BIT, rules_text
from rules.parameters import (
    ParameterDateError,
    Table,
    applicable_rules,
    built_in_table,
)

KEY_COLUMNS = ("dossier_id", "person_id")
EUR = pl.Decimal(12, 2)
EPOCH = date(1970, 1, 1)
EARLY_PHASES = ("dvz", "cgvs_pending", "dublin", "annex_26quater")
DUBLIN_PHASES = ("dublin", "annex_26quater")
PHASES = PROCEDURE_PHASES
PHASE = pl.Enum(PHASES)
FOLLOWED = ("application_type", "procedure_phase", "decision_notified_on", "belgium_responsible")
COUNTRY_CODES: tuple[str, ...] = tuple(countries()["iso3"].to_list())
COUNTRY = pl.Enum(COUNTRY_CODES)


def _day(value: date) -> int:
    return (value - EPOCH).days


def _country_index(column: str) -> pl.Expr:
    return pl.col(column).cast(COUNTRY).to_physical().cast(pl.Int32)


def _attribute(name: str, index: str) -> pl.Expr:
    """A countries.csv attribute looked up by country index."""
    return pl.lit(countries()[name]).gather(pl.col(index))


# ---------------------------------------------------------------------------
# Preparation: table-independent facts, computed once for all tables
# ---------------------------------------------------------------------------


def prepare(persons: pl.DataFrame, history: pl.DataFrame | None = None) -> pl.DataFrame:
    """Derive the columns every table needs (one row per input row, same order)."""
    codes = pl.concat([persons["nationality"], persons["return_country"]])
    unknown = codes.filter(~codes.is_in(COUNTRY_CODES)).unique().to_list()
    if unknown:
        raise ValueError(f"unknown country codes {sorted(map(str, unknown))[:10]}")
    frame = pl.concat([persons, _followed_fields(persons)], how="horizontal").with_columns(
        _prior_support(persons, history).alias("_prior_support"),
        pl.int_range(pl.len(), dtype=pl.Int32).alias("_row"),
    )
    flags = ["pregnant", "ex_unaccompanied_minor", "single_parent", "trafficking_victim"]
    nonmedical = reduce(
        lambda a, b: a + b,
        [pl.col(f).fill_null(False).cast(pl.Int8) for f in flags]
        + [(pl.col("age_at_registration") >= 65).cast(pl.Int8)],
    )
    amaar = (pl.col("amaar_estimated_cost_eur").fill_null(0) * 100).cast(pl.Int64)
    reg = pl.col("registration_date").cast(pl.Int32)
    return frame.select(
        pl.col("dossier_id"),
        pl.col("person_id"),
        pl.col("_row").first().over("dossier_id").alias("_dossier"),
        (pl.col("role") == "principal").alias("_principal"),
        reg.alias("_reg"),
        pl.coalesce("departure_date", "registration_date").cast(pl.Int32).alias("_dep"),
        (pl.col("age_at_registration") < 18).alias("_minor"),
        nonmedical.alias("_nonmedical"),
        pl.col("medical_basic").fill_null(False).alias("_medical"),
        amaar.alias("_amaar"),
        pl.col("became_belgian").fill_null(False).alias("_belgian"),
        _whole_years_between("_prior_support", "registration_date").alias("_support_years"),
        (pl.col("residence_status") == "applicant").alias("_applicant"),
        pl.col("protection_in_other_member_state").fill_null(False).alias("_mstatus"),
        pl.col("_follower"),
        (pl.col("_type") == "first").fill_null(False).alias("_first_application"),
        pl.col("_phase").cast(PHASE).to_physical().cast(pl.Int8).fill_null(-1).alias("_phase"),
        pl.col("_decision").cast(pl.Int32),
        pl.col("_belgium").fill_null(False),
        _country_index("nationality").alias("_nat"),
        _country_index("return_country").alias("_rc"),
    ).with_columns(
        _attribute("eu15", "_nat").alias("_eu15"),
        _attribute("visa_required", "_nat").alias("_visa_nat"),
        _attribute("visa_required", "_rc").alias("_visa_rc"),
        _attribute("latin_america", "_rc").alias("_latam_rc"),
        _attribute("balkans", "_rc").alias("_balkan_rc"),
        ((pl.col("_nonmedical") > 0) | pl.col("_medical") | (pl.col("_amaar") > 0)).alias(
            "_vulnerable"
        ),
    )


def _whole_years_between(earlier: str, later: str) -> pl.Expr:
    """Whole years from ``earlier`` to ``later`` (largest n with earlier + n years <= later).

    ``n < w`` exactly when ``earlier > later - w years`` (29 February -> 28 February):
    the five-year test of the semantics, without date arithmetic per table.
    """
    a, b = pl.col(earlier), pl.col(later)
    before_anniversary = (b.dt.month() < a.dt.month()) | (
        (b.dt.month() == a.dt.month()) & (b.dt.day() < a.dt.day())
    )
    years = b.dt.year().cast(pl.Int32) - a.dt.year().cast(pl.Int32)
    return years - before_anniversary.cast(pl.Int32)


def _followed_fields(persons: pl.DataFrame) -> pl.DataFrame:
    """A child on a parent's annex with no phase of its own follows that parent.

    Returns ``_follower`` and the effective ``_type``, ``_phase``, ``_decision`` and
    ``_belgium``. Only the followers and the persons they name are joined; the
    result is scattered back by row number.
    """
    is_follower = persons.select(
        pl.col("annex_parent_id").is_not_null() & pl.col("procedure_phase").is_null()
    ).to_series()
    followers = persons.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), "dossier_id", "annex_parent_id"
    ).filter(is_follower)
    named = followers["annex_parent_id"].unique()
    parents = (
        persons.filter(pl.col("person_id").is_in(named.implode()))
        .select(
            "dossier_id",
            pl.col("person_id").alias("annex_parent_id"),
            *[pl.col(c).alias(f"_parent_{c}") for c in FOLLOWED],
        )
        .unique(subset=["dossier_id", "annex_parent_id"], keep="first")
    )
    looked_up = followers.join(parents, on=["dossier_id", "annex_parent_id"], how="left")
    effective = {"_follower": is_follower}
    for column, short in zip(FOLLOWED, ("_type", "_phase", "_decision", "_belgium"), strict=True):
        values = persons[column].clone()
        if looked_up.height:
            values.scatter(looked_up["_i"], looked_up[f"_parent_{column}"])
        effective[short] = values
    return pl.DataFrame(effective)


def _prior_support(persons: pl.DataFrame, history: pl.DataFrame | None) -> pl.Series:
    """Latest earlier support on or before registration: the date field or another dossier.

    Only persons whose ``person_id`` occurs in more than one row (of the input and
    the history) are joined, so the cost is in the repeat returners.
    """
    stated = persons.select(
        pl.when(pl.col("previous_return_support_date") <= pl.col("registration_date")).then(
            pl.col("previous_return_support_date")
        )
    ).to_series()
    pool = persons.select("person_id", "dossier_id", "dossier_status", "departure_date")
    if history is not None and history.height:
        pool = pl.concat([pool, history.select(pool.columns)])
    repeated_ids = pool.filter(pl.col("person_id").is_duplicated())["person_id"].unique()
    if repeated_ids.is_empty():
        return stated
    departed = pool.filter(
        pl.col("person_id").is_in(repeated_ids.implode())
        & (pl.col("dossier_status") == "departed")
        & pl.col("departure_date").is_not_null()
    ).select(
        "person_id", pl.col("dossier_id").alias("_other"), pl.col("departure_date").alias("_d")
    )
    earlier = (
        persons.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"),
            "person_id",
            "dossier_id",
            "registration_date",
        )
        .filter(pl.col("person_id").is_in(repeated_ids.implode()))
        .join(departed, on="person_id")
        .filter(
            (pl.col("_other") != pl.col("dossier_id"))
            & (pl.col("_d") <= pl.col("registration_date"))
        )
        .group_by("_i")
        .agg(pl.col("_d").max())
    )
    latest = stated.clone()
    if earlier.height:
        current = latest.gather(earlier["_i"])
        best = pl.select(pl.max_horizontal(current, earlier["_d"])).to_series()
        latest.scatter(earlier["_i"], best)
    return latest


# ---------------------------------------------------------------------------
# Parameters as expressions of the reference date
# ---------------------------------------------------------------------------


class _Params:
    """Turns dated parameters into polars expressions on the reference date ``_ref``."""

    def __init__(self, table: Table, earliest_reference: date | None):
        self.table = table
        self.earliest = earliest_reference

    def _changes(self, name: str) -> list[tuple[date, object]]:
        parameter = self.table.parameters[name]
        changes = parameter.changes
        if self.earliest is not None and changes[0][0] > self.earliest:
            parameter.at(self.earliest)  # raises ParameterDateError naming both
        return changes

    def _chain(self, name: str, to_expr) -> pl.Expr:
        changes = self._changes(name)
        expr = to_expr(changes[0][1])
        for since, value in changes[1:]:
            expr = pl.when(pl.col("_ref") >= _day(since)).then(to_expr(value)).otherwise(expr)
        return expr

    def cents(self, name: str) -> pl.Expr:
        return self._chain(name, lambda v: pl.lit(int(v * 100), pl.Int64))

    def per_person(self, adult: str, minor: str) -> pl.Expr:
        return pl.when(pl.col("_minor")).then(self.cents(minor)).otherwise(self.cents(adult))

    def day(self, name: str) -> pl.Expr:
        return self._chain(name, lambda v: pl.lit(_day(v), pl.Int32))

    def number(self, name: str) -> pl.Expr:
        return self._chain(name, lambda v: pl.lit(v, pl.Int32))

    def flag(self, name: str) -> pl.Expr:
        return self._chain(name, lambda v: pl.lit(bool(v)))

    def contains(self, name: str, index: str) -> pl.Expr:
        """Whether the country at ``index`` is in the dated country list ``name``."""
        if name not in self.table.parameters:
            return pl.lit(False)

        def lookup(codes) -> pl.Expr:
            if not codes:
                return pl.lit(False)
            member = pl.Series([code in codes for code in COUNTRY_CODES], dtype=pl.Boolean)
            return pl.lit(member).gather(pl.col(index))

        return self._chain(name, lookup)

    def bit(self, name: str) -> int:
        return RULE_BIT[self.table.parameters[name].rule]


def _bits(*pairs: tuple[pl.Expr, int]) -> pl.Expr:
    terms = [
        pl.when(cond).then(pl.lit(bit, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
        for cond, bit in pairs
    ]
    return reduce(lambda a, b: a | b, terms)


def _codes(phases: tuple[str, ...]) -> list[int]:
    return [PHASES.index(phase) for phase in phases]


# ---------------------------------------------------------------------------
# One table
# ---------------------------------------------------------------------------


def _dossier_has_reintegration(amounts: pl.DataFrame) -> pl.Series:
    """Per row, whether any person of its dossier gets reintegration support.

    A numpy scatter over the dossier's first-row index: far cheaper than a window.
    """
    dossier = amounts["_dossier"].to_numpy()
    receives = amounts["_reintegration"].to_numpy() > 0
    any_in_dossier = np.zeros(len(dossier), dtype=bool)
    any_in_dossier[dossier[receives]] = True
    return pl.Series("_fee_due", any_in_dossier[dossier])


def evaluate_cents(prepared: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Apply one table to a prepared frame; amounts in integer cents, ``_mask`` of rule bits.

    Computed in stages (facts, then amounts, then split and totals) so that a fact
    used by many amounts is evaluated once.
    """
    ref = pl.col("_reg").clip(lower_bound=_day(table.period.start))
    if table.period.end is not None:
        ref = ref.clip(upper_bound=_day(table.period.end))
    frame = prepared.with_columns(ref.alias("_ref"))
    earliest = None
    if frame.height:
        earliest = date.fromordinal(EPOCH.toordinal() + int(frame["_ref"].min()))
    p = _Params(table, earliest)
    r = table.rule_ids
    col = pl.col

    # Stage 1: per-person facts under this table.
    frame = (
        frame.with_columns(
            (col("_support_years") < p.number("five_year_window")).fill_null(False).alias("recent"),
            p.contains("premium_abolished_nationalities", "_nat").alias("abolished"),
            p.contains("restricted_countries", "_rc").alias("restricted"),
            p.contains("base_ended_countries", "_rc").alias("ended"),
            p.contains("base_extra_countries", "_rc").alias("extra"),
            p.contains("priority_countries", "_rc").alias("priority_country"),
            p.contains("monitored_countries", "_rc").alias("monitored"),
            (col("_visa_rc") | col("_latam_rc")).alias("by_kind"),
        )
        .with_columns(
            (~col("_belgian") & col("recent")).alias("five_years"),
            (~col("_belgian") & ~col("recent") & col("_eu15")).alias("eu15"),
            (~col("_belgian") & ~col("recent") & ~col("_eu15")).alias("supported"),
            (col("by_kind") | col("extra")).alias("qualifies"),
        )
        .with_columns(
            (col("supported") | (col("eu15") & col("_vulnerable"))).alias("ticket"),
            (~col("restricted") & ~col("ended") & col("qualifies")).alias("base_ok"),
        )
        .with_columns(
            (col("supported") & col("base_ok")).alias("eligible"),
        )
    )
    has_category = "category" in r
    category = (
        pl.when(col("base_ok") & col("priority_country"))
        .then(1)
        .when(col("base_ok"))
        .then(2)
        .when(col("ended"))
        .then(3)
        .cast(pl.Int8)
        if has_category
        else pl.lit(None, pl.Int8)
    )
    supported, eligible = col("supported"), col("eligible")

    # Degressive top-up (2026).
    degressive = pl.lit(0, pl.Int64)
    degressive_bits: list[tuple[pl.Expr, int]] = []
    if table.has_degressive:
        phase = col("_phase")
        dublin_like = phase.is_in(_codes(DUBLIN_PHASES))
        within_grace = (
            (col("_reg") - col("_decision")) <= p.number("refusal_grace_days")
        ).fill_null(False)
        frame = frame.with_columns(
            (col("_first_application") & ~col("_mstatus") & (~dublin_like | col("_belgium"))).alias(
                "who"
            ),
            (
                (col("_reg") >= p.day("degressive_registered_from"))
                & (col("_dep") >= p.day("degressive_departed_from"))
            ).alias("when"),
            (eligible & col("_applicant")).alias("target"),
            pl.when(phase.is_in(_codes(EARLY_PHASES)))
            .then(p.cents("degressive_early"))
            .when(phase == PHASES.index("rvv_pending"))
            .then(p.cents("degressive_late"))
            .when(phase.is_in(_codes(REFUSAL_PHASES)) & within_grace)
            .then(p.cents("degressive_late"))
            .otherwise(p.cents("degressive_after_grace"))
            .alias("degressive_amount"),
        ).with_columns((col("target") & col("who") & col("when")).alias("granted"))
        degressive = pl.when(col("granted")).then(col("degressive_amount")).otherwise(0)
        who_bit, when_bit, amount_bit, child_bit = (
            RULE_BIT[x]
            for x in ("T26-DEGR-WHO", "T26-DEGR-WHEN", "T26-DEGR-AMOUNT", "T26-DEGR-CHILD")
        )
        degressive_bits = [
            (col("target") & ~col("who"), who_bit),
            (col("target") & col("who") & ~col("when"), when_bit),
            (col("granted"), who_bit | when_bit | amount_bit),
            (col("granted") & col("_follower"), child_bit),
        ]

    # Stage 2: the budget lines, and the rule bits that explain them.
    nonmedical = col("_nonmedical").cast(pl.Int64)
    per_vulnerability = p.cents("vulnerability_topup")
    vulnerability = (
        pl.when(supported & (nonmedical > 0))
        .then(
            pl.when(p.flag("vulnerability_cumulative"))
            .then(per_vulnerability * nonmedical)
            .otherwise(per_vulnerability)
        )
        .otherwise(0)
    )
    visa_premium = p.per_person("premium_visa_required_adult", "premium_visa_required_minor")
    free_premium = p.per_person("premium_visa_free_adult", "premium_visa_free_minor")
    premium_due = supported & ~col("abolished")
    optional_bit = {
        name: p.bit(name) if name in table.parameters else 0
        for name in ("base_extra_countries", "monitored_countries")
    }
    amounts = frame.select(
        col("_dossier"),
        col("_principal"),
        col("_minor"),
        col("_ref"),
        col("ticket").alias("ticket_eligible"),
        category.alias("category"),
        pl.when(col("ticket"))
        .then(p.cents("transport_allowance"))
        .otherwise(0)
        .alias("transport_allowance"),
        pl.when(premium_due)
        .then(pl.when(col("_visa_nat")).then(visa_premium).otherwise(free_premium))
        .otherwise(0)
        .alias("return_premium"),
        pl.when(eligible)
        .then(p.per_person("base_adult", "base_minor"))
        .otherwise(0)
        .alias("reintegration_base"),
        pl.when(eligible & col("priority_country"))
        .then(p.per_person("priority_adult", "priority_minor"))
        .otherwise(0)
        .alias("priority_topup"),
        degressive.alias("degressive_topup"),
        vulnerability.alias("vulnerability_topup"),
        pl.when(supported & col("_medical"))
        .then(p.cents("medical_basic_topup"))
        .otherwise(0)
        .alias("medical_topup"),
        pl.when(supported).then(col("_amaar")).otherwise(0).alias("amaar"),
        pl.when(supported & col("_balkan_rc"))
        .then(p.cents("balkan_admin_support"))
        .otherwise(0)
        .alias("balkan_admin_support"),
        _bits(
            (col("_belgian"), RULE_BIT["C-EXCL-BE"]),
            (col("five_years"), RULE_BIT["C-EXCL-5Y"]),
            (col("eu15"), RULE_BIT["C-EXCL-EU15"]),
            (col("ticket"), RULE_BIT["C-TICKET"] | RULE_BIT["C-TRANSPORT"]),
            (supported & col("abolished"), p.bit("premium_abolished_nationalities")),
            (premium_due & col("_visa_nat"), p.bit("premium_visa_required_adult")),
            (premium_due & ~col("_visa_nat"), p.bit("premium_visa_free_adult")),
            (supported & col("restricted"), p.bit("restricted_countries")),
            (supported & ~col("restricted") & col("ended"), p.bit("base_ended_countries")),
            (eligible, p.bit("base_adult")),
            (eligible & ~col("by_kind") & col("extra"), optional_bit["base_extra_countries"]),
            (
                supported & ~col("restricted") & ~col("ended") & ~col("qualifies"),
                RULE_BIT[r["no_base_without_category"]],
            ),
            (eligible & col("priority_country"), p.bit("priority_adult")),
            (supported, RULE_BIT[r["category"]] if has_category else 0),
            *degressive_bits,
            (supported & (nonmedical > 0), p.bit("vulnerability_topup")),
            (supported & col("_medical"), RULE_BIT["C-MED-BASIC"]),
            (supported & (col("_amaar") > 0), RULE_BIT["C-MED-AMAAR"]),
            (supported & col("_balkan_rc"), p.bit("balkan_admin_support")),
            (supported & col("monitored"), optional_bit["monitored_countries"]),
        ).alias("_mask"),
    )

    # Stage 3: reintegration split, fee, total.
    reintegration = reduce(lambda a, b: a + b, [col(c) for c in REINTEGRATION_LINES])
    cap = p.per_person("pap_cash_adult", "pap_cash_minor")
    amounts = amounts.with_columns(reintegration.alias("_reintegration"))
    fee_due = _dossier_has_reintegration(amounts) & col("_principal")
    amounts = amounts.with_columns(
        pl.min_horizontal(cap, col("_reintegration")).alias("pap_cash"),
        pl.when(fee_due)
        .then(p.cents("partner_service_fee"))
        .otherwise(0)
        .alias("partner_service_fee"),
    ).with_columns(
        (col("_reintegration") - col("pap_cash")).alias("prp_in_kind"),
        reduce(lambda a, b: a + b, [col(c) for c in TOTAL_LINES]).alias("total"),
        (
            col("_mask")
            | pl.when(col("_reintegration") > 0).then(p.bit("pap_cash_adult")).otherwise(0)
            | pl.when(fee_due).then(RULE_BIT["C-FEE"]).otherwise(0)
        ).alias("_mask"),
    )
    return pl.concat(
        [
            prepared.select(KEY_COLUMNS),
            amounts.select(
                pl.lit(table.name, pl.Categorical).alias("table"),
                pl.lit(table.name, pl.Categorical).alias("applied_table"),
                "category",
                "ticket_eligible",
                *[col(c).cast(pl.Int64) for c in AMOUNT_COLUMNS],
                "_mask",
            ),
        ],
        how="horizontal",
    )


# ---------------------------------------------------------------------------
# Which table applies, and the public entry points
# ---------------------------------------------------------------------------


def choose_applicable(
    prepared: pl.DataFrame, before: pl.DataFrame, after: pl.DataFrame
) -> pl.DataFrame:
    """Row by row, the evaluation of the table that applies (A-2026, A-TRANSITION)."""
    rules = applicable_rules()
    new_from = _day(rules.new_table_from.value)
    until = _day(rules.transition_departure_until.value)
    registered_new = prepared["_reg"] >= new_from
    late_departure = prepared["_dep"] > until
    use_after = registered_new | late_departure
    choice = pl.DataFrame({"_after": use_after, "_new": registered_new})
    columns = ["applied_table", "category", "ticket_eligible", *AMOUNT_COLUMNS, "_mask"]
    chosen = pl.concat(
        [choice, before.select(columns).rename(lambda c: f"b{c}"), after.select(columns)],
        how="horizontal",
    ).select(
        *[
            pl.when(pl.col("_after")).then(pl.col(c)).otherwise(pl.col(f"b{c}")).alias(c)
            for c in columns
            if c != "_mask"
        ],
        (
            pl.when(pl.col("_after")).then(pl.col("_mask")).otherwise(pl.col("b_mask"))
            | pl.when(pl.col("_new")).then(RULE_BIT["A-2026"]).otherwise(RULE_BIT["A-TRANSITION"])
        ).alias("_mask"),
    )
    return pl.concat(
        [
            prepared.select(KEY_COLUMNS),
            chosen.with_columns(pl.lit("applicable", pl.Categorical).alias("table")),
        ],
        how="horizontal",
    ).select(
        *KEY_COLUMNS,
        "table",
        "applied_table",
        "category",
        "ticket_eligible",
        *AMOUNT_COLUMNS,
        "_mask",
    )


def with_rules_text(evaluated: pl.DataFrame) -> pl.DataFrame:
    """Replace the rule bit mask by the ``;``-separated ids (one lookup per distinct mask)."""
    masks = evaluated["_mask"].unique().to_list()
    text = {mask: rules_text(mask) for mask in masks}
    return evaluated.with_columns(
        pl.col("_mask").replace_strict(text, return_dtype=pl.String).alias("rules")
    ).drop("_mask")


def to_eur(evaluated: pl.DataFrame) -> pl.DataFrame:
    """Integer cents → EUR ``Decimal(12, 2)`` (exact: cents / 100 rounds back to the cent)."""
    return evaluated.with_columns((pl.col(c) / 100).cast(EUR) for c in AMOUNT_COLUMNS)


def evaluate(
    persons: pl.DataFrame, table: Table, history: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every person under ``table``: EUR amounts, category, ticket, ``rules`` text."""
    return to_eur(with_rules_text(evaluate_cents(prepare(persons, history), table)))


def evaluate_applicable(persons: pl.DataFrame, history: pl.DataFrame | None = None) -> pl.DataFrame:
    prepared = prepare(persons, history)
    rules = applicable_rules()
    before = evaluate_cents(prepared, built_in_table(rules.before_table))
    after = evaluate_cents(prepared, built_in_table(rules.after_table))
    return to_eur(with_rules_text(choose_applicable(prepared, before, after)))


__all__ = [
    "AMOUNT_COLUMNS",
    "ParameterDateError",
    "choose_applicable",
    "evaluate",
    "evaluate_applicable",
    "evaluate_cents",
    "prepare",
    "to_eur",
    "with_rules_text",
]
