"""Misuse monitoring over the warehouse: indicator values per country and month, the
alarms, and the focus view on the countries whose 2025 restriction was lifted.

Tables written:

``misuse_indicators``
    Every indicator value per grouping (``nationality``; ``return_country`` for the
    countries where some persons return to a country other than their nationality),
    country and registration month, with its expectation and test where there is one.
``misuse_alarms``
    The tested values with ``q_value`` (Benjamini-Hochberg per month) and ``alarm``,
    plus a ``reason`` in words.
``misuse_focus``
    The monitored countries (T26-NO-RESTRICT) in every month since the restriction was
    lifted, against their own history before 2025 (same calendar month, 2022-2024).
``misuse_alarm_log``
    When each alarm was first seen (the asset check fails on alarms not seen before).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import numpy as np
import polars as pl

from data_contracts.demo.plan import FIRST_YEAR, plan
from models.forecast import month_index, month_of
from models.monitoring.alarms import decide_alarms
from models.monitoring.evaluation import Trials, evaluate
from models.monitoring.shares import share_tests
from models.monitoring.surges import detect_surges
from pipelines.forecast import last_complete_month, policy_effects
from pipelines.freshness import record_build
from pipelines.warehouse import query_frame, registered, replace_table, scalar
from rules.budget_lines import REINTEGRATION_LINES
from rules.engine import DUBLIN_PHASES
from rules.parameters import applicable_rules, built_in_table
from rules.reference import EARLY_PHASES

Progress = Callable[[str], None]
GROUPINGS = ("nationality", "return_country")
FOCUS_HISTORY_YEARS = (2022, 2023, 2024)


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    unit: str
    kind: str  # "volume" or "share"


# Numerator and denominator columns of the monthly aggregate (see AGGREGATE_SQL).
INDICATORS = (
    Indicator("registered_dossiers", "registering dossiers", "dossiers", "volume"),
    Indicator("registered_persons", "registering persons", "persons", "volume"),
    Indicator("vulnerability_share", "persons claiming a vulnerability", "persons", "share"),
    Indicator(
        "short_stay_share",
        "persons registering within 30 days of their asylum application or arrival",
        "persons",
        "share",
    ),
    Indicator(
        "top_degressive_band_share",
        "first-application applicants in the highest degressive band",
        "persons",
        "share",
    ),
    Indicator(
        "cancelled_share", "dossiers cancelled or no-show after registration", "dossiers", "share"
    ),
    Indicator(
        "repeat_return_share",
        "persons with an assisted return in the five years before (C-EXCL-5Y)",
        "persons",
        "share",
    ),
    Indicator("multi_dossier_share", "persons already in another dossier", "persons", "share"),
    Indicator(
        "overpaid_share",
        "departed persons paid more premium or reintegration than the applicable table",
        "persons",
        "share",
    ),
)
BY_NAME = {i.name: i for i in INDICATORS}
LIFTED_RULE = "T26-NO-RESTRICT"

# One row per person: the month, both country keys, and 0/1 facts for every indicator.
PERSON_FACTS_SQL = """
WITH earlier AS (
    SELECT DISTINCT a.dossier_id, a.person_id
    FROM dossier_persons a JOIN dossier_persons b
      ON a.person_id = b.person_id AND a.dossier_id <> b.dossier_id
     AND b.registration_date <= a.registration_date
),
applicable AS (
    SELECT dossier_id, person_id, return_premium, {reintegration} AS reintegration,
           contains(rules, 'C-EXCL-5Y') AS five_year
    FROM entitlements WHERE "table" = 'applicable'
)
SELECT date_trunc('month', p.registration_date)::DATE AS month, p.dossier_id,
       p.nationality, p.return_country,
       p.role = 'principal' AS principal,
       p.dossier_status IN ('departed', 'cancelled', 'no_show') AS settled,
       p.dossier_status IN ('cancelled', 'no_show') AS cancelled,
       coalesce(p.pregnant OR p.ex_unaccompanied_minor OR p.single_parent
                OR p.trafficking_victim OR p.medical_basic, false) AS vulnerable,
       greatest(p.asylum_application_date, p.arrival_in_belgium_date) IS NOT NULL
           AS stay_known,
       coalesce(p.registration_date
                - greatest(p.asylum_application_date, p.arrival_in_belgium_date) <= 30,
                false) AS short_stay,
       coalesce(p.residence_status = 'applicant' AND p.application_type = 'first'
                AND NOT coalesce(p.protection_in_other_member_state, false), false)
           AS first_applicant,
       coalesce(p.procedure_phase IN ({early})
                OR (p.procedure_phase IN ({dublin}) AND p.belgium_responsible), false)
           AS top_band_phase,
       coalesce(a.five_year, false) AS five_year,
       e.person_id IS NOT NULL AS multi_dossier,
       p.dossier_status = 'departed' AS departed,
       coalesce(p.paid_return_premium_eur > a.return_premium
                OR p.paid_reintegration_eur > a.reintegration, false) AS overpaid
