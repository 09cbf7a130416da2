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
# # One country's misuse monitoring
#
# A deep dive into the monitoring of one nationality: its monthly registrations
# against what its past makes plausible, the alarms raised for it (with their reason),
# the focus view of the four countries whose 2025 restriction was lifted on
# 2026-01-01, and its share indicators over time.
#
# **Which country.** The environment variable `REAB_COUNTRY` (ISO 3166-1 alpha-3,
# default `MNG`, Mongolia). **Which warehouse.** `REAB_DB` (default
# `data/reab.duckdb`), opened **read-only**. The tables come from the monitoring step
# of the main job (`reab run`, or `reab monitor` after the entitlements):
# `misuse_indicators`, `misuse_alarms` and `misuse_focus` (README, "Misuse monitoring").
#
# **Internal use.** The counts below are per country and month and not
# disclosure-controlled: apply `models/disclosure.py` before sharing them.

# %%
import os
from contextlib import ExitStack

import matplotlib.pyplot as plt
import polars as pl
from notebook_setup import configure_tables, show

from pipelines.warehouse import connect, default_db_path, query_frame, scalar

configure_tables(width=200, strings=200)


COUNTRY = (os.environ.get("REAB_COUNTRY") or "MNG").strip().upper()
DB = default_db_path()
session = ExitStack()
con = session.enter_context(connect(DB, read_only=True))
print(f"Warehouse: {DB.resolve()} (read-only); country: {COUNTRY}")

# %% [markdown]
# ## 0. Is the country monitored?
#
# The monitoring has a row per month for every nationality from its first
# registration on. A country without rows in `misuse_indicators` (a typo, or a country
# that never registered) stops the notebook with the list of the countries there are.

# %%
tables = {
    name
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
}
missing = sorted({"misuse_indicators", "misuse_alarms"} - tables)
if missing:
    raise ValueError(
        f"{DB} has no table {', '.join(missing)}: build the monitoring first (`reab run`, "
        "or `reab monitor` once the entitlements are built)"
    )

VOLUME = {"grouping": "nationality", "indicator": "registered_dossiers"}
volume_rows = scalar(
    con,
    """SELECT count(*) FROM misuse_indicators
       WHERE grouping = $grouping AND indicator = $indicator AND country = $country""",
    {**VOLUME, "country": COUNTRY},
)
if not volume_rows:
    available = [
        country
        for (country,) in con.execute(
            """SELECT DISTINCT country FROM misuse_indicators
               WHERE grouping = $grouping AND indicator = $indicator ORDER BY country""",
            VOLUME,
        ).fetchall()
    ]
    raise ValueError(
        f"country {COUNTRY!r} has no rows in misuse_indicators (indicator registered_dossiers, "
        f"grouping nationality) of {DB}; available countries ({len(available)}): "
        f"{', '.join(available) or 'none'}"
    )

# %% [markdown]
# ## 1. Monthly registrations against expectation
#
# `misuse_indicators`, indicator `registered_dossiers`, grouping `nationality`:
# `observed` is the number of dossiers of the country's nationals registered in the
# month; `expected` and `upper` (the bound above which a month is unusual) come from
# the country's own past - `method` says how: `negbin_glm` (three years of history),
# `ears_c2` (a short baseline of `baseline_months` months) or `insufficient_history`
# (no test). The months since a policy change of the country's own (e.g. the 2025
# restriction and its lifting) are judged on the months after it only.

# %%
volume = query_frame(
    con,
    """SELECT month, observed, round(expected, 2) AS expected, upper, p_value, method,
              baseline_months
       FROM misuse_indicators
       WHERE grouping = $grouping AND indicator = $indicator AND country = $country
       ORDER BY month""",
    {**VOLUME, "country": COUNTRY},
)
first_month, last_month = volume["month"].min(), volume["month"].max()
print(
    f"{COUNTRY}: registered dossiers over {volume.height} months "
    f"({first_month:%Y-%m} to {last_month:%Y-%m}): {volume['observed'].sum():,}"
)
above = volume.filter(pl.col("observed") > pl.col("upper"))
print(f"Months above the upper bound: {above.height}")
print("The last 24 months:")
show(volume.tail(24))

