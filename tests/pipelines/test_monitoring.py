"""Misuse monitoring over a warehouse: every indicator fires on a crafted case and
stays quiet on the same population without it; tables, log, focus view and CLI."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.demo import insert_typed_persons
from pipelines.entitlements import build_entitlements
from pipelines.monitoring import INDICATORS, build_monitoring, lifted_countries
from pipelines.warehouse import connect, query_frame, scalar
from tests.factories import PERSONS_SCHEMA

COUNTRIES = ("AFG", "ARM", "BOL", "COL", "ECU", "GIN", "IRQ", "IRN", "MAR", "NGA", "PER")
COUNTRIES += ("SEN", "TUN", "VEN", "CMR", "GHA")
TARGET = "COL"
FIRST, LAST = date(2023, 1, 28), date(2025, 12, 28)
TARGET_DOSSIERS = 12  # the target's dossiers in the last month (clean and crafted)


def months() -> list[date]:
    out, day = [], FIRST
    while day <= LAST:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 28)
    return out


def population(seed: int = 1) -> list[dict]:
    """Single adults registering on the 28th, base rates for every indicator."""
    rng = np.random.default_rng(seed)
    rows, seen = [], {c: [] for c in COUNTRIES}
    for m, day in enumerate(months()):
        for country in COUNTRIES:
            last = day == LAST and country == TARGET
            for i in range(TARGET_DOSSIERS if last else rng.poisson(8)):
                rows.append(single(rng, country, day, f"D{country}{m:02d}{i:03d}", seen))
    return rows


def single(rng, country, day, dossier, seen) -> dict:
    status = rng.choice(["departed", "cancelled", "no_show"], p=[0.75, 0.15, 0.10])
    applicant = rng.random() < 0.4
    person_id = f"P{dossier[1:]}"
    if seen[country] and rng.random() < 0.02:
        person_id = seen[country][rng.integers(len(seen[country]))]
    seen[country].append(person_id)
    return {
        "dossier_id": dossier,
        "person_id": person_id,
        "role": "principal",
        "age_at_registration": 30,
        "sex": "M",
        "nationality": country,
        "return_country": country,
        "registration_date": day,
        "departure_date": day + timedelta(days=20) if status == "departed" else None,
        "dossier_status": str(status),
        "residence_status": "applicant" if applicant else "irregular",
        "application_type": "first" if applicant else None,
        "procedure_phase": (
            str(rng.choice(["dvz", "cgvs_pending", "rvv_pending"], p=[0.15, 0.15, 0.7]))
            if applicant
            else None
        ),
        "asylum_application_date": (
            day - timedelta(days=10 if rng.random() < 0.05 else int(rng.integers(60, 700)))
            if applicant
            else None
        ),
        "medical_basic": bool(rng.random() < 0.10),
        "previous_return_support_date": day - timedelta(days=400) if rng.random() < 0.02 else None,
        "paid_return_premium_eur": Decimal("5000.00")
        if status == "departed" and rng.random() < 0.01
        else Decimal("0.00"),
    }


def _target_last(rows):
    return [r for r in rows if r["return_country"] == TARGET and r["registration_date"] == LAST]


def craft(indicator: str, rows: list[dict]) -> list[dict]:
    """The population with ``indicator``'s pattern planted in the target's last month."""
    rng = np.random.default_rng(7)
    last = _target_last(rows)
    if indicator == "registered_dossiers":
        seen = {c: [] for c in COUNTRIES}
        for day in (LAST - timedelta(days=30), LAST):
            day = date(day.year, day.month, 28)
            rows += [single(rng, TARGET, day, f"DX{day:%m}{i:03d}", seen) for i in range(30)]
    elif indicator == "registered_persons":
        for r in last:
            for j in range(3):
                rows.append(dict(r, person_id=f"{r['person_id']}-{j}", role="other_adult"))
    elif indicator == "vulnerability_share":
        for r in last[:10]:
            r["medical_basic"] = True
    elif indicator in ("short_stay_share", "top_degressive_band_share"):
        for r in last[:10]:
            r.update(residence_status="applicant", application_type="first")
            r.update(procedure_phase="dvz" if "band" in indicator else "rvv_pending")
            gap = 10 if "short" in indicator else 400
            r["asylum_application_date"] = LAST - timedelta(days=gap)
    elif indicator == "cancelled_share":
        for r in last:
            r.update(dossier_status="cancelled", departure_date=None)
    elif indicator == "repeat_return_share":
        for r in last[:8]:
            r["previous_return_support_date"] = LAST - timedelta(days=400)
    elif indicator == "multi_dossier_share":
        earlier = [r["person_id"] for r in rows if r["return_country"] == TARGET][:8]
        for r, person_id in zip(last[:8], earlier, strict=True):
            r["person_id"] = person_id
    elif indicator == "overpaid_share":
        for r in last[:8]:
            r.update(dossier_status="departed", departure_date=LAST + timedelta(days=20))
            r["paid_return_premium_eur"] = Decimal("5000.00")
    else:
        raise AssertionError(indicator)
    return rows


def crafted_warehouse(tmp_path, rows):
    """A warehouse holding ``rows`` and their entitlements."""
    frame = pl.DataFrame(rows, schema_overrides=PERSONS_SCHEMA, infer_schema_length=None)
    missing = [c for c in PERSONS_SCHEMA if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, PERSONS_SCHEMA[c]).alias(c) for c in missing)
    db = tmp_path / "wh.duckdb"
    with connect(db) as con:
        insert_typed_persons(con, frame.select(list(PERSONS_SCHEMA)), "crafted")
        build_entitlements(con, scenario_files=[])
    return db


def monitored(tmp_path, rows) -> pl.DataFrame:
    with connect(crafted_warehouse(tmp_path, rows)) as con:
        build_monitoring(con)
        return query_frame(
            con,
            "SELECT * FROM misuse_alarms WHERE country = $c AND month = $m",
            {"c": TARGET, "m": date(LAST.year, LAST.month, 1)},
        )


@pytest.fixture(scope="module")
def clean_alarms(tmp_path_factory):
    return monitored(tmp_path_factory.mktemp("clean"), population())


@pytest.mark.parametrize("indicator", [i.name for i in INDICATORS])
def test_indicator_stays_quiet_without_the_pattern(clean_alarms, indicator):
    row = clean_alarms.filter(pl.col("indicator") == indicator)
    assert row.height == 1, f"{indicator} was not tested"
    assert not row["alarm"][0], row["reason"][0]


@pytest.mark.parametrize("indicator", [i.name for i in INDICATORS])
def test_indicator_fires_on_its_pattern(tmp_path, indicator):
    alarms = monitored(tmp_path, craft(indicator, population()))
    row = alarms.filter(pl.col("indicator") == indicator)
    assert row.height == 1 and row["alarm"][0], row.to_dicts()


def test_monitoring_tables_log_and_focus_on_the_demo_warehouse(demo_copy):
    with connect(demo_copy) as con:
        build_entitlements(con, scenario_files=[])
        first = build_monitoring(con, now=datetime(2026, 11, 1))
        again = build_monitoring(con, now=datetime(2026, 11, 2))
        assert again.new_alarms.height == 0  # nothing new the second time
        logged = scalar(con, "SELECT count(*) FROM misuse_alarm_log")
        assert logged == first.alarms.height == first.new_alarms.height
        # every tested value is in the indicators; alarms are tested values
        assert (
            scalar(
                con,
                """SELECT count(*) FROM misuse_alarms a ANTI JOIN misuse_indicators i
               USING (grouping, country, month, indicator)""",
            )
            == 0
        )
        assert scalar(con, "SELECT bool_and(dossiers >= 5) FROM misuse_alarms WHERE alarm") in (
            True,
            None,
        )
        focus = query_frame(con, "SELECT DISTINCT country FROM misuse_focus")
        assert set(focus["country"]) <= set(lifted_countries())
        assert scalar(con, "SELECT min(month) FROM misuse_focus") >= date(2026, 1, 1)


def test_monitor_cli_prints_the_months_alarms(demo_copy, capsys):
    with connect(demo_copy) as con:
        build_entitlements(con, scenario_files=[])
    assert main(["monitor", "--db", str(demo_copy), "--month", "2026-06"]) == 0
    out = capsys.readouterr().out
    assert "Misuse alarms 2026-06" in out
    with connect(demo_copy, read_only=True) as con:
        n = scalar(con, "SELECT count(*) FROM misuse_alarms WHERE alarm AND month = '2026-06-01'")
    assert out.count("  - 2026-06") == n


def test_monitor_cli_explains_what_is_missing(tmp_path, demo_copy, capsys):
    assert main(["monitor", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse" in capsys.readouterr().out
    with connect(demo_copy) as con:  # other tests may have built them in the shared copy
        con.execute("DROP TABLE IF EXISTS entitlements")
    assert main(["monitor", "--db", str(demo_copy)]) == 1  # no entitlements yet
    out = capsys.readouterr().out
    assert f"reab update --db {demo_copy}" in out and "reab entitlements" not in out
    assert main(["monitor", "--db", str(demo_copy), "--month", "May"]) == 2
