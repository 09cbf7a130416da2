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
# # Exploring the REAB warehouse
#
# A first look at what the warehouse holds: its tables, the extract files that were
# ingested (and the rows that were quarantined), the dossiers and persons per
# registration year and return country, the entitlements per support table and
# budget line, and the comparison of the 2026 table with the 2025 table.
#
# **Which warehouse.** The path comes from the environment variable `REAB_DB`
# (default `data/reab.duckdb` under the working directory). The warehouse is opened
# **read-only**: this notebook never changes it, and it can run while nobody writes.
#
# **Money is exact.** Amounts are `DECIMAL` in the warehouse; every sum below is
# taken in SQL on those decimals (never on floats) and printed in EUR.
#
# **Internal use.** The figures below are not disclosure-controlled. Before sharing a
# per-country count outside the team, apply the small-cell rule of
# `models/disclosure.py` (counts below 5 hidden).

# %%
from contextlib import ExitStack
from decimal import Decimal

import matplotlib.pyplot as plt
import polars as pl
from notebook_setup import configure_tables, show

from pipelines.warehouse import connect, default_db_path, query_frame, scalar
from rules.budget_lines import AMOUNT_COLUMNS, TOTAL_LINES

configure_tables()


def eur(amount: Decimal) -> str:
    """An exact amount in EUR, with thousands separators."""
    return f"EUR {amount:,.2f}"


DB = default_db_path()
session = ExitStack()
con = session.enter_context(connect(DB, read_only=True))
print(f"Warehouse: {DB.resolve()} (read-only)")

# %% [markdown]
# ## 1. Which tables exist, and how many rows each holds
#
# From DuckDB's `information_schema.tables`. A warehouse filled by `reab ingest`
# alone has only the ingest tables (`ingested_files`, `dossier_persons`,
# `quarantine`); the main job (`reab run`) adds the entitlements, forecasts and
# monitoring tables. Sections below that need a table that is not there say so and
# are skipped.

# %%
DESCRIPTIONS = {
    "ingested_files": "one row per extract file seen (status, row accounting)",
    "dossier_persons": "one row per (dossier_id, person_id): the accepted extract rows",
    "quarantine": "one row per rejected extract row, with the reason",
    "entitlements": "one row per person x table (2025, 2026, applicable, scenarios)",
    "table_comparison": "country x 2026 category x registration year x budget line",
    "volume_forecast": "forecast dossiers and persons per country, group and month",
    "budget_forecast": "forecast cost per table, level, period and budget line",
    "budget_assumptions": "working parameters and the money resting on them",
    "forecast_backtest": "rolling-origin accuracy of the volume model",
    "misuse_indicators": "nine indicators per grouping, country and month",
    "misuse_alarms": "the tested indicator values, with alarm and reason",
    "misuse_focus": "the four lifted countries since 2026 against 2022-2024",
    "misuse_alarm_log": "when each alarm was first seen",
    "monitoring_evaluation": "how well the detectors find planted surges",
}

table_names = [
    name
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' ORDER BY table_name"
    ).fetchall()
]
row_counts = {name: scalar(con, f'SELECT count(*) FROM "{name}"') for name in table_names}


def has(table: str) -> bool:
    return table in row_counts


print(f"{'table':<24}{'rows':>12}  what it holds")
for name in table_names:
    print(f"{name:<24}{row_counts[name]:>12,}  {DESCRIPTIONS.get(name, '')}")

if not has("dossier_persons"):
    raise ValueError(f"{DB} has no table dossier_persons: is this a REAB warehouse?")

# %% [markdown]
# ## 2. Ingested files and quarantined rows
#
# `ingested_files` has one row per extract file seen, with its status (`ingested`,
# `ingested_with_quarantine`, `rejected`) and its row accounting (rows read = rows
# accepted + rows quarantined). `quarantine` keeps every rejected row with a
# `reason` naming the column and the rule. A demo warehouse loaded straight from the
# typed demo files (as the tests do) has no ingested files and no quarantine.

# %%
if has("ingested_files") and row_counts["ingested_files"]:
    files_per_status = query_frame(
        con,
        """SELECT status, count(*) AS files, sum(rows_read) AS rows_read,
                  sum(rows_accepted) AS rows_accepted,
                  sum(rows_quarantined) AS rows_quarantined
           FROM ingested_files GROUP BY status ORDER BY status""",
    )
    show(files_per_status)
    rejected = query_frame(
        con,
        "SELECT file_name, message FROM ingested_files WHERE status = 'rejected' ORDER BY file_id",
    )
    if rejected.height:
        print("Files rejected whole:")
        show(rejected)