FROM dossier_persons p
LEFT JOIN applicable a USING (dossier_id, person_id)
LEFT JOIN earlier e USING (dossier_id, person_id)
WHERE p.registration_date < $until
"""

# Numerator (k_), denominator (n_) and the dossiers behind the numerator (c_) of every
# indicator, from its condition on the person facts. Dossier-level indicators take the
# principal's row (one per dossier): a dossier counts under its principal's country.
INDICATOR_CONDITIONS: dict[str, tuple[str, str | None]] = {
    "registered_dossiers": ("principal", None),
    "registered_persons": ("true", None),
    "vulnerability_share": ("vulnerable", "true"),
    "short_stay_share": ("stay_known AND short_stay", "stay_known"),
    "top_degressive_band_share": ("first_applicant AND top_band_phase", "first_applicant"),
    "cancelled_share": ("principal AND cancelled", "principal AND settled"),
    "repeat_return_share": ("five_year", "true"),
    "multi_dossier_share": ("multi_dossier", "true"),
    "overpaid_share": ("departed AND overpaid", "departed"),
}


def aggregate_sql(key: str) -> str:
    columns = []
    for name, (numerator, denominator) in INDICATOR_CONDITIONS.items():
        columns.append(f"count(*) FILTER (WHERE {numerator}) AS k_{name}")
        columns.append(f"count(DISTINCT dossier_id) FILTER (WHERE {numerator}) AS c_{name}")
        if denominator is not None:
            columns.append(f"count(*) FILTER (WHERE {denominator}) AS n_{name}")
    return f"SELECT {key} AS country, month, {', '.join(columns)} FROM facts GROUP BY ALL"


def _require_tables(con: duckdb.DuckDBPyConnection) -> None:
    present = {
        row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if "dossier_persons" not in present or not scalar(con, "SELECT count(*) FROM dossier_persons"):
        raise ValueError("the warehouse holds no dossiers: ingest extracts first (reab ingest)")
    if "entitlements" not in present:
        raise ValueError(
            "table entitlements is missing: run `reab update --db WAREHOUSE` (or materialise "
            "the entitlements asset) first - the payment and five-year indicators need it"
        )


def monthly_aggregates(con: duckdb.DuckDBPyConnection, until_month: int) -> pl.DataFrame:
    """Numerators and denominators per grouping, country and registration month, up to
    and including ``until_month`` (``build_monitoring`` checks the tables first)."""
    quote = ", ".join
    facts_sql = PERSON_FACTS_SQL.format(
        reintegration=" + ".join(REINTEGRATION_LINES),
        early=quote(f"'{p}'" for p in EARLY_PHASES),
        dublin=quote(f"'{p}'" for p in DUBLIN_PHASES),
    )
    until = month_of(until_month + 1)
    con.execute(f"CREATE OR REPLACE TEMP TABLE facts AS {facts_sql}", {"until": until})
    try:
        parts = [
            query_frame(con, aggregate_sql(grouping)).with_columns(
                pl.lit(grouping).alias("grouping")
            )
            for grouping in GROUPINGS
        ]
    finally:
        con.execute("DROP TABLE IF EXISTS facts")
    return pl.concat(parts, how="diagonal_relaxed")


def differing_countries(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Countries where some person's nationality and return country differ."""
    rows = con.execute(
        """SELECT DISTINCT unnest([nationality, return_country]) FROM dossier_persons
           WHERE nationality <> return_country"""
    ).fetchall()
    return {r[0] for r in rows}


