"""The vectorised rule engine: every person under a table, in polars, in integer cents.

``prepare`` derives, once, what every table needs: per person the identity, the
dossier, the dates and a *profile* number; and the table of distinct profiles. A
profile is everything the tables read about a person except dates (countries, phase,
age group, vulnerabilities, AMAAR estimate, household facts), so a large population
has few of them.

``evaluate_cents`` applies one table: it turns each person's dates into the few
facts the table reads (which dated parameter values apply, five-year window,
degressive dates, refusal grace), evaluates the rules once per distinct
(profile, date facts) with polars expressions, and gathers the result back to every
person. The per-dossier fee is the one row-wise step: each key has a row without and
a row with the fee, and a person's row is chosen by whether the fee falls on it.
Persons sharing a key are indistinguishable to the rules, so the result is the same
as evaluating every row (``deduplicate=False`` does exactly that; the tests compare
both). ``docs/rules-semantics.md`` is the specification and ``rules/reference.py``
the plain-Python twin the property tests compare against.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import reduce

import numpy as np
import polars as pl

from data_contracts.countries import countries
from data_contracts.row_model import PROCEDURE_PHASES, REFUSAL_PHASES
from rules.budget_lines import AMOUNT_COLUMNS, REINTEGRATION_LINES, TOTAL_LINES
from rules.ids import RULE_BIT, rules_text
from rules.parameters import (
    Table,
    applicable_rules,
    built_in_table,
)

KEY_COLUMNS = ("dossier_id", "person_id")
# What an evaluation gives per person: the keys, the table, and the result columns.
RESULT_COLUMNS = ("category", "ticket_eligible", *AMOUNT_COLUMNS, "_mask")
OUTPUT_COLUMNS = (*KEY_COLUMNS, "table", "applied_table", *RESULT_COLUMNS)
EUR = pl.Decimal(12, 2)
EPOCH = date(1970, 1, 1)
EARLY_PHASES = ("dvz", "cgvs_pending", "dublin", "annex_26quater")
DUBLIN_PHASES = ("dublin", "annex_26quater")
PHASE = pl.Enum(PROCEDURE_PHASES)
FOLLOWED = ("application_type", "procedure_phase", "decision_notified_on", "belgium_responsible")
COUNTRY_CODES: tuple[str, ...] = tuple(countries()["iso3"].to_list())
COUNTRY = pl.Enum(COUNTRY_CODES)
VULNERABILITY_FLAGS = ("pregnant", "ex_unaccompanied_minor", "single_parent", "trafficking_victim")
# The extract columns the engine reads (load only these for large populations).
INPUT_COLUMNS: tuple[str, ...] = (
    "dossier_id",
    "person_id",
    "role",
    "annex_parent_id",
    "age_at_registration",
    "nationality",
    "return_country",
    "registration_date",
    "departure_date",
    "dossier_status",
    "residence_status",
    *FOLLOWED,
    "protection_in_other_member_state",
    *VULNERABILITY_FLAGS,
    "medical_basic",
    "amaar_estimated_cost_eur",
    "previous_return_support_date",
    "became_belgian",
)
# Amounts of one profile are bounded by the tables' parameters: Int32 cents (< 21 M EUR)
# halves the memory of a large evaluation. AMAAR (an estimate from the extract) and
# the total that includes it are Int64. Sum them as Int64 (polars sums Int32 in Int32).
LINE = pl.Int32
WIDE_LINES = ("amaar", "total")


def _day(value: date) -> int:
    return (value - EPOCH).days


@dataclass(frozen=True)
class Prepared:
    """Per person: ``rows`` (identity, dossier, principal, dates, ``_profile``);
    per distinct profile: ``profiles`` (row ``i`` describes profile ``i``)."""

    rows: pl.DataFrame
    profiles: pl.DataFrame

    @property
    def height(self) -> int:
        return self.rows.height


# ---------------------------------------------------------------------------
# Preparation: table-independent facts, computed once for all tables
# ---------------------------------------------------------------------------


def _profile_fields(amaar_amounts: int) -> dict[str, tuple[pl.Expr, int]]:
    """The profile: name → (expression on the prepared source, number of values).

    Values are small non-negative integers, so a profile packs exactly into one
    Int64 (mixed radix) and distinct profiles are found by hashing one column.
    """
    col = pl.col
    flags = [col(f).fill_null(False).cast(pl.Int64) for f in VULNERABILITY_FLAGS]
    nonmedical = reduce(
        lambda a, b: a + b, [*flags, (col("age_at_registration") >= 65).cast(pl.Int64)]
    )
    boolean = {
        "_minor": col("age_at_registration") < 18,
        "_medical": col("medical_basic").fill_null(False),
        "_belgian": col("became_belgian").fill_null(False),
        "_applicant": col("residence_status") == "applicant",
        "_mstatus": col("protection_in_other_member_state").fill_null(False),
        "_follower": col("_follower"),
        "_first_application": (col("_type") == "first").fill_null(False),
        "_belgium": col("_belgium").fill_null(False),
    }
    fields = {name: (expr.fill_null(False).cast(pl.Int64), 2) for name, expr in boolean.items()}
    fields["_nonmedical"] = (nonmedical, len(VULNERABILITY_FLAGS) + 2)
    fields["_amaar_amount"] = (col("_amaar_amount").cast(pl.Int64), amaar_amounts)
    fields["_phase"] = (
        col("_phase").cast(PHASE).to_physical().cast(pl.Int64).fill_null(-1) + 1,
        len(PROCEDURE_PHASES) + 1,
    )
    for name, source in (("_nat", "nationality"), ("_rc", "return_country")):
        fields[name] = (col(source).cast(COUNTRY).to_physical().cast(pl.Int64), len(COUNTRY_CODES))
    return fields


def _profile_code(fields: dict[str, tuple[pl.Expr, int]]) -> pl.Expr:
    radix, terms = 1, []
    for expr, size in fields.values():
        terms.append(expr * radix)
        radix *= size
    assert radix < 2**62, "profile fields no longer fit one Int64"
    return reduce(lambda a, b: a + b, terms)


def _with_country_attributes(profiles: pl.DataFrame) -> pl.DataFrame:
    def attribute(name: str, index: str) -> pl.Expr:
        return pl.lit(countries()[name]).gather(pl.col(index))

    return profiles.with_columns(
        attribute("eu15", "_nat").alias("_eu15"),
        attribute("visa_required", "_nat").alias("_visa_nat"),
        attribute("visa_required", "_rc").alias("_visa_rc"),
        attribute("latin_america", "_rc").alias("_latam_rc"),
        attribute("balkans", "_rc").alias("_balkan_rc"),
        (pl.col("_amaar") > 0).alias("_has_amaar"),
        ((pl.col("_nonmedical") > 0) | pl.col("_medical") | (pl.col("_amaar") > 0)).alias(
            "_vulnerable"
        ),
    )


def prepare(persons: pl.DataFrame, history: pl.DataFrame | None = None) -> Prepared:
    """Derive what every table needs (``rows`` in input order, and the profiles)."""
    codes = pl.concat([persons["nationality"], persons["return_country"]])
    unknown = codes.filter(~codes.is_in(COUNTRY_CODES)).unique().to_list()
    if unknown:
        raise ValueError(f"unknown country codes {sorted(map(str, unknown))[:10]}")
    source = pl.concat(
        [persons.select(INPUT_COLUMNS), _followed_fields(persons)], how="horizontal"
    ).with_columns(_prior_support(persons, history).alias("_prior_support"))
    # AMAAR estimates: few distinct amounts, numbered so the profile can carry them.
    amaar = source.select(
        (pl.col("amaar_estimated_cost_eur").fill_null(0) * 100).cast(pl.Int64)
    ).to_series()
    amounts = amaar.unique().sort()
    source = source.with_columns(amounts.search_sorted(amaar).alias("_amaar_amount"))
    fields = _profile_fields(amounts.len())
    rows = source.select(
        pl.col("dossier_id"),
        pl.col("person_id"),
        (pl.col("role") == "principal").alias("_principal"),
        pl.col("registration_date").cast(pl.Int32).alias("_reg"),
        pl.coalesce("departure_date", "registration_date").cast(pl.Int32).alias("_dep"),
        pl.col("_decision").cast(pl.Int32),
        _whole_years_between("_prior_support", "registration_date").alias("_support_years"),
        _profile_code(fields).alias("_code"),
    )
    rows = rows.with_columns(
        _first_row_of("dossier_id", rows).alias("_dossier"),
        _first_row_of("_code", rows).alias("_profile_row"),
    )
    # Number the profiles in order of first appearance; describe each from its first row.
    first_rows = np.flatnonzero(rows["_profile_row"].to_numpy() == np.arange(rows.height))
    number = np.full(rows.height, -1, dtype=np.int32)
    number[first_rows] = np.arange(len(first_rows), dtype=np.int32)
    rows = rows.with_columns(pl.Series("_profile", number[rows["_profile_row"].to_numpy()])).drop(
        "_code", "_profile_row"
    )
    described = {name: field for name, field in fields.items() if name != "_amaar_amount"}
    profiles = source[pl.Series(first_rows)].select(
        *[
            expr.cast(pl.Int8 if size < 128 else pl.Int16).alias(name)
            for name, (expr, size) in described.items()
        ],
        pl.lit(amounts).gather(pl.col("_amaar_amount")).alias("_amaar"),
    )
    booleans = [name for name, (_, size) in described.items() if size == 2]
    profiles = profiles.with_columns(pl.col(booleans).cast(pl.Boolean), pl.col("_phase") - 1)
    return Prepared(rows, _with_country_attributes(profiles))


def _first_row_of(column: str, frame: pl.DataFrame) -> pl.Series:
    """Per row, the row number of the first row with the same ``column`` value (hash join)."""
    firsts = (
        frame.select(pl.col(column), pl.int_range(pl.len(), dtype=pl.Int32).alias("_first"))
        .group_by(column)
        .agg(pl.col("_first").min())
    )
    return frame.select(column).join(firsts, on=column, how="left", maintain_order="left")["_first"]


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
# Parameters as expressions of the date step
# ---------------------------------------------------------------------------


class _Params:
    """Turns dated parameters into polars expressions on ``_step``.

    The steps of a table are the dates after its period start at which any parameter
    changes; ``_step`` counts the steps on or before a person's reference date, so
    every dated parameter has one value per step.
    """

    def __init__(self, table: Table, earliest_reference: date | None):
        self.table = table
        self.earliest = earliest_reference
        self.steps = sorted(
            {
                since
                for parameter in table.parameters.values()
                for since, _ in parameter.changes
                if since > table.period.start and self._in_period(since)
            }
        )

    def _in_period(self, day: date) -> bool:
        return self.table.period.end is None or day <= self.table.period.end

    def step_of(self, registered: pl.Expr) -> pl.Expr:
        """The step of a registration day (steps lie inside the period: no clamping)."""
        step = pl.lit(0, pl.Int32)
        for number, since in enumerate(self.steps, start=1):
            step = pl.when(registered >= _day(since)).then(pl.lit(number, pl.Int32)).otherwise(step)
        return step

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
            if not self._in_period(since):
                continue  # a value from after the period never applies to it
            step = bisect_right(self.steps, since)
            expr = pl.when(pl.col("_step") >= step).then(to_expr(value)).otherwise(expr)
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
    return [PROCEDURE_PHASES.index(phase) for phase in phases]


# ---------------------------------------------------------------------------
# One table
# ---------------------------------------------------------------------------

# The per-person date facts a table reads; with ``_step`` they follow the profile number
# in the evaluation key. Facts a table does not read are False.
_FACTS = ("recent", "degressive_dates", "within_grace")
_FACT_VALUES = 2 ** len(_FACTS)
# Distinct keys are found by marking a dense array when it stays this small.
_DENSE_KEYS_LIMIT = 2**24
# From this many persons, a population of nearly all distinct profiles is evaluated
# row by row (small populations always take the shortcut: the tests exercise it).
_LARGE_POPULATION = 100_000


def _evaluation_keys(prepared: Prepared, table: Table, p: _Params) -> tuple[pl.Series, int]:
    """Per person: profile number, date step and date facts packed in one Int64."""
    col = pl.col
    facts = [(col("_support_years") < p.number("five_year_window")).fill_null(False)]
    if table.has_degressive:
        facts += [
            (col("_reg") >= p.day("degressive_registered_from"))
            & (col("_dep") >= p.day("degressive_departed_from")),
            ((col("_reg") - col("_decision")) <= p.number("refusal_grace_days")).fill_null(False),
        ]
    else:
        facts += [pl.lit(False), pl.lit(False)]
    radix = (len(p.steps) + 1) * _FACT_VALUES
    key_type = pl.Int32 if prepared.profiles.height * radix < 2**31 else pl.Int64
    weights = [2 ** (len(facts) - 1 - i) for i in range(len(facts))]
    parts = [
        (fact.cast(key_type) * weight).alias(f"_fact{i}")
        for i, (fact, weight) in enumerate(zip(facts, weights, strict=True))
    ]
    keys = (
        prepared.rows.select("_profile", "_support_years", "_reg", "_dep", "_decision")
        .with_columns(p.step_of(col("_reg")).alias("_step"))
        .select(
            (col("_profile").cast(key_type) * radix + col("_step") * _FACT_VALUES).alias("_base"),
            *parts,
        )
        .select(pl.sum_horizontal(pl.all()))
        .to_series()
    )
    return keys, radix


def _distinct(keys: pl.Series, space: int) -> tuple[np.ndarray, pl.Series]:
    """The distinct keys (ascending) and, per row, the position of its key among them."""
    if space <= _DENSE_KEYS_LIMIT:
        slot = np.zeros(space, dtype=np.int32)
        slot[keys.to_numpy()] = 1
        distinct = np.flatnonzero(slot)
        slot[distinct] = np.arange(len(distinct), dtype=np.int32)
        return distinct, pl.Series(slot).gather(keys)
    distinct = keys.unique().sort()
    return distinct.to_numpy(), distinct.search_sorted(keys).cast(pl.Int32)


def _fee_due(dossier: np.ndarray, principal: np.ndarray, receives: np.ndarray) -> np.ndarray:
    """Per row: a principal whose dossier has someone with reintegration support.

    ``dossier`` is the row number of the dossier's first row: a numpy scatter, far
    cheaper than a window.
    """
    any_in_dossier = np.zeros(len(dossier), dtype=bool)
    any_in_dossier[dossier[receives]] = True
    return any_in_dossier[dossier] & principal


def _worth_deduplicating(prepared: Prepared) -> bool:
    """Finding distinct keys pays unless a large population is nearly all distinct
    (then sorting the keys costs more than evaluating every row)."""
    large = prepared.height >= _LARGE_POPULATION
    return not (large and prepared.profiles.height * 4 > prepared.height)


def _clamp_day(table: Table, day: int) -> date:
    value = date.fromordinal(EPOCH.toordinal() + day)
    return table.period.clamp(value)


def evaluate_cents(
    prepared: Prepared, table: Table, *, deduplicate: bool | None = None
) -> pl.DataFrame:
    """Apply one table: per person the budget lines in integer cents and ``_mask``, the
    rule bits (``with_rules_text`` turns them into ids).

    The rules run once per distinct evaluation key (``deduplicate=False``: once per
    person, with the same result; by default ``_worth_deduplicating`` chooses); the
    fee, per dossier, follows.
    """
    rows = prepared.rows
    earliest = _clamp_day(table, int(rows["_reg"].min())) if rows.height else None
    p = _Params(table, earliest)
    keys, radix = _evaluation_keys(prepared, table, p)
    if deduplicate is None:
        deduplicate = _worth_deduplicating(prepared)
    if deduplicate:
        distinct, position = _distinct(keys, prepared.profiles.height * radix)
    else:
        distinct, position = keys.to_numpy(), None
    rest = distinct % radix
    decoded = {"_step": (rest // _FACT_VALUES).astype(np.int32)}
    for i, name in enumerate(_FACTS):
        decoded[name] = (rest >> (len(_FACTS) - 1 - i)) & 1 == 1
    per_key = _evaluate_keys(
        pl.concat(
            [prepared.profiles[pl.Series(distinct // radix)], pl.DataFrame(decoded)],
            how="horizontal",
        ),
        table,
        p,
    )
    # The fee is due on a principal's row when anyone in the dossier gets reintegration
    # support: each key has a row without (``k``) and with the fee (``k + keys``); one
    # gather does all.
    receives = per_key["_receives"].to_numpy()
    receives = receives[position.to_numpy()] if position is not None else receives
    due = _fee_due(rows["_dossier"].to_numpy(), rows["_principal"].to_numpy(), receives)
    with_fee = _with_and_without_fee(per_key)
    if position is None:
        position = pl.int_range(rows.height, dtype=pl.Int32, eager=True)
    choice = pl.select(position + pl.Series(due, dtype=pl.Int32) * per_key.height).to_series()
    name = pl.lit(table.name, pl.Categorical)
    return (
        pl.concat([rows.select(KEY_COLUMNS), with_fee[choice]], how="horizontal")
        .with_columns(name.alias("table"), name.alias("applied_table"))
        .select(OUTPUT_COLUMNS)
    )


def _with_and_without_fee(per_key: pl.DataFrame) -> pl.DataFrame:
    """Row ``k``: key ``k`` without the partner fee; row ``k + len(per_key)``: with it."""
    col = pl.col
    columns = list(RESULT_COLUMNS)
    without = per_key.with_columns(
        pl.lit(0, LINE).alias("partner_service_fee"), col("_subtotal").alias("total")
    ).select(columns)
    with_fee = per_key.with_columns(
        col("_fee_if_due").alias("partner_service_fee"),
        (col("_subtotal") + col("_fee_if_due")).alias("total"),
        (col("_mask") | RULE_BIT["C-FEE"]).alias("_mask"),
    ).select(columns)
    return pl.concat([without, with_fee], rechunk=True)  # one chunk: a faster gather


def _evaluate_keys(frame: pl.DataFrame, table: Table, p: _Params) -> pl.DataFrame:
    """The rules on profiles and date facts: every line except the fee (``_subtotal``
    is the total without it), plus what the per-dossier fee step needs.

    Computed in stages (facts, then amounts, then split and subtotal) so that a fact
    used by many amounts is evaluated once.
    """
    r = table.rule_ids
    col = pl.col

    # Stage 1: per-key facts under this table.
    frame = (
        frame.with_columns(
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
        frame = frame.with_columns(
            (col("_first_application") & ~col("_mstatus") & (~dublin_like | col("_belgium"))).alias(
                "who"
            ),
            (eligible & col("_applicant")).alias("target"),
            pl.when(phase.is_in(_codes(EARLY_PHASES)))
            .then(p.cents("degressive_early"))
            .when(phase == PROCEDURE_PHASES.index("rvv_pending"))
            .then(p.cents("degressive_late"))
            .when(phase.is_in(_codes(REFUSAL_PHASES)) & col("within_grace"))
            .then(p.cents("degressive_late"))
            .otherwise(p.cents("degressive_after_grace"))
            .alias("degressive_amount"),
        ).with_columns((col("target") & col("who") & col("degressive_dates")).alias("granted"))
        degressive = pl.when(col("granted")).then(col("degressive_amount")).otherwise(0)
        who_bit, when_bit, amount_bit, child_bit = (
            RULE_BIT[x]
            for x in ("T26-DEGR-WHO", "T26-DEGR-WHEN", "T26-DEGR-AMOUNT", "T26-DEGR-CHILD")
        )
        degressive_bits = [
            (col("target") & ~col("who"), who_bit),
            (col("target") & col("who") & ~col("degressive_dates"), when_bit),
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
        col("_minor"),
        col("_step"),
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
        # C-MED-BASIC / C-MED-EITHER: the basic 500 or AMAAR, never both (seed 000).
        pl.when(supported & col("_medical") & ~col("_has_amaar"))
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
            (supported & col("_medical") & ~col("_has_amaar"), RULE_BIT["C-MED-BASIC"]),
            (supported & col("_has_amaar"), RULE_BIT["C-MED-AMAAR"]),
            (supported & col("_medical") & col("_has_amaar"), RULE_BIT["C-MED-EITHER"]),
            (supported & col("_balkan_rc"), p.bit("balkan_admin_support")),
            (supported & col("monitored"), optional_bit["monitored_countries"]),
        ).alias("_mask"),
    )

    # Stage 3: reintegration split, what the fee would be, subtotal.
    reintegration = reduce(lambda a, b: a + b, [col(c) for c in REINTEGRATION_LINES])
    cap = p.per_person("pap_cash_adult", "pap_cash_minor")
    per_key_lines = [c for c in TOTAL_LINES if c != "partner_service_fee"]
    amounts = amounts.with_columns(reintegration.alias("_reintegration")).with_columns(
        pl.min_horizontal(cap, col("_reintegration")).alias("pap_cash"),
        p.cents("partner_service_fee").alias("_fee_if_due"),
        reduce(lambda a, b: a + b, [col(c) for c in per_key_lines]).alias("_subtotal"),
        (
            col("_mask")
            | pl.when(col("_reintegration") > 0).then(p.bit("pap_cash_adult")).otherwise(0)
        ).alias("_mask"),
    )
    lines = [*per_key_lines, "pap_cash", "_fee_if_due"]
    return amounts.select(
        "category",
        "ticket_eligible",
        (col("_reintegration") > 0).alias("_receives"),
        *[col(c).cast(pl.Int64 if c in WIDE_LINES else LINE, strict=True) for c in lines],
        (col("_reintegration") - col("pap_cash")).cast(LINE).alias("prp_in_kind"),
        col("_subtotal").cast(pl.Int64),
        "_mask",
    )


# ---------------------------------------------------------------------------
# Which table applies, and the public entry points
# ---------------------------------------------------------------------------


def choose_applicable(
    prepared: Prepared, before: pl.DataFrame, after: pl.DataFrame
) -> pl.DataFrame:
    """Row by row, the evaluation of the table that applies (A-2026, A-TRANSITION)."""
    rules = applicable_rules()
    new_from = _day(rules.new_table_from.value)
    until = _day(rules.transition_departure_until.value)
    registered_new = prepared.rows["_reg"] >= new_from
    late_departure = prepared.rows["_dep"] > until
    use_after = registered_new | late_departure
    choice = pl.DataFrame({"_after": use_after, "_new": registered_new})
    columns = ["applied_table", *RESULT_COLUMNS]
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
            prepared.rows.select(KEY_COLUMNS),
            chosen.with_columns(pl.lit("applicable", pl.Categorical).alias("table")),
        ],
        how="horizontal",
    ).select(OUTPUT_COLUMNS)


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
    "Prepared",
    "choose_applicable",
    "evaluate",
    "evaluate_applicable",
    "evaluate_cents",
    "prepare",
    "to_eur",
    "with_rules_text",
]
