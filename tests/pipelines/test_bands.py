"""Budget bands, the volume response and the bridge, on a small demo warehouse."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.forecast import month_of
from pipelines.bands import table_in_force
from pipelines.entitlements import build_entitlements
from pipelines.forecast import build_budget_forecast, simulate
from pipelines.warehouse import connect

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def forecast_tables(demo_warehouse, tmp_path_factory):
    db = tmp_path_factory.mktemp("bands") / "w.duckdb"
    db.write_bytes(demo_warehouse.read_bytes())
    with connect(db) as con:
        build_entitlements(con)
        sim = simulate(con, draws=200, seed=2)
        build_budget_forecast(con, simulation=sim)
        tables = {
            name: con.sql(f"SELECT * FROM {name}").pl()
            for name in (
                "budget_forecast",
                "budget_bands",
                "budget_bridge",
                "volume_response",
                "volume_response_events",
                "volume_response_support",
            )
        }
    return sim, tables


def test_the_static_band_is_the_budget_forecast(forecast_tables):
    sim, t = forecast_tables
    bands, forecast = t["budget_bands"], t["budget_forecast"]
    year = int(sim.months.max()) // 12
    for table in ("2025", "2026", "2026 - 2025"):
        static = bands.filter(table=table, year=year, uncertainty="volumes").row(0, named=True)
        same = forecast.filter(
            table=table, level="total", period="year", year=year, budget_line="total"
        ).row(0, named=True)
        assert abs(static["mean"] - same["mean"]) <= CENT
        assert abs(static["lo80"] - same["lo80"]) <= CENT
    assert (bands["lo95"] <= bands["lo80"]).all() and (bands["lo80"] <= bands["hi80"]).all()
    assert (bands["hi80"] <= bands["hi95"]).all()
    assert set(bands["in_force"]) == {table_in_force(sim.origin)}


def test_the_response_is_reported_with_its_evidence(forecast_tables):
    _, t = forecast_tables
    response = t["volume_response"].row(0, named=True)
    bands = t["budget_bands"]
    if response["identified"]:
        assert response["lo80"] <= response["elasticity"] <= response["hi80"]
        assert response["lo95"] <= response["lo80"] and response["hi80"] <= response["hi95"]
        assert t["volume_response_events"].height >= response["countries_changed"]
        assert (
            bands.filter(basis="with volume response").height
            == bands.filter(uncertainty="volumes").height
        )
        # the table in force changes nobody's volume
        in_force = bands["in_force"][0]
        support = t["volume_response_support"].filter(table=in_force)
        assert (support["volume_multiplier"] - 1).abs().max() < 1e-12
    else:
        assert response["note"]
        assert bands.filter(basis="with volume response").is_empty()


def test_the_bridge_adds_up_and_ends_at_next_years_forecast(forecast_tables):
    sim, t = forecast_tables
    bridge = t["budget_bridge"].sort("order")
    steps = dict(zip(bridge["step"], bridge["amount"], strict=True))
    assert (
        steps["this year (projected)"] + steps["volume"] + steps["mix"] + steps["price (table)"]
        == steps["next year (forecast)"]
    )
    following = sim.origin // 12 + 1
    next_table = table_in_force(following * 12)
    forecast = t["budget_forecast"].filter(
        table=next_table, level="total", period="year", year=following, budget_line="total"
    )
    assert abs(forecast["mean"].item() - steps["next year (forecast)"]) <= CENT
    row = bridge.row(0, named=True)
    assert row["this_year_dossiers"] >= row["dossiers_to_origin"]
    if row["this_year_table"] == row["next_year_table"]:
        assert steps["price (table)"] == 0
    assert month_of(sim.origin) == row["origin"]
