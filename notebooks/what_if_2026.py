# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What if? A scenario on the 2026 table
#
# The 2026 support table (`rules/parameters/table_2026.yaml`) still has *working*
# values: amounts the agency has not confirmed (the partner service fee, the return
# premiums, the base amounts, ...). This notebook changes one or two of them in a
# **scenario**, evaluates every person of the warehouse under the 2026 table and under
# the scenario, and shows what moves: per budget line, per return country, and how many
# persons are better or worse off.
#
# A scenario is a small YAML file (README, section "Scenarios"): `base: "2026"` and
# `overrides` of some parameters; see `rules/scenarios/degressive_1500.yaml`. This
# notebook writes its scenario file to a temporary folder, never into the repository.
# To make a scenario part of every pipeline run, save such a file in `rules/scenarios/`.
#
# **Which warehouse.** `REAB_DB` (default `data/reab.duckdb`), opened **read-only**. Only
# `dossier_persons` is needed: the amounts are computed here by the rule engine
# (`rules/engine.py`, vectorised, integer cents), exactly as the `entitlements` table
# is built. Money stays in integer cents until it is printed in EUR.

# %%
import tempfile
from contextlib import ExitStack
from datetime import date
from decimal import Decimal
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from notebook_setup import configure_tables, show

from pipelines.entitlements import load_persons
from pipelines.warehouse import connect, default_db_path, scalar
from rules.budget_lines import AMOUNT_COLUMNS, REINTEGRATION_LINES, TOTAL_LINES
from rules.engine import evaluate_cents, prepare
from rules.parameters import built_in_table, load_scenario

configure_tables()

KEYS = ["dossier_id", "person_id"]


def to_eur(cents: int) -> Decimal:
    """Integer cents as an exact EUR amount."""
    return Decimal(cents) / 100


def eur(cents: int) -> str:
    return f"EUR {to_eur(cents):,.2f}"


def with_eur(frame: pl.DataFrame) -> pl.DataFrame:
    """Every ``*_cents`` column as an exact ``*_eur`` decimal column (for reading)."""
    return frame.select(
        pl.Series(
            name.removesuffix("_cents") + "_eur",
            [to_eur(c) for c in frame[name].to_list()],
            dtype=pl.Decimal(16, 2),
        )
        if name.endswith("_cents")
        else pl.col(name)
        for name in frame.columns
    )


DB = default_db_path()
session = ExitStack()
con = session.enter_context(connect(DB, read_only=True))
print(f"Warehouse: {DB.resolve()} (read-only)")

# %% [markdown]
# ## 1. The scenario
#
# Edit `CHANGES` to try other values: the key is a parameter name of
# `rules/parameters/table_2026.yaml`, the value the budget line that parameter sets
# and its new amount in EUR. Here: the partner service fee per dossier with
# reintegration support (rule C-FEE) and the return premium of an adult national of a
# visa-required country (T26-PREMIUM), both working values.
#
# `LINES_THAT_MAY_MOVE` are the budget lines these parameters feed (and `total`); every
# other line must come out the same for every person, and the notebook stops if not.
# (A change of a reintegration amount, e.g. `degressive_early`, also moves its in-kind
# part `prp_in_kind`, and may move the cash part `pap_cash`: add them then.)

# %%
CHANGES = {
    "partner_service_fee": ("partner_service_fee", Decimal("400.00")),
    "premium_visa_required_adult": ("return_premium", Decimal("300.00")),
}
LINES_THAT_MAY_MOVE = {line for line, _ in CHANGES.values()} | {"total"}
VALUES_FROM = date(2026, 1, 1)  # the 2026 table's first day: its values are keyed by it

table_2026 = built_in_table("2026")
for name, (line, new) in CHANGES.items():
    parameter = table_2026.parameter(name)
    if parameter is None:
        raise ValueError(f"table 2026 has no parameter {name!r}")
    print(
        f"{name} ({parameter.rule}, {parameter.status}, source: {parameter.source}): "
        f"{parameter.at(VALUES_FROM)} -> {new} EUR; feeds budget line {line}"
    )

overrides = "".join(
    f"  {name}:\n"
    f"    values: {{{VALUES_FROM.isoformat()}: {new}}}\n"
    f"    status: working\n"
    f"    source: what-if notebook (notebooks/what_if_2026.py)\n"
    for name, (_line, new) in CHANGES.items()
)
scenario_yaml = (
    'base: "2026"\n'
    "label: 2026 table with "
    + ", ".join(f"{name} at {new}" for name, (_line, new) in CHANGES.items())
    + "\noverrides:\n"
    + overrides
)
print()
print(scenario_yaml)

# %% [markdown]
# The file goes to a temporary folder (removed at the end) and is loaded with
# `rules.parameters.load_scenario`, which validates it like a table: a wrong parameter
# name or amount stops here with a message naming the key. The scenario's name is the
# file name.

