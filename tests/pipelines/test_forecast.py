"""The forecast tables on a small demo warehouse."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from models.backtest import BacktestSettings
from pipelines.forecast import (
    build_forecast_backtest,
    build_volume_forecast,
    country_groups,
    horizon_months,
    load_panel,
    policy_effects,
)
from pipelines.warehouse import connect, scalar


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


@pytest.fixture
def demo_copy(demo_warehouse, tmp_path):
    """A writable copy of the shared demo warehouse."""
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_warehouse.read_bytes())
    return db


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
