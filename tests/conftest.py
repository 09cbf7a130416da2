"""Fixtures shared across the test packages: demo warehouses at two stages."""

from __future__ import annotations

import os

import pytest

from models.backtest import BacktestSettings
from pipelines.cash import build_cash_forecast
from pipelines.demo import build_demo_warehouse
from pipelines.entitlements import build_entitlements, build_table_comparison
from pipelines.forecast import (
    build_budget_forecast,
    build_forecast_backtest,
    build_volume_forecast,
    ensure_year_baseline,
    simulate,
)
from pipelines.monitoring import build_monitoring
from pipelines.warehouse import connect

# One session-wide headless Chromium (`chromium`) for every browser test: playwright's
# sync API allows a single instance per thread, so the fixture must be registered once.
from tests.browser import chromium_fixture  # noqa: F401, E402


@pytest.fixture(scope="session", autouse=True)
def _dagster_home_outside_the_repo(tmp_path_factory):
    """CLI runs record into $DAGSTER_HOME (default data/dagster_home): tests use a
    temporary one, never the working tree's."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(tmp_path_factory.mktemp("dagster_home"))
    yield
    if previous is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = previous


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory):
    """A small demo warehouse (households, repeat returners, every table's period),
    loaded straight from the typed demo files: the ingest path is tested elsewhere."""
    return build_demo_warehouse(tmp_path_factory.mktemp("demo"), seed=5, scale=0.03)


@pytest.fixture
def demo_copy(demo_warehouse, tmp_path):
    """A writable copy of the shared demo warehouse."""
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_warehouse.read_bytes())
    return db


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """A demo warehouse with every downstream table built (entitlements, comparison,
    forecasts with few draws on both budget bases, backtest, monitoring), as the main
    job leaves it, plus an archived forecast as of December of the year before the last data.
    Read it only (copy it to write): it is shared by the whole session."""
    db = build_demo_warehouse(tmp_path_factory.mktemp("built"), seed=3, scale=0.1)
    with connect(db) as con:
        build_entitlements(con)
        build_table_comparison(con)
        simulation = simulate(con, draws=200, seed=0)
        build_volume_forecast(con, simulation=simulation)
        build_budget_forecast(con, simulation=simulation)
        build_cash_forecast(con, simulation=simulation)
        ensure_year_baseline(con, simulation.origin, draws=100)
        build_forecast_backtest(con, BacktestSettings(origins=2, draws=100))
        build_monitoring(con)
    return db