# %% [markdown]
# ## 2. Alarms
#
# `misuse_alarms` holds every tested value (all nine indicators, grouped by
# nationality and, where some persons return elsewhere, by return country); `alarm` is
# true when at least 5 dossiers are behind the count, it is above expectation and
# q <= 0.05 (Benjamini-Hochberg over all tests of the month). `reason` is the sentence
# a policy officer reads.

# %%
alarms = query_frame(
    con,
    """SELECT month, grouping, indicator, observed, expected, upper, p_value, q_value, reason
       FROM misuse_alarms WHERE alarm AND country = $country
       ORDER BY month, grouping, indicator""",
    {"country": COUNTRY},
)
tested = scalar(con, "SELECT count(*) FROM misuse_alarms WHERE country = $c", {"c": COUNTRY})
print(f"Alarms for {COUNTRY}: {alarms.height} (of {tested:,} tested values)")
for reason in alarms["reason"]:
    print(f"  - {reason}")
volume_alarm_months = alarms.filter(
    (pl.col("grouping") == VOLUME["grouping"]) & (pl.col("indicator") == VOLUME["indicator"])
)["month"].to_list()
other_alarm_months = sorted(set(alarms["month"].to_list()) - set(volume_alarm_months))
print(
    "Alarm months (registered dossiers): "
    + (", ".join(f"{m:%Y-%m}" for m in volume_alarm_months) or "none")
)
if other_alarm_months:
    print("Months with other alarms: " + ", ".join(f"{m:%Y-%m}" for m in other_alarm_months))

# %% [markdown]
# ## 3. The chart: observed against expected and upper bound
#
# Months with an alarm on the registered dossiers are marked with a red dot; months
# with an alarm on another indicator with a dotted line. Months without a test have no
# expectation (the line breaks).

# %%
months = volume["month"].to_list()
fig, ax = plt.subplots(figsize=(11, 4))
ax.plot(months, volume["observed"].to_numpy(), color="black", linewidth=1, label="observed")
ax.plot(months, volume["expected"].to_numpy(), color="tab:blue", label="expected")
ax.plot(months, volume["upper"].to_numpy(), color="tab:orange", linestyle="--", label="upper bound")
alarm_points = volume.filter(pl.col("month").is_in(volume_alarm_months))
ax.scatter(
    alarm_points["month"].to_list(),
    alarm_points["observed"].to_list(),
    color="red",
    s=60,
    zorder=3,
    label="alarm",
)
for month in other_alarm_months:
    ax.axvline(month, color="red", linestyle=":", linewidth=0.8)
ax.set_title(f"{COUNTRY}: registered dossiers per month (nationality)")
ax.set_ylabel("dossiers")
ax.legend(loc="upper left")
fig.tight_layout()

# %% [markdown]
# ## 4. Focus: the countries whose restriction was lifted
#
# `misuse_focus` follows Belarus, Jordan, Mongolia and Pakistan (the 2025 restriction,
# lifted on 2026-01-01) from 2026-01 on: each month against the same calendar month of
# 2022-2024 (`expected_from_before_2025`; for shares: the 2022-2024 share times this
# month's denominator) and their ratio.

