"""The forecast tables on a small demo warehouse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from models.backtest import BacktestSettings
from models.budget import CATEGORIES, LINES
from models.forecast import month_index, month_of
from pipelines.demo import insert_typed_persons
from pipelines.forecast import (
    build_budget_forecast,
    build_forecast_backtest,
    build_volume_forecast,
    country_groups,
    ensure_year_baseline,
    horizon_months,
    load_panel,
    load_templates,
    policy_effects,
    simulate,
)
from pipelines.warehouse import connect, scalar
from rules.parameters import built_in_table
from tests.factories import PERSONS_SCHEMA, person, typed_row


def test_panel_counts_every_dossier_once(demo_warehouse):
    with connect(demo_warehouse, read_only=True) as con:
        panel = load_panel(con)
        dossiers = scalar(con, "SELECT count(DISTINCT dossier_id) FROM dossier_persons")
        persons = scalar(con, "SELECT count(*) FROM dossier_persons")
        in_last = scalar(
            con,
            "SELECT count(DISTINCT dossier_id) FROM dossier_persons "
            "WHERE registration_date >= DATE '2026-11-01'",
        )
    assert panel.dossiers.sum() == dossiers - in_last
    assert panel.persons.sum() >= panel.dossiers.sum()
    assert panel.persons.sum() <= persons
    assert panel.last_month == 2026 * 12 + 9  # the demo runs through October 2026


def test_policy_dates_come_from_the_tables():
    effects = {e.name: e for e in policy_effects()}
    assert effects["restriction_2025"].countries == ("BLR", "JOR", "MNG", "PAK")
    assert effects["restriction_2025"].start == date(2025, 1, 1)
    assert effects["restriction_2025"].end == date(2026, 1, 1)
    assert effects["reintegration_ended_BRA"].start == date(2025, 12, 1)
    assert effects["new_table_2026"].countries is None


def test_groups_and_horizon():
    groups = country_groups(("MNG", "BRA", "ALB", "AFG", "GEO"))
    assert groups == {
        "MNG": "lifted restrictions",
        "BRA": "Latin America",
        "ALB": "Balkans",
        "AFG": "other visa-required",
        "GEO": "other visa-free",
    }
    months = horizon_months(2026 * 12 + 9)
    assert len(months) == 14 and months[-1] == 2027 * 12 + 11


def test_volume_forecast_levels_add_up_and_cover_the_horizon(demo_copy):
    with connect(demo_copy) as con:
        build_volume_forecast(con, draws=300)
        rows = con.sql("SELECT * FROM volume_forecast").pl()
    months = rows.filter(level="total")["month"].to_list()
    assert months[0] == date(2026, 11, 1) and months[-1] == date(2027, 12, 1)
    total = rows.filter(level="total")["mean"].sum()
    assert np.isclose(rows.filter(level="country")["mean"].sum(), total)
    assert np.isclose(rows.filter(level="group")["mean"].sum(), total)
    assert (rows["lo95"] <= rows["lo80"]).all() and (rows["lo80"] <= rows["hi80"]).all()
    assert (rows["hi80"] <= rows["hi95"]).all()


def test_backtest_table(demo_copy):
    with connect(demo_copy) as con:
        build_forecast_backtest(con, BacktestSettings(origins=2, draws=200))
        rows = con.sql("SELECT * FROM forecast_backtest ORDER BY country_group").pl()
    assert "total" in rows["country_group"].to_list()
    assert (rows["origins"] == 2).all()
    assert rows["coverage80"].is_between(0, 1).all()
    assert rows["mase_seasonal_naive"].is_not_null().all()


def test_budget_forecast_levels_tables_and_assumptions_agree(demo_copy):
    with connect(demo_copy) as con:
        con.execute("DROP TABLE IF EXISTS entitlements")  # (another test may have built it)
        sim = simulate(con, draws=200, seed=1)
        yearly = build_budget_forecast(con, simulation=sim)
        build_volume_forecast(con, simulation=sim)
        rows = con.sql("SELECT * FROM budget_forecast").pl()
        assumptions = con.sql("SELECT * FROM budget_assumptions").pl()
        volume = con.sql("SELECT * FROM volume_forecast").pl()
        # without entitlements (this year's commitments) there is no bridge, and no error
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
        assert "budget_bridge" not in tables and "budget_bands" in tables
    assert set(rows["table"]) == {
        "2025",
        "2026",
        "degressive_1500",
        "2026 - 2025",
        "degressive_1500 - 2025",
    }
    assert set(rows.filter(level="country")["key"]) == set(sim.countries)
    assert set(rows.filter(level="category")["key"]) == set(CATEGORIES)
    assert set(rows["budget_line"]) == set(LINES)
    assert rows["mean"].dtype == pl.Decimal(16, 2)
    cent = Decimal("0.01")
    total = rows.filter(budget_line="total", period="year", year=2027)

    def mean(table: str, level: str) -> Decimal:
        return total.filter(table=table, level=level)["mean"].sum()

    for table in ("2025", "2026", "2026 - 2025"):
        # Means of sums are sums of means, up to the rounding of each to the cent.
        assert abs(mean(table, "country") - mean(table, "total")) <= len(sim.countries) * cent
        assert abs(mean(table, "category") - mean(table, "total")) <= 4 * cent
    assert (
        abs(mean("2026 - 2025", "total") - (mean("2026", "total") - mean("2025", "total")))
        <= 2 * cent
    )
    months_2027 = rows.filter(level="total", budget_line="total", period="month", table="2026")
    months_2027 = months_2027.filter(pl.col("month") >= date(2027, 1, 1))
    assert abs(months_2027["mean"].sum() - mean("2026", "total")) <= 12 * cent
    assert (rows["lo95"] <= rows["lo80"]).all() and (rows["lo80"] <= rows["hi80"]).all()
    assert (rows["hi80"] <= rows["hi95"]).all()
    # The paired difference is tighter than the tables' own ranges.
    diff = total.filter(table="2026 - 2025", level="total").row(0, named=True)
    t26 = total.filter(table="2026", level="total").row(0, named=True)
    assert diff["hi80"] - diff["lo80"] < t26["hi80"] - t26["lo80"]
    assert yearly.filter(table="2026", year=2027)["mean"].item() == mean("2026", "total")
    base = assumptions.filter(table="2026", parameter="base_adult").row(0, named=True)
    assert 0 < base["resting_cents"] < base["total_mean_cents"]
    assert set(assumptions.filter(table="2026")["parameter"]) == {
        p.name for p in built_in_table("2026").working_parameters()
    }
    persons = volume.filter(level="total", unit="persons")["mean"].sum()
    dossiers = volume.filter(level="total", unit="dossiers")["mean"].sum()
    assert dossiers < persons < 3 * dossiers


def insert_rows(db, rows: list[dict]) -> None:
    persons = pl.DataFrame([typed_row(r) for r in rows], schema=PERSONS_SCHEMA)
    with connect(db) as con:
        insert_typed_persons(con, persons, "test")


def test_templates_come_from_the_window_and_carry_earlier_support(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = [
        # P1 returned in 2021 and signs up again in March 2026 (inside the window).
        person(
            dossier_id="D1",
            person_id="P1",
            registration_date="2021-03-01",
            departure_date="2021-04-01",
        ),
        person(
            dossier_id="D2",
            person_id="P1",
            registration_date="2026-03-02",
            departure_date="2026-04-01",
        ),
        # Registered in the last three months before the origin: not a template.
        person(
            dossier_id="D3",
            person_id="P3",
            registration_date="2026-09-01",
            departure_date="2026-09-20",
        ),
        # Mongolia: nothing in the window, so its latest dossiers before it.
        person(
            dossier_id="D4",
            person_id="P4",
            nationality="MNG",
            return_country="MNG",
            registration_date="2024-06-03",
            departure_date="2024-07-01",
        ),
    ]
    # Jordan: only a dossier younger than the window, which is then all there is.
    rows.append(
        person(
            dossier_id="D5",
            person_id="P5",
            nationality="JOR",
            return_country="JOR",
            registration_date="2026-10-05",
            departure_date="2026-10-20",
        )
    )
    rows += [
        person(
            dossier_id=f"G{i}",
            person_id=f"G{i}",
            registration_date=f"2025-{8 + i:02d}-04",
            departure_date=f"2025-{8 + i:02d}-25",
        )
        for i in range(4)
    ]
    insert_rows(db, rows)
    with connect(db, read_only=True) as con:
        templates = load_templates(con, ("GEO", "MNG", "JOR"), month_index(date(2026, 10, 1)))
    dossiers = templates.persons.group_by("dossier_id").agg(pl.col("template").first())
    chosen = set(dossiers["dossier_id"])
    assert {"D2", "G0", "G1", "G2", "G3", "D4", "D5"} <= chosen and "D3" not in chosen
    assert templates.size[1:].tolist() == [1, 1] and templates.size[0] >= 5
    again = templates.persons.filter(pl.col("dossier_id") == "D2").row(0, named=True)
    assert again["previous_return_support_date"] == date(2021, 4, 1)


def test_reab_forecast_prints_next_year_per_table_and_the_difference(demo_copy, capsys):
    from pipelines.cli import main

    assert main(["forecast", "--db", str(demo_copy), "--draws", "100"]) == 0
    out = capsys.readouterr().out
    assert "Budget 2027" in out and "80 % interval" in out
    with connect(demo_copy, read_only=True) as con:
        printed = con.sql(
            """SELECT "table", mean FROM budget_forecast WHERE level = 'total'
               AND period = 'year' AND "year" = 2027 AND budget_line = 'total'"""
        ).fetchall()
    assert {t for t, _ in printed} >= {"2025", "2026", "2026 - 2025"}
    for table, mean in printed:
        line = next(x for x in out.splitlines() if x.strip().startswith(table + " "))
        assert f"{mean:,.2f}" in line
    assert "base_adult" in out and "T26-BASE" in out


def test_reab_forecast_says_what_is_missing(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["forecast", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse" in capsys.readouterr().out
    db = tmp_path / "short.duckdb"
    insert_rows(db, [person()])
    assert main(["forecast", "--db", str(db)]) == 1
    assert "needs at least 13" in capsys.readouterr().out


def test_a_forecast_as_of_an_earlier_month_goes_to_the_archive_only(demo_copy):
    with connect(demo_copy) as con:
        current = simulate(con, draws=50, seed=0)
        build_budget_forecast(con, simulation=current)
        before = con.sql("SELECT * FROM budget_forecast ORDER BY ALL").pl()
        earlier = simulate(con, draws=50, seed=0, until=date(2025, 12, 1))
        assert earlier.origin == month_index(date(2025, 12, 1))
        assert earlier.months[0] == month_index(date(2026, 1, 1))  # the next calendar year
        yearly = build_budget_forecast(con, simulation=earlier, current=False)
        after = con.sql("SELECT * FROM budget_forecast ORDER BY ALL").pl()
        archive = con.sql(
            "SELECT origin, count(*) AS n, count(DISTINCT level) AS levels "
            "FROM budget_forecast_archive GROUP BY origin ORDER BY origin"
        ).pl()
        # a second run of the same origin replaces its rows
        build_budget_forecast(con, simulation=earlier, current=False)
        again = con.sql("SELECT count(*) FROM budget_forecast_archive").fetchall()[0][0]
    assert after.equals(before)  # the current forecast is untouched
    assert archive["origin"].to_list() == [date(2025, 12, 1), month_of(current.origin)]
    assert archive["levels"].to_list() == [1, 1]  # programme totals only
    assert again == archive["n"].sum()
    assert set(yearly["year"]) == {2026}
    assert yearly.filter(table="2026")["mean"].item() > 0


def test_reab_forecast_as_of_refuses_a_month_without_enough_history(demo_copy, capsys):
    from pipelines.cli import main

    assert main(["forecast", "--db", str(demo_copy), "--as-of", "2019-03"]) == 2
    assert "at least 13 months of history" in capsys.readouterr().out
    assert main(["forecast", "--db", str(demo_copy), "--as-of", "2025-13"]) == 2


def test_the_year_baseline_is_archived_once(demo_copy):
    with connect(demo_copy) as con:
        sim = simulate(con, draws=30, seed=0)
        build_budget_forecast(con, simulation=sim)
        assert ensure_year_baseline(con, sim.origin, draws=30) == date(2025, 12, 1)
        assert ensure_year_baseline(con, sim.origin, draws=30) is None  # already there
        origins = con.sql("SELECT DISTINCT origin FROM budget_forecast_archive ORDER BY 1").pl()
    assert origins["origin"].to_list() == [date(2025, 12, 1), month_of(sim.origin)]


def test_a_forecast_as_of_a_month_knows_no_country_first_seen_later(demo_copy):
    insert_rows(
        demo_copy,
        [
            person(
                dossier_id="DNEW1",
                person_id="PNEW1",
                nationality="ISL",
                return_country="ISL",
                registration_date="2026-03-10",
                departure_date="2026-04-02",
            )
        ],
    )
    with connect(demo_copy) as con:
        earlier = simulate(con, draws=20, seed=0, until=date(2025, 12, 1))
        now = load_panel(con)
    assert "ISL" not in earlier.countries and "ISL" in now.countries


def test_the_contracts_extreme_dates_go_through_every_stage(demo_copy, tmp_path):
    """The earliest and latest dates the contract accepts (1990-01-01 … two years
    ahead) reach the entitlements, the forecasts and the bridge without blowing up the
    monthly panels (a year-1 date once made them 24 GB)."""
    from pipelines.entitlements import build_entitlements
    from pipelines.ingest import ingest_file
    from tests.factories import write_csv

    last_day = date(date.today().year + 2, date.today().month, 1)
    rows = [
        person(
            dossier_id="DOLD",
            person_id="POLD",
            registration_date="1990-01-01",
            departure_date="1990-02-01",
        ),
        person(
            dossier_id="DNEW",
            person_id="PNEW",
            registration_date="2026-01-05",
            departure_date=last_day.isoformat(),
            dossier_status="registered",
        ),
    ]
    with connect(demo_copy) as con:
        outcome = ingest_file(con, write_csv(tmp_path / "edges.csv", rows))
        assert (outcome.rows_accepted, outcome.rows_quarantined) == (2, 0), outcome.summary()
        build_entitlements(con)
        sim = simulate(con, draws=20, seed=0)
        assert sim.paths.shape[2] <= 14  # the horizon is the rest of the year and the next
        build_budget_forecast(con, simulation=sim)
        panel_months = con.sql("SELECT count(DISTINCT month) FROM budget_forecast").fetchall()
        assert panel_months[0][0] == sim.paths.shape[2]
        assert scalar(con, "SELECT count(*) FROM budget_bridge") == 5