def regime_breaks() -> dict[str, list[int]]:
    """Month indices where a country's own support changed (restriction start and end,
    end of base reintegration, end of the premium): earlier months are no baseline."""
    breaks: dict[str, list[int]] = {}
    for effect in policy_effects():
        if effect.countries is None:
            continue
        for country in effect.countries:
            for day in (effect.start, effect.end):
                if day is not None:
                    breaks.setdefault(country, []).append(month_index(day))
    return breaks


def history_start(
    countries: list[str], first: np.ndarray, first_month: int, n_months: int
) -> np.ndarray:
    """(country × month) first column a baseline may use: the country's first month
    with registrations, or its latest regime break, whichever is later."""
    breaks = regime_breaks()
    months = first_month + np.arange(n_months)
    start = np.tile(first[:, None], (1, n_months))
    for i, country in enumerate(countries):
        for brk in breaks.get(country, []):
            start[i] = np.where(months >= brk, np.maximum(start[i], brk - first_month), start[i])
    return start


def lifted_countries() -> tuple[str, ...]:
    """The monitored countries of the newest table (T26-NO-RESTRICT)."""
    rules = applicable_rules()
    table = built_in_table(rules.after_table)
    return tuple(table.value("monitored_countries", rules.new_table_from.value))


def _panel(frame: pl.DataFrame, first_month: int, n_months: int):
    countries = sorted(frame["country"].unique().to_list())
    position = {c: i for i, c in enumerate(countries)}
    rows = np.array([position[c] for c in frame["country"].to_list()], dtype=np.int64)
    cols = np.array([month_index(m) for m in frame["month"].to_list()], dtype=np.int64)
    cols -= first_month

    def matrix(column: str) -> np.ndarray:
        out = np.zeros((len(countries), n_months))
        np.add.at(out, (rows, cols), frame[column].to_numpy())
        return out

    return countries, matrix


def persons_variance_factor(con: duckdb.DuckDBPyConnection) -> float:
    """Mean of size² / mean size over all dossiers: the variance of a count of persons
    over its mean when dossiers come as a Poisson stream (families come together)."""
    value = scalar(
        con,
        """SELECT sum(n * n) / sum(n) FROM (
               SELECT count(*)::DOUBLE AS n FROM dossier_persons GROUP BY dossier_id)""",
    )
    return float(value or 1.0)


