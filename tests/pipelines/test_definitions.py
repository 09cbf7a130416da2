"""The Dagster code location: it loads, validates, runs, checks and senses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.defs import entitlements as entitlement_defs
from pipelines.defs import forecast as forecast_defs
from pipelines.defs import ingest as ingest_defs
from pipelines.defs import monitoring as monitoring_defs
from pipelines.defs.jobs import MAIN_JOB
from pipelines.warehouse import connect, scalar
from tests.factories import household, person, write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_code_location_has_the_ingest_assets_checks_sensor_and_jobs():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "ingested_files",
        "dossier_persons",
        "quarantine",
        "entitlements",
        "table_comparison",
        "volume_forecast",
        "budget_forecast",
        "forecast_backtest",
        "misuse_indicators",
        "misuse_alarms",
        "monitoring_evaluation",
    } <= keys
    checks = {key.name for key in repo.asset_graph.asset_check_keys}
    assert {
        ingest_defs.ROW_ACCOUNTING,
        ingest_defs.DATASET_EXPECTATIONS,
        ingest_defs.DOSSIER_INTEGRITY,
        ingest_defs.NO_REJECTED_FILES,
        entitlement_defs.AMOUNTS_RECONCILE,
        entitlement_defs.COMPARISON_MATCHES_ENTITLEMENTS,
        forecast_defs.BUDGET_LEVELS_ADD_UP,
        forecast_defs.BACKTEST_COVERAGE_80,
        forecast_defs.BACKTEST_BEATS_SEASONAL_NAIVE,
        monitoring_defs.NO_NEW_MISUSE_ALARMS,
        monitoring_defs.FALSE_ALARMS_BELOW_5_PERCENT,
    } <= checks
    assert defs.resolve_job_def(MAIN_JOB) and defs.resolve_job_def("ingest_job")
    assert defs.get_sensor_def("landing_folder_sensor")


def test_dagster_definitions_validate_accepts_the_code_location():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def run_main_job(tmp_path: Path, landing: Path):
    db = tmp_path / "wh.duckdb"
    result = defs.resolve_job_def(MAIN_JOB).execute_in_process(
        run_config={
            "resources": {"warehouse": {"config": {"database": str(db)}}},
            "ops": {"ingest_extracts": {"config": {"paths": [str(landing)]}}},
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    return result, db


def test_main_job_ingests_the_landing_folder_and_every_check_passes(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "2026-02.csv", household())
    write_csv(
        landing / "2026-03.csv",
        [
            person(dossier_id="D0100", person_id="P0100"),
            person(person_id="P9", age_at_registration="x"),
        ],
    )
    result, db = run_main_job(tmp_path, landing)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert all(e.passed for e in evaluations.values()), evaluations
    assert entitlement_defs.AMOUNTS_RECONCILE in evaluations
    assert entitlement_defs.COMPARISON_MATCHES_ENTITLEMENTS in evaluations
    assert monitoring_defs.NO_NEW_MISUSE_ALARMS in evaluations
    materialized = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node("ingest_extracts")
    }
    assert materialized["dossier_persons"]["dagster/row_count"].value == 4
    assert materialized["quarantine"]["dagster/row_count"].value == 1
    with connect(db, read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM ingested_files") == 2
        tables = scalar(con, 'SELECT count(DISTINCT "table") FROM entitlements')
        assert tables == 4  # 2025, 2026, applicable and the shipped scenario


def test_rejected_file_shows_as_a_failed_warning_check(tmp_path):
    from data_contracts.row_model import COLUMNS

    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "a.csv", [person()], columns=[*COLUMNS, "phone"])
    result, _ = run_main_job(tmp_path, landing)
    assert result.success
    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == ingest_defs.NO_REJECTED_FILES
    )
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN


def test_landing_sensor_requests_a_run_for_new_files_only(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("REAB_LANDING", str(landing))
    sensor = ingest_defs.landing_folder_sensor
    assert isinstance(sensor(dg.build_sensor_context()), dg.SkipReason)  # no folder yet
    landing.mkdir()
    write_csv(landing / "a.csv", [person()])
    context = dg.build_sensor_context()
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_config["ops"]["ingest_extracts"]["config"]["paths"] == [
        str(landing / "a.csv")
    ]
    again = sensor(dg.build_sensor_context(cursor=context.cursor))
    assert isinstance(again, dg.SkipReason)
    write_csv(landing / "b.csv", [person(dossier_id="D2")])
    later = dg.build_sensor_context(cursor=context.cursor)
    request = sensor(later)
    assert request.run_config["ops"]["ingest_extracts"]["config"]["paths"] == [
        str(landing / "b.csv")
    ]


@pytest.mark.parametrize(
    "verb", ["ingest", "status", "run", "update", "forecast", "quarantine", "persons"]
)
def test_every_warehouse_verb_takes_db(verb):
    from pipelines.cli import build_parser

    parser = build_parser()
    extra = ["x.csv"] if verb == "ingest" else []
    args = parser.parse_args([verb, *extra, "--db", "elsewhere.duckdb"])
    assert str(args.db) == "elsewhere.duckdb"


def test_forecast_assets_and_checks_on_a_demo_warehouse(demo_copy):
    from pipelines.defs.resources import WarehouseResource

    result = dg.materialize(
        [
            forecast_defs.volume_forecast,
            forecast_defs.budget_forecast,
            forecast_defs.forecast_backtest,
            forecast_defs.backtest_coverage_80,
            forecast_defs.backtest_beats_seasonal_naive,
        ],
        resources={"warehouse": WarehouseResource(database=str(demo_copy))},
        run_config={"ops": {"volume_forecast": {"config": {"draws": 200, "seed": 3}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[forecast_defs.BUDGET_LEVELS_ADD_UP].passed
    assert {forecast_defs.BACKTEST_COVERAGE_80, forecast_defs.BACKTEST_BEATS_SEASONAL_NAIVE} <= set(
        evaluations
    )
    with connect(demo_copy, read_only=True) as con:
        # The budget priced the volume forecast's own draws (200, seed 3).
        assert scalar(con, "SELECT DISTINCT draws FROM budget_forecast") == 200
        assert scalar(con, "SELECT DISTINCT seed FROM volume_forecast") == 3
        assert scalar(con, "SELECT count(*) FROM budget_assumptions") > 0
        assert scalar(con, "SELECT count(*) FROM forecast_backtest") == 6  # 5 groups + total


def test_main_job_skips_the_forecast_while_the_history_is_short(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "2026-02.csv", household())
    result, db = run_main_job(tmp_path, landing)
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "entitlements" in materialised
    assert not {"volume_forecast", "budget_forecast", "forecast_backtest"} & materialised


def test_monitoring_assets_show_new_alarms_as_a_failed_check(tmp_path):
    from pipelines.defs.resources import WarehouseResource
    from tests.pipelines.test_monitoring import craft, crafted_warehouse, population

    db = crafted_warehouse(tmp_path, craft("registered_dossiers", population()))

    def run():
        return dg.materialize(
            [monitoring_defs.misuse_monitoring, monitoring_defs.monitoring_evaluation],
            resources={"warehouse": WarehouseResource(database=str(db))},
            run_config={"ops": {"monitoring_evaluation": {"config": {"trials": 2}}}},
            instance=dg.DagsterInstance.ephemeral(),
        )

    first = run()
    assert first.success
    checks = {e.check_name: e for e in first.get_asset_check_evaluations()}
    with connect(db, read_only=True) as con:
        alarms = scalar(con, "SELECT count(*) FROM misuse_alarms WHERE alarm")
        # 2 noises x 3 factors, for our detector and the oracle
        assert scalar(con, "SELECT count(*) FROM monitoring_evaluation") == 12
    assert alarms > 0  # the crafted surge
    assert not checks[monitoring_defs.NO_NEW_MISUSE_ALARMS].passed
    assert checks[monitoring_defs.NO_NEW_MISUSE_ALARMS].severity == dg.AssetCheckSeverity.WARN
    again = run()
    checks = {e.check_name: e for e in again.get_asset_check_evaluations()}
    assert checks[monitoring_defs.NO_NEW_MISUSE_ALARMS].passed  # seen before: not new


def run_ingest_job(db: Path, landing: Path):
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config={
            "resources": {"warehouse": {"config": {"database": str(db)}}},
            "ops": {"ingest_extracts": {"config": {"paths": [str(landing)]}}},
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == ingest_defs.DATASET_EXPECTATIONS
    ]
    return check


def test_dataset_check_runs_great_expectations_on_the_files_of_its_run(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "2026-02.csv", household())
    write_csv(landing / "2026-03.csv", household(dossier="D0002", first_person=4))
    db = tmp_path / "wh.duckdb"
    check = run_ingest_job(db, landing)
    assert check.passed
    assert check.metadata["gx_files_this_run"].value == 2
    assert check.metadata["gx_disagreements"].value == []
    again = run_ingest_job(db, landing)  # nothing new: GX has nothing to run on
    assert again.passed and again.metadata["gx_files_this_run"].value == 0


def test_dataset_check_fails_when_a_file_breaks_an_expectation(tmp_path):
    # A correction that repeats only a dossier's child is accepted (the dossier rules
    # judge the dossier with the warehouse's rows), but the file on its own has a
    # dossier without principal: both evaluations of the expectations fail it.
    landing = tmp_path / "landing"
    landing.mkdir()
    rows = household()
    write_csv(landing / "2026-02.csv", rows)
    write_csv(landing / "2026-03.csv", [dict(rows[2], medical_basic="ja")])
    check = run_ingest_job(tmp_path / "wh.duckdb", landing)
    assert not check.passed
    (stored,) = check.metadata["failed_files"].value
    (by_gx,) = check.metadata["gx_failed_files"].value
    assert stored["file"] == by_gx["file"] == "2026-03.csv"
    assert "every dossier has exactly one principal: 1 unexpected" in by_gx["failures"]
    assert stored["failures"] == by_gx["failures"]
    assert check.metadata["gx_disagreements"].value == []