# %%
scratch = Path(session.enter_context(tempfile.TemporaryDirectory(prefix="reab-what-if-")))
scenario_file = scratch / "what_if_2026.yaml"
scenario_file.write_text(scenario_yaml, encoding="utf-8")
scenario = load_scenario(scenario_file)
print(f"Scenario {scenario.name!r}: {scenario.label}")
for name, (_line, new) in CHANGES.items():
    assert scenario.value(name, VALUES_FROM) == new, name
unchanged_parameters = [
    p.name
    for p in table_2026.parameters.values()
    if p.name not in CHANGES and scenario.parameter(p.name).values != p.values
]
assert not unchanged_parameters, f"the scenario changed more: {unchanged_parameters}"

# %% [markdown]
# ## 2. Every person under 2026 and under the scenario
#
# `pipelines.entitlements.load_persons` reads the columns the rule engine needs from
# `dossier_persons`. `rules.engine.prepare` derives the households and earlier
# dossiers once; `evaluate_cents` applies one table and gives every person each budget
# line in integer cents. Every person counts, as in the `entitlements` table
# (cancelled dossiers too; section 5 shows the departed and registered ones alone).

# %%
persons = load_persons(con)
prepared = prepare(persons)
under_2026 = evaluate_cents(prepared, table_2026)
under_scenario = evaluate_cents(prepared, scenario)
print(f"{persons.height:,} persons in {persons['dossier_id'].n_unique():,} dossiers evaluated")

lines = list(AMOUNT_COLUMNS)
both = (
    persons.select(*KEYS, "return_country", "dossier_status")
    .join(under_2026.select(*KEYS, *lines), on=KEYS, how="left", validate="1:1")
    .join(
        under_scenario.select(*KEYS, *lines),
        on=KEYS,
        how="left",
        suffix="__scenario",
        validate="1:1",
    )
    # Int32 lines are summed as Int64 (polars sums Int32 in Int32)
    .with_columns(pl.col(c).cast(pl.Int64) for c in [*lines, *(f"{c}__scenario" for c in lines)])
)
assert both.height == persons.height == under_2026.height == under_scenario.height
assert both.null_count().sum_horizontal().item() == 0, "a person without an evaluation"

# %% [markdown]
# ## 3. The difference per budget line
#
# Sums over every person, exact (integer cents). `total` is the sum of every line but
# `pap_cash` and `prp_in_kind` (the cash and in-kind parts of the reintegration
# support). `persons_changed` counts the persons whose amount on the line moved.

# %%
per_line = pl.DataFrame(
    {
        "budget_line": lines,
        "table_2026_cents": [both[c].sum() for c in lines],
        "scenario_cents": [both[f"{c}__scenario"].sum() for c in lines],
        "persons_changed": [(both[c] != both[f"{c}__scenario"]).sum() for c in lines],
    }
).with_columns((pl.col("scenario_cents") - pl.col("table_2026_cents")).alias("difference_cents"))
show(with_eur(per_line))

line_difference = dict(zip(lines, per_line["difference_cents"].to_list(), strict=True))
total_2026 = both["total"].sum()
total_scenario = both["total__scenario"].sum()
print(f"2026 total (engine, every person): {eur(total_2026)}")
print(f"Scenario total (every person): {eur(total_scenario)}")
print(f"Scenario minus 2026: {eur(total_scenario - total_2026)}")

# %% [markdown]
# **Checks.** The notebook stops here if any of these fails:
#
# - the scenario total minus the 2026 total equals the sum of the per-line
#   differences (of the lines that make up `total`);
# - every person's `total` is the sum of its lines, and `pap_cash + prp_in_kind` its
#   reintegration support, under both tables;
# - the lines the changed parameters do not feed are unchanged for every person;
# - every amount that moved on a changed line moved from the old parameter value to
#   the new one.

# %%
assert total_scenario - total_2026 == sum(line_difference[c] for c in TOTAL_LINES)
assert line_difference["total"] == total_scenario - total_2026
for suffix in ("", "__scenario"):
    row_total = pl.sum_horizontal(f"{c}{suffix}" for c in TOTAL_LINES)
    reintegration = pl.sum_horizontal(f"{c}{suffix}" for c in REINTEGRATION_LINES)
    split = pl.col(f"pap_cash{suffix}") + pl.col(f"prp_in_kind{suffix}")
    assert both.filter(row_total != pl.col(f"total{suffix}")).is_empty()
    assert both.filter(reintegration != split).is_empty()

untouched = [c for c in lines if c not in LINES_THAT_MAY_MOVE]
moved = [c for c in untouched if both.filter(pl.col(c) != pl.col(f"{c}__scenario")).height]
assert not moved, f"lines the scenario should not touch moved: {moved}"

for name, (line, new) in CHANGES.items():
    old_cents = int(table_2026.value(name, VALUES_FROM) * 100)
    new_cents = int(new * 100)
    changed = both.filter(pl.col(line) != pl.col(f"{line}__scenario"))
    wrong = changed.filter((pl.col(line) != old_cents) | (pl.col(f"{line}__scenario") != new_cents))
    assert wrong.is_empty(), f"{line}: amounts moved otherwise than {old_cents} -> {new_cents}"
    print(f"{name}: {changed.height:,} persons' {line}: {eur(old_cents)} -> {eur(new_cents)}")