def indicator_values(
    aggregates: pl.DataFrame, first_month: int, last_month: int, persons_factor: float = 1.0
) -> pl.DataFrame:
    """Every indicator of every grouping, country and month with its test (long)."""
    n_months = last_month - first_month + 1
    out = []
    for grouping in GROUPINGS:
        frame = aggregates.filter(pl.col("grouping") == grouping)
        if frame.is_empty():
            continue
        countries, matrix = _panel(frame, first_month, n_months)
        persons = matrix("k_registered_persons")
        first = np.argmax(persons > 0, axis=1)
        start = history_start(countries, first, first_month, n_months)
        for indicator in INDICATORS:
            k = matrix(f"k_{indicator.name}")
            if indicator.kind == "volume":
                floor = persons_factor if indicator.unit == "persons" else 1.0
                tests = detect_surges(k, start, variance_floor=floor)
                n = np.full(k.shape, np.nan)
                programme = own = np.full(k.shape, np.nan)
            else:
                n = matrix(f"n_{indicator.name}")
                tests = share_tests(k, n, start)
                programme, own = tests.programme_share, tests.own_share
            out.append(
                pl.DataFrame(
                    {
                        "grouping": grouping,
                        "country": np.repeat(countries, n_months),
                        "month": np.tile(np.arange(first_month, last_month + 1), len(countries)),
                        "indicator": indicator.name,
                        "unit": indicator.unit,
                        "observed": k.ravel().astype(np.int64),
                        "dossiers": matrix(f"c_{indicator.name}").ravel().astype(np.int64),
                        "denominator": n.ravel(),
                        "expected": tests.expected.ravel(),
                        "upper": tests.upper.ravel(),
                        "score": tests.score.ravel(),
                        "p_value": tests.p_value.ravel(),
                        "method": tests.method.ravel(),
                        "baseline_months": tests.baseline_months.ravel(),
                        "programme_share": np.asarray(programme).ravel(),
                        "own_share": np.asarray(own).ravel(),
                    },
                    strict=False,
                )
            )
    values = pl.concat(out)
    # a country enters a month's table once it has registered at all
    seen = (
        values.filter(pl.col("indicator") == "registered_persons")
        .sort("month")
        .with_columns((pl.col("observed").cum_sum().over("grouping", "country") > 0).alias("_seen"))
        .select("grouping", "country", "month", "_seen")
    )
    return (
        values.join(seen, on=["grouping", "country", "month"])
        .filter(pl.col("_seen"))
        .drop("_seen")
        .with_columns(
            pl.col("month").map_elements(month_of, return_dtype=pl.Date),
            pl.col("denominator").cast(pl.Int64, strict=False),
            *[pl.col(c).fill_nan(None) for c in ("expected", "upper", "score", "p_value")],
            pl.col("programme_share").fill_nan(None),
            pl.col("own_share").fill_nan(None),
        )
    )