else:
    print("No extract files were ingested (a demo warehouse loaded without `reab ingest`).")

if has("quarantine") and row_counts["quarantine"]:
    top_reasons = query_frame(
        con,
        """SELECT reason, count(*) AS rows, count(DISTINCT file_id) AS files
           FROM quarantine GROUP BY reason ORDER BY rows DESC, reason LIMIT 10""",
    )
    print(f"Quarantined rows: {row_counts['quarantine']:,}; the most frequent reasons:")
    show(top_reasons)
else:
    print("No quarantined rows.")

# %% [markdown]
# ## 3. Dossiers and persons per registration year
#
# From `dossier_persons`: a dossier is one `dossier_id` (a household returning
# together), a person one row. `departed` counts the persons of dossiers whose
# `dossier_status` is `departed`; the other statuses are `registered` (not yet
# departed), `cancelled` and `no_show`.

# %%
per_year = query_frame(
    con,
    """SELECT year(registration_date)::VARCHAR AS registration_year,
              count(DISTINCT dossier_id) AS dossiers,
              count(*) AS persons,
              count(*) FILTER (WHERE dossier_status = 'departed') AS departed,
              count(*) FILTER (WHERE dossier_status = 'registered') AS registered,
              count(*) FILTER (WHERE dossier_status IN ('cancelled', 'no_show'))
                  AS cancelled_or_no_show
       FROM dossier_persons GROUP BY ALL ORDER BY registration_year""",
)
show(per_year)
first, last = con.execute(
    "SELECT min(registration_date), max(registration_date) FROM dossier_persons"
).fetchall()[0]
print(f"Registrations from {first} to {last}")
assert per_year["persons"].sum() == row_counts["dossier_persons"]

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(per_year["registration_year"].to_list(), per_year["persons"].to_list(), label="persons")
ax.bar(per_year["registration_year"].to_list(), per_year["dossiers"].to_list(), label="dossiers")
ax.set_title("Registrations per year (dossier_persons)")
ax.set_xlabel("registration year")
ax.margins(y=0.2)
ax.legend(loc="upper left", ncols=2)
fig.tight_layout()

# %% [markdown]
# ## 4. The top return countries
#
# The ten return countries (`return_country`, ISO 3166-1 alpha-3) with the most
# persons over all years, then the persons of those countries per registration year.
# A person's `nationality` may differ from the country of return.

# %%
top_countries = query_frame(
    con,
    """SELECT return_country, count(DISTINCT dossier_id) AS dossiers, count(*) AS persons,
              round(count(*) / count(DISTINCT dossier_id), 2) AS persons_per_dossier,
              count(*) FILTER (WHERE nationality <> return_country) AS other_nationality
       FROM dossier_persons GROUP BY return_country
       ORDER BY persons DESC, return_country LIMIT 10""",
)
show(top_countries)

per_country_year = (
    query_frame(
        con,
        """SELECT return_country, year(registration_date) AS registration_year,
                  count(*) AS persons
           FROM dossier_persons WHERE return_country IN (SELECT unnest($countries))
           GROUP BY ALL""",
        {"countries": top_countries["return_country"].to_list()},
    )
    .sort("registration_year")
    .pivot(on="registration_year", index="return_country", values="persons")
    .fill_null(0)
)
order = {c: i for i, c in enumerate(top_countries["return_country"])}
show(per_country_year.sort(pl.col("return_country").replace_strict(order)))

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(top_countries["return_country"].to_list()[::-1], top_countries["persons"].to_list()[::-1])
ax.set_title("Persons per return country, all years (top 10)")
ax.set_xlabel("persons")
fig.tight_layout()

# %% [markdown]
# ## 5. Entitlements per table and budget line
#
# `entitlements` has one row per person and table: `2025` and `2026` (every person
# under that table), `applicable` (the table that applies to the person's dates) and
# one per scenario file in `rules/scenarios/`. The budget lines are `DECIMAL(12, 2)`
# columns; `total` is the sum of the lines except `pap_cash` and `prp_in_kind`, which
# split the reintegration support into cash and in kind. The `ticket` is an actual
# cost and not an entitlement line. Every person counts here, including cancelled
# dossiers; the comparison in section 6 counts departed and registered dossiers only.

