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

from collections.abc import Iterable
from datetime import date
from functools import reduce

import polars as pl

from data_contracts.countries import countries
from rules.ids import RULE_BIT, rules_text
from rules.parameters import (
    Parameter,
    ParameterDateError,
    Table,
    applicable_rules,
    built_in_table,
)

AMOUNT_COLUMNS = (
    "transport_allowance",
    "return_premium",
    "reintegration_base",
    "priority_topup",
    "degressive_topup",
    "vulnerability_topup",
    "medical_topup",
    "amaar",
    "balkan_admin_support",
    "partner_service_fee",
    "pap_cash",
    "prp_in_kind",
    "total",
)
REINTEGRATION_LINES = (
    "reintegration_base",
    "priority_topup",
    "degressive_topup",
    "vulnerability_topup",
    "medical_topup",
)
TOTAL_LINES = tuple(c for c in AMOUNT_COLUMNS if c not in ("pap_cash", "prp_in_kind", "total"))
KEY_COLUMNS = ("dossier_id", "person_id")
EUR = pl.Decimal(12, 2)
EPOCH = date(1970, 1, 1)
EARLY_PHASES = ("dvz", "cgvs_pending", "dublin", "annex_26quater")
DUBLIN_PHASES = ("dublin", "annex_26quater")
REFUSAL_PHASES = ("cgvs_refused", "rvv_refused")
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
    unknown = (
        pl.concat([persons["nationality"], persons["return_country"]])
        .filter(
            ~pl.concat([persons["nationality"], persons["return_country"]]).is_in(COUNTRY_CODES)
        )
        .unique()
        .to_list()
    )
    if unknown:
        raise ValueError(f"unknown country codes {sorted(map(str, unknown))[:10]}")
    frame = persons.with_columns(_followed_fields(persons)).with_columns(
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
        pl.col("registration_date").alias("_reg_date"),
        (pl.col("age_at_registration") < 18).alias("_minor"),
        nonmedical.alias("_nonmedical"),
        pl.col("medical_basic").fill_null(False).alias("_medical"),
        amaar.alias("_amaar"),
        pl.col("became_belgian").fill_null(False).alias("_belgian"),
        pl.col("_prior_support"),
        (pl.col("residence_status") == "applicant").alias("_applicant"),
        pl.col("protection_in_other_member_state").fill_null(False).alias("_mstatus"),
        pl.col("_follower"),
        pl.col("_type"),
        pl.col("_phase"),
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


def _followed_fields(persons: pl.DataFrame) -> list[pl.Expr]:
    """A child on a parent's annex with no phase of its own follows that parent."""
    follower = pl.col("annex_parent_id").is_not_null() & pl.col("procedure_phase").is_null()
    parents = persons.select(
        pl.col("dossier_id"),
        pl.col("person_id").alias("annex_parent_id"),
        *[pl.col(c).alias(f"_parent_{c}") for c in FOLLOWED],
    ).unique(subset=["dossier_id", "annex_parent_id"], keep="first")
    looked_up = persons.select("dossier_id", "annex_parent_id").join(
        parents, on=["dossier_id", "annex_parent_id"], how="left", maintain_order="left"
    )
    short = {
        "application_type": "_type",
        "procedure_phase": "_phase",
        "decision_notified_on": "_decision",
        "belgium_responsible": "_belgium",
    }
    return [follower.alias("_follower")] + [
        pl.when(follower).then(looked_up[f"_parent_{c}"]).otherwise(pl.col(c)).alias(short[c])
        for c in FOLLOWED
    ]


def _prior_support(persons: pl.DataFrame, history: pl.DataFrame | None) -> pl.Series:
    """Latest earlier support on or before registration: the date field or another dossier.

    Only persons whose ``person_id`` occurs in more than one row are joined, so the
    cost is in the repeat returners, not in the population.
    """
    stated = persons.select(
        pl.when(pl.col("previous_return_support_date") <= pl.col("registration_date")).then(
            pl.col("previous_return_support_date")
        )
    ).to_series()
    pool = persons.select("person_id", "dossier_id", "dossier_status", "departure_date")
    if history is not None and history.height:
        pool = pl.concat([pool, history.select(pool.columns)])
    departed = pool.filter(
        (pl.col("dossier_status") == "departed") & pl.col("departure_date").is_not_null()
    ).select(
        "person_id", pl.col("dossier_id").alias("_other"), pl.col("departure_date").alias("_d")
    )
    repeated_ids = pool.filter(pl.col("person_id").is_duplicated())["person_id"].unique()
    repeat = persons.select(
        pl.int_range(pl.len()).alias("_i"), "person_id", "dossier_id", "registration_date"
    ).filter(pl.col("person_id").is_in(repeated_ids))
    earlier = (
        repeat.join(departed, on="person_id")
        .filter(
            (pl.col("_other") != pl.col("dossier_id"))
            & (pl.col("_d") <= pl.col("registration_date"))
        )
        .group_by("_i")
        .agg(pl.col("_d").max())
    )
    from_dossiers = pl.DataFrame({"_i": pl.int_range(persons.height, eager=True)}).join(
        earlier, on="_i", how="left", maintain_order="left"
    )["_d"]
    return pl.select(pl.max_horizontal(stated, from_dossiers)).to_series()


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

    def used(self) -> Iterable[Parameter]:
        return self.table.parameters.values()


def _bits(*pairs: tuple[pl.Expr, int]) -> pl.Expr:
    terms = [
        pl.when(cond).then(pl.lit(bit, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
        for cond, bit in pairs
    ]
    return reduce(lambda a, b: a | b, terms)


def _years_before(day: pl.Expr, years: pl.Expr, table_years: list[int]) -> pl.Expr:
    """``day`` minus whole years (29 Feb → 28 Feb), for the window values in the table."""
    expr = pl.lit(None, pl.Int32)
    for n in sorted(set(table_years)):
        shifted = pl.col("_reg_date").dt.offset_by(f"-{n}y").cast(pl.Int32)
        expr = pl.when(years == n).then(shifted).otherwise(expr)
    return expr


# ---------------------------------------------------------------------------
# One table
# ---------------------------------------------------------------------------


def evaluate_cents(prepared: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Apply one table to a prepared frame; amounts in integer cents, ``_mask`` of rule bits."""
    period_start, period_end = _day(table.period.start), table.period.end
    ref = pl.col("_reg").clip(lower_bound=period_start)
    if period_end is not None:
        ref = ref.clip(upper_bound=_day(period_end))
    frame = prepared.with_columns(ref.alias("_ref"))
    earliest = None
    if frame.height:
        earliest_day = frame["_ref"].min()
        earliest = date.fromordinal(EPOCH.toordinal() + int(earliest_day))
    p = _Params(table, earliest)
    r = table.rule_ids

    # Exclusions, in order: became Belgian, five years, EU-15.
    window = p.number("five_year_window")
    years = [v for _, v in table.parameters["five_year_window"].changes]
    recent = (pl.col("_prior_support") > _years_before(pl.col("_reg"), window, years)).fill_null(
        False
    )
    belgian = pl.col("_belgian")
    five_years = ~belgian & recent
    eu15 = ~belgian & ~recent & pl.col("_eu15")
    supported = ~belgian & ~recent & ~pl.col("_eu15")
    ticket = supported | (eu15 & pl.col("_vulnerable"))

    # Return premium (by nationality).
    abolished = p.contains("premium_abolished_nationalities", "_nat")
    visa_premium = p.per_person("premium_visa_required_adult", "premium_visa_required_minor")
    free_premium = p.per_person("premium_visa_free_adult", "premium_visa_free_minor")
    premium = (
        pl.when(supported & ~abolished)
        .then(pl.when(pl.col("_visa_nat")).then(visa_premium).otherwise(free_premium))
        .otherwise(0)
    )

    # Base eligibility and category (by return country).
    restricted = p.contains("restricted_countries", "_rc")
    ended = p.contains("base_ended_countries", "_rc")
    extra = p.contains("base_extra_countries", "_rc")
    by_kind = pl.col("_visa_rc") | pl.col("_latam_rc")
    qualifies = by_kind | extra
    base_ok = ~restricted & ~ended & qualifies
    priority_country = p.contains("priority_countries", "_rc")
    eligible = supported & base_ok
    base = pl.when(eligible).then(p.per_person("base_adult", "base_minor")).otherwise(0)
    priority = (
        pl.when(eligible & priority_country)
        .then(p.per_person("priority_adult", "priority_minor"))
        .otherwise(0)
    )
    has_category = "category" in r
    category = (
        pl.when(base_ok & priority_country)
        .then(1)
        .when(base_ok)
        .then(2)
        .when(ended)
        .then(3)
        .cast(pl.Int8)
        if has_category
        else pl.lit(None, pl.Int8)
    )

    # Degressive top-up (2026).
    degressive = pl.lit(0, pl.Int64)
    degressive_bits: list[tuple[pl.Expr, int]] = []
    if table.has_degressive:
        phase = pl.col("_phase")
        who = (
            (pl.col("_type") == "first").fill_null(False)
            & ~pl.col("_mstatus")
            & (~phase.is_in(DUBLIN_PHASES).fill_null(False) | pl.col("_belgium"))
        )
        when_ = (pl.col("_reg") >= p.day("degressive_registered_from")) & (
            pl.col("_dep") >= p.day("degressive_departed_from")
        )
        target = eligible & pl.col("_applicant")
        within_grace = (
            (pl.col("_reg") - pl.col("_decision")) <= p.number("refusal_grace_days")
        ).fill_null(False)
        amount = (
            pl.when(phase.is_in(EARLY_PHASES).fill_null(False))
            .then(p.cents("degressive_early"))
            .when(phase == "rvv_pending")
            .then(p.cents("degressive_late"))
            .when(phase.is_in(REFUSAL_PHASES).fill_null(False) & within_grace)
            .then(p.cents("degressive_late"))
            .otherwise(p.cents("degressive_after_grace"))
        )
        granted = target & who & when_
        degressive = pl.when(granted).then(amount).otherwise(0)
        degr = ("T26-DEGR-WHO", "T26-DEGR-WHEN", "T26-DEGR-AMOUNT", "T26-DEGR-CHILD")
        who_bit, when_bit, amount_bit, child_bit = (RULE_BIT[x] for x in degr)
        degressive_bits = [
            (target & ~who, who_bit),
            (target & who & ~when_, when_bit),
            (granted, who_bit | when_bit | amount_bit),
            (granted & pl.col("_follower"), child_bit),
        ]

    # Vulnerability, medical, AMAAR, Balkan support.
    nonmedical = pl.col("_nonmedical").cast(pl.Int64)
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
    medical = (
        pl.when(supported & pl.col("_medical")).then(p.cents("medical_basic_topup")).otherwise(0)
    )
    amaar = pl.when(supported).then(pl.col("_amaar")).otherwise(0)
    balkan_country = pl.col("_balkan_rc")
    balkan = pl.when(supported & balkan_country).then(p.cents("balkan_admin_support")).otherwise(0)
    monitored = p.contains("monitored_countries", "_rc")

    amounts = frame.select(
        pl.col("_dossier"),
        pl.col("_principal"),
        pl.col("_minor"),
        pl.col("_ref"),
        ticket.alias("ticket_eligible"),
        category.alias("category"),
        pl.when(ticket)
        .then(p.cents("transport_allowance"))
        .otherwise(0)
        .alias("transport_allowance"),
        premium.alias("return_premium"),
        base.alias("reintegration_base"),
        priority.alias("priority_topup"),
        degressive.alias("degressive_topup"),
        vulnerability.alias("vulnerability_topup"),
        medical.alias("medical_topup"),
        amaar.alias("amaar"),
        balkan.alias("balkan_admin_support"),
        _bits(
            (belgian, RULE_BIT["C-EXCL-BE"]),
            (five_years, RULE_BIT["C-EXCL-5Y"]),
            (eu15, RULE_BIT["C-EXCL-EU15"]),
            (ticket, RULE_BIT["C-TICKET"] | RULE_BIT["C-TRANSPORT"]),
            (supported & abolished, p.bit("premium_abolished_nationalities")),
            (supported & ~abolished & pl.col("_visa_nat"), p.bit("premium_visa_required_adult")),
            (supported & ~abolished & ~pl.col("_visa_nat"), p.bit("premium_visa_free_adult")),
            (supported & restricted, p.bit("restricted_countries")),
            (supported & ~restricted & ended, p.bit("base_ended_countries")),
            (eligible, p.bit("base_adult")),
            (
                eligible & ~by_kind & extra,
                p.bit("base_extra_countries") if "base_extra_countries" in table.parameters else 0,
            ),
            (
                supported & ~restricted & ~ended & ~qualifies,
                RULE_BIT[r["no_base_without_category"]],
            ),
            (eligible & priority_country, p.bit("priority_adult")),
            (supported & pl.lit(has_category), RULE_BIT[r["category"]] if has_category else 0),
            *degressive_bits,
            (supported & (nonmedical > 0), p.bit("vulnerability_topup")),
            (supported & pl.col("_medical"), RULE_BIT["C-MED-BASIC"]),
            (supported & (pl.col("_amaar") > 0), RULE_BIT["C-MED-AMAAR"]),
            (supported & balkan_country, p.bit("balkan_admin_support")),
            (
                supported & monitored,
                p.bit("monitored_countries") if "monitored_countries" in table.parameters else 0,
            ),
        ).alias("_mask"),
    )
    reintegration = reduce(lambda a, b: a + b, [pl.col(c) for c in REINTEGRATION_LINES])
    cap = p.per_person("pap_cash_adult", "pap_cash_minor")
    fee_due = (reintegration.max().over("_dossier") > 0) & pl.col("_principal")
    with_split = amounts.with_columns(
        pl.min_horizontal(cap, reintegration).alias("pap_cash"),
        reintegration.alias("_reintegration"),
        pl.when(fee_due)
        .then(p.cents("partner_service_fee"))
        .otherwise(0)
        .alias("partner_service_fee"),
    ).with_columns(
        (pl.col("_reintegration") - pl.col("pap_cash")).alias("prp_in_kind"),
        reduce(lambda a, b: a + b, [pl.col(c) for c in TOTAL_LINES]).alias("total"),
        (
            pl.col("_mask")
            | pl.when(pl.col("_reintegration") > 0).then(p.bit("pap_cash_adult")).otherwise(0)
            | pl.when(pl.col("partner_service_fee") > 0).then(RULE_BIT["C-FEE"]).otherwise(0)
        ).alias("_mask"),
    )
    return pl.concat(
        [
            prepared.select(KEY_COLUMNS),
            with_split.select(
                pl.lit(table.name).alias("table"),
                pl.lit(table.name).alias("applied_table"),
                "category",
                "ticket_eligible",
                *[pl.col(c).cast(pl.Int64) for c in AMOUNT_COLUMNS],
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
        [prepared.select(KEY_COLUMNS), chosen.with_columns(pl.lit("applicable").alias("table"))],
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