def _fmt(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def reason(row: dict) -> str:
    """One sentence a policy officer can read: what, how many, against what."""
    indicator = BY_NAME[row["indicator"]]
    where = "returning to" if row["grouping"] == "return_country" else "of nationality"
    head = f"{row['month']:%Y-%m}, {where} {row['country']}: "
    if indicator.kind == "volume":
        method = (
            f"negative-binomial GLM on {row['baseline_months']} months of own history"
            if row["method"] == "negbin_glm"
            else f"short baseline (EARS C2) of {row['baseline_months']} months"
        )
        text = (
            f"{row['observed']} {indicator.label} against {_fmt(row['expected'])} expected "
            f"(upper bound {_fmt(row['upper'])}; {method})"
        )
    else:
        share = row["observed"] / row["denominator"]
        own = row["own_share"]
        own_text = f", own baseline {own:.0%}" if own is not None else ""
        text = (
            f"{row['observed']} of {row['denominator']} {indicator.label} ({share:.0%}) "
            f"against programme {row['programme_share']:.0%}{own_text} "
            f"(expected {_fmt(row['expected'])}, upper bound {_fmt(row['upper'])})"
        )
    q = row.get("q_value")
    q_text = f", q = {q:.2g}" if q is not None else ""
    return f"{head}{text}; p = {row['p_value']:.2g}{q_text}"


def alarms_from(values: pl.DataFrame) -> pl.DataFrame:
    """The tested values with q-value, alarm and reason."""
    tested = values.filter(pl.col("p_value").is_not_null())
    decided = decide_alarms(tested)
    reasons = [reason(row) for row in decided.iter_rows(named=True)]
    return decided.with_columns(pl.Series("reason", reasons, dtype=pl.String)).select(
        "country",
        "month",
        "indicator",
        "observed",
        "expected",
        "score",
        "p_value",
        "q_value",
        "method",
        "alarm",
        "grouping",
        "denominator",
        "dossiers",
        "upper",
        "reason",
    )


def focus_view(values: pl.DataFrame, lifted: tuple[str, ...], since: date) -> pl.DataFrame:
    """The lifted countries' months since ``since`` against the same calendar month of
    2022-2024 (volumes) or the pooled 2022-2024 share (shares)."""
    rows = values.filter(
        (pl.col("grouping") == "nationality") & pl.col("country").is_in(list(lifted))
    ).with_columns(pl.col("month").dt.year().alias("_year"), pl.col("month").dt.month().alias("_m"))
    history = rows.filter(pl.col("_year").is_in(FOCUS_HISTORY_YEARS))
    volume_names = [i.name for i in INDICATORS if i.kind == "volume"]
    volume_history = (
        history.filter(pl.col("indicator").is_in(volume_names))
        .group_by("country", "indicator", "_m")
        .agg((pl.col("observed").sum() / len(FOCUS_HISTORY_YEARS)).alias("before_2025"))
    )
    share_history = (
        history.filter(~pl.col("indicator").is_in(volume_names))
        .group_by("country", "indicator")
        .agg(
            (pl.col("observed").sum() / pl.col("denominator").sum().cast(pl.Float64)).alias(
                "share_before_2025"
            )
        )
    )
    recent = rows.filter(pl.col("month") >= since)
    return (
        recent.join(volume_history, on=["country", "indicator", "_m"], how="left")
        .join(share_history, on=["country", "indicator"], how="left")
        .with_columns(
            pl.when(pl.col("indicator").is_in(volume_names))
            .then(pl.col("before_2025"))
            .otherwise(pl.col("share_before_2025") * pl.col("denominator"))
            .alias("expected_from_before_2025")
        )
        .with_columns(
            (pl.col("observed") / pl.col("expected_from_before_2025")).alias("ratio_to_before_2025")
        )
        .select(
            "country",
            "month",
            "indicator",
            "observed",
            "denominator",
            "expected_from_before_2025",
            "ratio_to_before_2025",
            "expected",
            "score",
            "method",
        )
        .sort("country", "indicator", "month")
    )


@dataclass(frozen=True)
class MonitoringResult:
    last_month: date
    indicators: int
    tested: int
    alarms: pl.DataFrame  # alarm rows only
    new_alarms: pl.DataFrame


def build_monitoring(
    con: duckdb.DuckDBPyConnection, progress: Progress | None = None, now: datetime | None = None
) -> MonitoringResult:
    """Replace ``misuse_indicators``, ``misuse_alarms`` and ``misuse_focus``; log the
    alarms not seen before in ``misuse_alarm_log``."""
    say = progress or (lambda _msg: None)
    _require_tables(con)
    first = scalar(con, "SELECT min(registration_date) FROM dossier_persons")
    last = last_complete_month(con)
    first_month = month_index(first)
    if last < first_month:
        raise ValueError("the warehouse holds no complete month of registrations yet")
    say(f"aggregating registrations {first:%Y-%m} to {month_of(last):%Y-%m}")
    aggregates = monthly_aggregates(con, last)
    differing = differing_countries(con)
    aggregates = aggregates.filter(
        (pl.col("grouping") == "nationality") | pl.col("country").is_in(list(differing))
    )
    say(f"testing {len(INDICATORS)} indicators per country and month")
    values = indicator_values(aggregates, first_month, last, persons_variance_factor(con))
    alarms = alarms_from(values)
    rules = applicable_rules()
    focus = focus_view(values, lifted_countries(), rules.new_table_from.value)
    replace_table(con, "misuse_indicators", values)
    replace_table(con, "misuse_alarms", alarms)
    replace_table(con, "misuse_focus", focus)
    raised = alarms.filter(pl.col("alarm"))
    new = log_new_alarms(con, raised, now or datetime.now())
    record_build(con, "misuse_indicators", "misuse_alarms")
    say(f"{raised.height} alarms in all months, {new.height} not seen before")
    return MonitoringResult(month_of(last), values.height, alarms.height, raised, new)


def log_new_alarms(
    con: duckdb.DuckDBPyConnection, raised: pl.DataFrame, now: datetime
) -> pl.DataFrame:
    """Append the alarms not yet in ``misuse_alarm_log``; return them."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS misuse_alarm_log (
               grouping VARCHAR, country VARCHAR, month DATE, indicator VARCHAR,
               first_seen TIMESTAMP, reason VARCHAR)"""
    )
    keys = raised.select("grouping", "country", "month", "indicator", "reason")
    with registered(con, raised_now=keys):
        new = query_frame(
            con,
            """SELECT r.* FROM raised_now r ANTI JOIN misuse_alarm_log l
               USING (grouping, country, month, indicator)
               ORDER BY month, country, indicator""",
        )
    if new.height:
        with registered(con, new_alarms=new):
            con.execute(
                "INSERT INTO misuse_alarm_log SELECT grouping, country, month, indicator, "
                "$now, reason FROM new_alarms",
                {"now": now},
            )
    return new