# %%
if has("entitlements"):
    lines = ", ".join(AMOUNT_COLUMNS)
    per_line = query_frame(
        con,
        f"""WITH long AS (
                UNPIVOT (SELECT "table", {lines} FROM entitlements)
                ON {lines} INTO NAME budget_line VALUE amount)
            SELECT budget_line, "table", sum(amount) AS amount_eur
            FROM long GROUP BY ALL""",
    )
    tables = sorted(per_line["table"].unique().to_list())
    entitlements_per_line = (
        per_line.pivot(on="table", index="budget_line", values="amount_eur")
        .with_columns(pl.col("budget_line").cast(pl.Enum(AMOUNT_COLUMNS)))
        .sort("budget_line")
        .select("budget_line", *tables)
    )
    show(entitlements_per_line)

    totals = dict(
        con.execute(
            """SELECT "table", sum(total) FROM entitlements GROUP BY "table" ORDER BY "table" """
        ).fetchall()
    )
    for table, amount in totals.items():
        print(f"Total under table {table}: {eur(amount)}")
    # the total is the sum of its lines, exactly (Decimal arithmetic, no rounding)
    for table in tables:
        column = entitlements_per_line[table].to_list()
        by_line = dict(zip(AMOUNT_COLUMNS, column, strict=True))
        assert sum(by_line[line] for line in TOTAL_LINES) == by_line["total"] == totals[table]
else:
    print("No table `entitlements` yet: run the main job (`reab run`) to build it.")

# %% [markdown]
# ## 6. The 2026 table compared with the 2025 table
#
# `table_comparison` holds, per return country, 2026 category, registration year and
# budget line, the persons, their cost under each table (`cost_2025`, `cost_2026`),
# the `difference` (2026 minus 2025) and the persons better and worse off under 2026.
# Population: departed and registered dossiers (cancelled and no-show dossiers cost
# nothing). On the `total` line, "better off" means a higher total under 2026.

# %%
if has("table_comparison"):
    comparison_per_line = (
        query_frame(
            con,
            """SELECT budget_line, sum(persons) AS persons,
                      sum(cost_2025) AS cost_2025_eur, sum(cost_2026) AS cost_2026_eur,
                      sum(difference) AS difference_eur,
                      sum(persons_better_off) AS better_off,
                      sum(persons_worse_off) AS worse_off
               FROM table_comparison GROUP BY budget_line""",
        )
        .with_columns(pl.col("budget_line").cast(pl.Enum(AMOUNT_COLUMNS)))
        .sort("budget_line")
    )
    show(comparison_per_line)
    total_row = comparison_per_line.filter(pl.col("budget_line") == "total").row(0, named=True)
    unchanged = total_row["persons"] - total_row["better_off"] - total_row["worse_off"]
    print(
        f"Under 2026 compared with 2025 ({total_row['persons']:,} persons of departed and "
        f"registered dossiers): {total_row['better_off']:,} better off, "
        f"{total_row['worse_off']:,} worse off, {unchanged:,} unchanged"
    )
    print(
        f"Cost 2025: {eur(total_row['cost_2025_eur'])}; cost 2026: "
        f"{eur(total_row['cost_2026_eur'])}; difference: {eur(total_row['difference_eur'])}"
    )
    assert total_row["cost_2026_eur"] - total_row["cost_2025_eur"] == total_row["difference_eur"]

    print("Per 2026 category (total line; no category = the country has none):")
    show(
        query_frame(
            con,
            """SELECT coalesce('category ' || category, 'no category') AS category_2026,
                      sum(persons) AS persons, sum(cost_2025) AS cost_2025_eur,
                      sum(cost_2026) AS cost_2026_eur, sum(difference) AS difference_eur,
                      sum(persons_better_off) AS better_off,
                      sum(persons_worse_off) AS worse_off
               FROM table_comparison WHERE budget_line = 'total'
               GROUP BY ALL ORDER BY category_2026""",
        )
    )
    print("The ten return countries with the largest difference (total line, either sign):")
    show(
        query_frame(
            con,
            """SELECT return_country, sum(persons) AS persons,
                      sum(cost_2025) AS cost_2025_eur, sum(cost_2026) AS cost_2026_eur,
                      sum(difference) AS difference_eur,
                      sum(persons_better_off) AS better_off,
                      sum(persons_worse_off) AS worse_off
               FROM table_comparison WHERE budget_line = 'total'
               GROUP BY return_country
               ORDER BY abs(sum(difference)) DESC, return_country LIMIT 10""",
        )
    )

    changed = comparison_per_line.filter(
        (pl.col("budget_line") != "total") & (pl.col("difference_eur") != 0)
    )
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh(
        [str(line) for line in changed["budget_line"]][::-1],
        # floats for drawing only: the table above has the exact amounts
        [float(d) for d in changed["difference_eur"]][::-1],
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("2026 minus 2025 per budget line (departed and registered dossiers)")
    ax.set_xlabel("EUR")
    fig.tight_layout()
else:
    print("No table `table_comparison` yet: run the main job (`reab run`) to build it.")

# %%
session.close()