print("All checks passed.")

# %% [markdown]
# ## 4. Per return country, and who is better or worse off
#
# The ten return countries (`return_country` of `dossier_persons`) with the largest
# difference (either sign), and the persons whose total under the scenario is higher
# (better off), lower (worse off) or the same as under the 2026 table - the same
# reading as `table_comparison`.
#
# `total` includes the partner service fee, which goes to the partner organisation
# (once per dossier, on the principal's row): a lower fee makes the principal "worse
# off" on `total` although what the household receives is unchanged. The last line
# therefore also counts the persons whose own support (`total` without the fee) moves.

# %%
per_person = both.select(
    "return_country",
    "dossier_status",
    pl.col("total").alias("total_2026"),
    pl.col("total__scenario").alias("total_scenario"),
    (
        pl.col("total__scenario")
        - pl.col("partner_service_fee__scenario")
        - (pl.col("total") - pl.col("partner_service_fee"))
    ).alias("support_difference"),
).with_columns((pl.col("total_scenario") - pl.col("total_2026")).alias("difference"))

per_country = (
    per_person.group_by("return_country")
    .agg(
        pl.len().alias("persons"),
        pl.col("total_2026").sum().alias("table_2026_cents"),
        pl.col("total_scenario").sum().alias("scenario_cents"),
        pl.col("difference").sum().alias("difference_cents"),
        (pl.col("difference") > 0).sum().alias("better_off"),
        (pl.col("difference") < 0).sum().alias("worse_off"),
    )
    .sort(pl.col("difference_cents").abs(), "return_country", descending=[True, False])
)
assert per_country["difference_cents"].sum() == total_scenario - total_2026
show(with_eur(per_country.head(10)))

better = int((per_person["difference"] > 0).sum())
worse = int((per_person["difference"] < 0).sum())
same = int((per_person["difference"] == 0).sum())
assert better + worse + same == persons.height
print(
    f"Under the scenario compared with 2026: {better:,} persons better off, "
    f"{worse:,} worse off, {same:,} unchanged (of {persons.height:,})"
)
support_better = int((per_person["support_difference"] > 0).sum())
support_worse = int((per_person["support_difference"] < 0).sum())
print(
    f"Own support without the partner fee: {support_better:,} persons receive more, "
    f"{support_worse:,} less"
)

# %% [markdown]
# ## 5. The cost population, and a cross-check with the warehouse
#
# Budgets and `table_comparison` count departed and registered dossiers only
# (cancelled and no-show dossiers cost nothing). Below the same difference for them.
#
# If the warehouse already has the `entitlements` table, its 2026 total should equal
# the engine's 2026 total above: a difference means the warehouse was built from other
# data or another version of the table files (rebuild it with `reab run`).

# %%
cost_population = per_person.filter(pl.col("dossier_status").is_in(["departed", "registered"]))
print(
    f"Departed and registered dossiers ({cost_population.height:,} persons): 2026 "
    f"{eur(cost_population['total_2026'].sum())}, scenario "
    f"{eur(cost_population['total_scenario'].sum())}, difference "
    f"{eur(cost_population['difference'].sum())}"
)

has_entitlements = scalar(
    con,
    "SELECT count(*) FROM information_schema.tables "
    "WHERE table_schema = 'main' AND table_name = 'entitlements'",
)
if has_entitlements:
    stored = scalar(con, """SELECT sum(total) FROM entitlements WHERE "table" = '2026'""")
    if stored == to_eur(total_2026):
        print(f"The warehouse's entitlements agree: 2026 total {eur(total_2026)}.")
    else:
        print(
            f"Note: the warehouse's entitlements give {stored} EUR under 2026, the engine "
            f"{to_eur(total_2026)} EUR: the warehouse is out of date (rebuild: reab run)."
        )
else:
    print("No entitlements table in this warehouse: nothing to cross-check.")

# %% [markdown]
# ## 6. Charts
#
# The difference per budget line (the lines that move), and per return country (the
# ten largest). The bars are drawn from floats; the tables above have the exact amounts.

# %%
moving = per_line.filter((pl.col("difference_cents") != 0) & (pl.col("budget_line") != "total"))
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
left.barh(moving["budget_line"].to_list(), [c / 100 for c in moving["difference_cents"]])
left.axvline(0, color="black", linewidth=0.8)
left.set_title("Scenario minus 2026, per budget line")
left.set_xlabel("EUR")
top = per_country.head(10)
right.barh(top["return_country"].to_list()[::-1], [c / 100 for c in top["difference_cents"]][::-1])
right.axvline(0, color="black", linewidth=0.8)
right.set_title("Scenario minus 2026, top 10 return countries")
right.set_xlabel("EUR")
fig.tight_layout()

# %%
session.close()  # closes the warehouse and removes the temporary scenario folder