def alarms_of_month(con: duckdb.DuckDBPyConnection, month: date | None = None) -> pl.DataFrame:
    """The alarms of ``month`` (default: the latest month in ``misuse_alarms``)."""
    if month is None:
        month = scalar(con, "SELECT max(month) FROM misuse_alarms")
    return query_frame(
        con,
        """SELECT * FROM misuse_alarms WHERE alarm AND month = $month
           ORDER BY q_value, score DESC""",
        {"month": month},
    )


# ---------------------------------------------------------------------------
# Evaluation of the detectors on the demo generator's plan
# ---------------------------------------------------------------------------
EVALUATION_FROM = date(2024, 1, 1)
LAST_SURGE_START = date(2026, 6, 1)
EVALUATED_DETECTORS = ("detect_surges", "oracle")
MID_SIZED_DOSSIERS = (4.0, 15.0)  # expected registering dossiers in the surge's first month


def demo_trials(scale: float = 1.0):
    """The demo generator's expected registering dossiers per return country and
    month (surges left out) as a trial setup. A surge may start in any month from
    ``EVALUATION_FROM`` to ``LAST_SURGE_START`` in which a country without a
    regime change of its own is mid-sized: ``MID_SIZED_DOSSIERS`` expected that
    month. Returns the setup and the countries that can get a surge."""
    p = plan()
    expected = (p.persons * scale / p.mean_size[None, :]).T  # countries × months
    countries = list(p.iso3)
    first_month = FIRST_YEAR * 12
    n_months = expected.shape[1]
    first = np.argmax(expected > 0, axis=1)
    start = history_start(countries, first, first_month, n_months)
    months = slice(
        month_index(EVALUATION_FROM) - first_month, month_index(LAST_SURGE_START) - first_month + 1
    )
    lo, hi = MID_SIZED_DOSSIERS
    window = expected[:, months]
    mid_sized = (window >= lo * scale) & (window <= hi * scale)
    mid_sized[np.isin(countries, list(regime_breaks()))] = False
    rows, columns = np.nonzero(mid_sized)
    setup = Trials(
        expected=expected,
        history_start=start,
        surge_cells=np.column_stack([rows, columns + months.start]),
        first_month=months.start,
    )
    return setup, [countries[i] for i in np.unique(rows)]


def build_monitoring_evaluation(
    con: duckdb.DuckDBPyConnection, trials: int, seed: int = 0, progress: Progress | None = None
) -> pl.DataFrame:
    """Replace table ``monitoring_evaluation`` with the detectors' figures on the demo
    plan (clean, x2 and x3 surges; Poisson and over-dispersed noise), next to the
    oracle's on the same trials (the limit under the same alarm rule)."""
    setup, candidates = demo_trials()
    frame = evaluate(
        setup, trials, seed=seed, progress=progress, detectors=EVALUATED_DETECTORS
    ).with_columns(
        pl.lit(", ".join(candidates)).alias("surge_countries"),
        pl.lit(f"{EVALUATION_FROM:%Y-%m} to the end of the plan").alias("months"),
    )
    replace_table(con, "monitoring_evaluation", frame)
    return frame