# %%
if "misuse_focus" in tables:
    focus = query_frame(
        con,
        """SELECT month, indicator, observed, denominator, expected_from_before_2025,
                  ratio_to_before_2025, expected, method
           FROM misuse_focus WHERE country = $country ORDER BY indicator, month""",
        {"country": COUNTRY},
    )
    if focus.height:
        focus_volume = focus.filter(pl.col("indicator") == VOLUME["indicator"])
        print(
            f"{COUNTRY} in misuse_focus: {focus.height} rows; registered dossiers since "
            f"{focus_volume['month'].min():%Y-%m}: {focus_volume['observed'].sum():,} against "
            f"{focus_volume['expected_from_before_2025'].sum():,.1f} in the same months of "
            "2022-2024 (yearly mean)"
        )
        show(
            focus_volume.drop("indicator", "denominator").with_columns(
                pl.col("expected_from_before_2025", "ratio_to_before_2025", "expected").round(2)
            )
        )
        print("Every focus indicator, summed over the months:")
        show(
            focus.group_by("indicator")
            .agg(
                pl.col("observed").sum(),
                pl.col("expected_from_before_2025").sum(),
            )
            .with_columns(
                pl.col("expected_from_before_2025").round(2),
                (pl.col("observed") / pl.col("expected_from_before_2025"))
                .round(2)
                .alias("ratio_to_before_2025"),
            )
            .sort("indicator")
        )
    else:
        countries = con.execute("SELECT DISTINCT country FROM misuse_focus ORDER BY 1").fetchall()
        print(
            f"{COUNTRY} is not in misuse_focus (its countries: "
            f"{', '.join(c for (c,) in countries) or 'none'})."
        )
else:
    print("No table misuse_focus in this warehouse.")

# %% [markdown]
# ## 5. Share indicators over time
#
# The seven share indicators of `misuse_indicators` (grouping `nationality`): of the
# persons (or dossiers, for `cancelled_share`) they apply to - the `denominator` - how
# many have the property (`observed`). Monthly counts of a small country are noisy, so
# the table and the chart show each calendar year: the country's share against the
# programme's (all nationalities together). An alarm on a share needs the country above
# both the programme and its own recent past in a month (section 2).

# %%
shares = query_frame(
    con,
    """WITH yearly AS (
           SELECT indicator, year(month) AS year, country = $country AS is_country,
                  sum(observed) AS observed, sum(denominator) AS denominator
           FROM misuse_indicators
           WHERE grouping = 'nationality' AND denominator IS NOT NULL
           GROUP BY ALL)
       SELECT indicator, year,
              sum(observed) FILTER (WHERE is_country) AS observed,
              sum(denominator) FILTER (WHERE is_country) AS denominator,
              sum(observed) FILTER (WHERE is_country)
                  / nullif(sum(denominator) FILTER (WHERE is_country), 0) AS share,
              sum(observed) / nullif(sum(denominator), 0) AS programme_share
       FROM yearly GROUP BY ALL
       HAVING sum(denominator) FILTER (WHERE is_country) > 0
       ORDER BY indicator, year""",
    {"country": COUNTRY},
)
share_indicators = sorted(shares["indicator"].unique().to_list())
print(f"{COUNTRY}: {len(share_indicators)} share indicators, yearly share (%):")
show(
    shares.with_columns((pl.col("share") * 100).round(1))
    .pivot(on="year", index="indicator", values="share")
    .sort("indicator")
)
print("The programme, yearly share (%):")
show(
    shares.with_columns((pl.col("programme_share") * 100).round(1))
    .pivot(on="year", index="indicator", values="programme_share")
    .sort("indicator")
)

columns = 4
rows = max(1, -(-len(share_indicators) // columns))
fig, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), squeeze=False)
for ax, indicator in zip(axes.flat, share_indicators, strict=False):
    one = shares.filter(pl.col("indicator") == indicator)
    ax.plot(one["year"].to_list(), (one["share"] * 100).to_list(), marker="o", label=COUNTRY)
    ax.plot(
        one["year"].to_list(),
        (one["programme_share"] * 100).to_list(),
        color="grey",
        linestyle="--",
        label="programme",
    )
    ax.set_title(indicator, fontsize=9)
    ax.set_ylabel("%")
for ax in list(axes.flat)[len(share_indicators) :]:
    ax.set_visible(False)
axes.flat[0].legend(fontsize=8)
fig.suptitle(f"{COUNTRY}: share indicators per registration year")
fig.tight_layout()

# %%
session.close()
