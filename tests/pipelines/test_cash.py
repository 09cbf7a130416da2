"""The cash-basis budget (``budget_forecast_cash``) on a small demo warehouse."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
import pytest

from models.budget import CATEGORIES
from models.cash import CASH_LINES
from pipelines.cash import PARTNERS, PARTS, build_cash_forecast
from pipelines.entitlements import build_entitlements
from pipelines.forecast import build_budget_forecast, build_volume_forecast, simulate
from pipelines.freshness import DERIVED_TABLES, stale_assets
from pipelines.warehouse import connect


@pytest.fixture(scope="module")
def cash_warehouse(demo_warehouse, tmp_path_factory):
    """The demo warehouse with both bases built from the same 100 draws."""
    db = tmp_path_factory.mktemp("cash") / "cash.duckdb"
    db.write_bytes(demo_warehouse.read_bytes())
    with connect(db) as con:
        build_entitlements(con)  # (the commitment forecast may read it)
        sim = simulate(con, draws=100, seed=2)
        build_volume_forecast(con, simulation=sim)
        build_budget_forecast(con, simulation=sim)
        started = time.perf_counter()
        forecast = build_cash_forecast(con, simulation=sim)
        seconds = time.perf_counter() - started
    print(f"build_cash_forecast: {seconds:.2f} s")
    return db, sim, forecast


def test_the_table_has_the_commitment_columns_plus_the_basis(cash_warehouse):
    db, sim, forecast = cash_warehouse
    with connect(db, read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE budget_forecast").fetchall()]
        cash_columns = [r[0] for r in con.execute("DESCRIBE budget_forecast_cash").fetchall()]
        rows = con.sql("SELECT * FROM budget_forecast_cash").pl()
    assert cash_columns == [*columns, "basis"]
    assert set(rows["basis"]) == {"cash"}
    assert set(rows["table"]) >= {"2025", "2026", "2026 - 2025"}
    assert set(rows.filter(level="partner")["key"]) == set(PARTNERS)
    assert set(rows.filter(level="category")["key"]) == set(CATEGORIES)
    assert set(rows.filter(level="part")["key"]) == set(PARTS)
    assert set(rows["budget_line"]) == set(CASH_LINES)
    assert set(rows["period"]) == {"month", "year", "after horizon"}
    assert rows.filter(period="month")["month"].n_unique() == len(sim.months)
    assert set(rows["draws"]) == {100}
    assert forecast.open_dossiers > 0
    assert set(forecast.delays) == set(sim.groups.values())


def test_cash_and_commitments_agree_over_the_cohort(cash_warehouse):
    """The dossiers registering in the horizon: their cash (every year of the horizon
    and after it) is their commitment, up to the cent rounding of each mean."""
    db, _sim, _ = cash_warehouse
    with connect(db, read_only=True) as con:
        for table in ("2025", "2026", "2026 - 2025"):
            committed = con.execute(
                """SELECT sum(mean), count(*) FROM budget_forecast WHERE "table" = $t
                   AND level = 'total' AND period = 'year' AND budget_line = 'total'""",
                {"t": table},
            ).fetchone()
            paid = con.execute(
                """SELECT sum(mean), count(*) FROM budget_forecast_cash WHERE "table" = $t
                   AND level = 'part' AND "key" = 'new registrations'
                   AND period IN ('year', 'after horizon') AND budget_line = 'total'""",
                {"t": table},
            ).fetchone()
            periods = committed[1] + paid[1]
            assert abs(committed[0] - paid[0]) <= periods * Decimal("0.01"), table
            assert paid[0] > 0 or table == "2026 - 2025"


def test_levels_add_up_and_what_falls_after_the_horizon_is_kept(cash_warehouse):
    db, _sim, _ = cash_warehouse
    with connect(db, read_only=True) as con:
        gaps = con.execute(
            """WITH parts AS (
                   SELECT "table", level, period, "month", "year", budget_line,
                          sum(mean) AS summed, count(*) AS n
                   FROM budget_forecast_cash WHERE level <> 'total' GROUP BY ALL)
               SELECT p.*, t.mean FROM parts p JOIN budget_forecast_cash t
                 ON t.level = 'total' AND t."table" = p."table" AND t.period = p.period
                AND t."month" IS NOT DISTINCT FROM p."month"
                AND t."year" IS NOT DISTINCT FROM p."year" AND t.budget_line = p.budget_line
               WHERE abs(p.summed - t.mean) > 0.01 * p.n"""
        ).fetchall()
        after = dict(
            con.execute(
                """SELECT budget_line, mean FROM budget_forecast_cash WHERE "table" = '2026'
                   AND level = 'total' AND period = 'after horizon'"""
            ).fetchall()
        )
        line_gap = con.execute(
            """SELECT max(abs(t.mean - p.summed)) FROM budget_forecast_cash t JOIN (
                   SELECT "table", level, "key", period, "month", "year", sum(mean) AS summed
                   FROM budget_forecast_cash
                   WHERE budget_line NOT IN ('total', 'ticket') GROUP BY ALL) p
               USING ("table", level, "key", period, "month", "year")
               WHERE t.budget_line = 'total'"""
        ).fetchone()[0]
    assert gaps == []
    # paid after the horizon: the departures after it, and the PRP spread over 12 months
    assert after["prp_in_kind"] > after["return_premium"] > 0
    assert line_gap <= Decimal("0.07")  # the total is the sum of its lines, each mean rounded


def test_the_cash_table_is_a_derived_table_built_from_the_commitments(cash_warehouse):
    db, _sim, _ = cash_warehouse
    assert DERIVED_TABLES["budget_forecast_cash"] == ("budget_forecast",)
    with connect(db, read_only=True) as con:
        assert "budget_forecast_cash" not in stale_assets(con)


def test_the_same_draws_give_the_same_table(cash_warehouse, tmp_path):
    db, sim, _ = cash_warehouse
    copy = tmp_path / "again.duckdb"
    copy.write_bytes(db.read_bytes())
    with connect(copy) as con:
        before = con.sql("SELECT * FROM budget_forecast_cash ORDER BY ALL").fetchall()
        build_cash_forecast(con, simulation=sim)
        after = con.sql("SELECT * FROM budget_forecast_cash ORDER BY ALL").fetchall()
    assert before == after


def test_reab_forecast_basis_cash_prints_the_cash_table(demo_copy, capsys):
    from pipelines.cli import main

    with connect(demo_copy) as con:
        build_entitlements(con)
    assert main(["forecast", "--db", str(demo_copy), "--draws", "50", "--basis", "cash"]) == 0
    out = capsys.readouterr().out
    assert "Cash 2027" in out and "after the horizon" in out and "CASH-PAP" in out
    with connect(demo_copy, read_only=True) as con:
        printed = con.execute(
            """SELECT "table", mean FROM budget_forecast_cash WHERE level = 'total'
               AND period = 'year' AND "year" = 2027 AND budget_line = 'total'"""
        ).fetchall()
        iom = con.execute(
            """SELECT mean FROM budget_forecast_cash WHERE level = 'partner' AND "key" = 'IOM'
               AND "table" = '2026' AND period = 'year' AND "year" = 2027
               AND budget_line = 'total'"""
        ).fetchone()[0]
    for table, mean in printed:
        line = next(x for x in out.splitlines() if x.strip().startswith(table + " "))
        assert f"{mean:,.2f}" in line
    assert f"{iom:,.2f}" in out
    assert np.isfinite(float(iom))


def test_reab_forecast_refuses_an_unknown_basis(demo_copy, capsys):
    from pipelines.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "--db", str(demo_copy), "--basis", "accrual"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--basis" in err and "invalid choice: 'accrual'" in err and "'cash'" in err
