"""An operator's first day and month: the CLI from ingest to report on a named warehouse.

A small set of real CSV extracts (August to 18 November 2026, so November is partial)
goes through ``reab ingest``; ``reab monitor`` and ``reab report`` then name the exact
command that brings the warehouse up to date; ``reab update`` builds what is missing,
recorded in the persistent Dagster instance; the report shows November to date.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.cli import DEMO_MARKER
from pipelines.cli import main as reab
from pipelines.warehouse import connect, scalar
from tests.factories import monthly_extracts, person, write_csv

LAST_DAY = date(2026, 11, 18)


@pytest.fixture
def extracts(tmp_path) -> Path:
    """Four monthly extracts; November's ends on the 18th and has one bad row."""
    folder = tmp_path / "extracts"
    months = [
        (date(2026, 8, 1), date(2026, 8, 31)),
        (date(2026, 9, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), LAST_DAY),
    ]
    *_, november = monthly_extracts(folder, months)
    rows = pl.read_csv(november, infer_schema=False).fill_null("").to_dicts()
    bad = person(dossier_id="D99999", person_id="P99999", age_at_registration="130")
    write_csv(november, [*rows, bad])
    return folder


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_a_named_warehouse_from_ingest_to_report(extracts, dagster_home, tmp_path, capsys):
    db = tmp_path / "mine.duckdb"
    assert reab(["ingest", str(extracts), "--db", str(db)]) == 0
    capsys.readouterr()

    # before the update, monitor and report name the exact command that helps
    assert reab(["monitor", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert f"reab update --db {db}" in out and "reab entitlements" not in out
    assert reab(["report", "--db", str(db), "--out", str(tmp_path / "r"), "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert f"reab update --db {db}" in out
    assert not (tmp_path / "r").exists()

    assert reab(["update", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "entitlements" in out and "missing" in out
    assert "not possible yet: volume_forecast" in out  # four months of history

    # the run is in the persistent instance, with its materialisations
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    assert instance.get_runs()
    assert instance.get_latest_materialization_event(dg.AssetKey("entitlements")) is not None

    # a second update has nothing to do
    assert reab(["update", "--db", str(db)]) == 0
    assert "every table is up to date; nothing to run" in capsys.readouterr().out

    # monitoring tests complete months and says November is partial
    assert reab(["monitor", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Misuse alarms 2026-10" in out
    assert f"2026-11 is partial (registrations to {LAST_DAY})" in out

    # the report's default month is the latest with data, shown to date
    out_dir = tmp_path / "reports"
    assert reab(["report", "--db", str(db), "--out", str(out_dir), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Management report 2026-11:" in out
    assert f"November 2026 is partial: the extracts cover it to {LAST_DAY} only" in out
    html = (out_dir / "reab-report-2026-11-en.html").read_text(encoding="utf-8")
    assert f"2026-11 (partial, to {LAST_DAY})" in html
    assert "2026 to 2026-10 (complete months)" in html
    assert "Commitments 2026 to 2026-10 (complete months)" in out

    # a month without data is refused with the range, never an inverted one
    assert reab(["report", "--db", str(db), "--out", str(out_dir), "--month", "2026-12"]) == 2
    out = capsys.readouterr().out
    assert "no data for 2026-12" in out
    assert "from 2026-08-01 to 2026-11-18 (2026-11 partial; complete months to 2026-10)" in out


def test_ingest_names_the_quarantined_rows_and_where_to_see_them(extracts, tmp_path, capsys):
    db = tmp_path / "mine.duckdb"
    assert reab(["ingest", str(extracts / "extract_2026-11.csv"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "row 11: " in out and "age_at_registration" in out  # 10 good rows, then the bad


def test_a_new_file_makes_the_tables_stale_and_update_rebuilds_only_those(
    extracts, dagster_home, tmp_path, capsys
):
    db = tmp_path / "mine.duckdb"
    files = sorted(extracts.iterdir())
    assert reab(["ingest", *map(str, files[:3]), "--db", str(db)]) == 0
    assert reab(["update", "--db", str(db)]) == 0
    capsys.readouterr()
    assert reab(["ingest", str(files[3]), "--db", str(db)]) == 0
    assert reab(["update", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "entitlements         the dossiers changed" in out
    with connect(db, read_only=True) as con:
        persons = scalar(con, "SELECT count(*) FROM dossier_persons")
        evaluated = scalar(con, "SELECT count(*) FROM entitlements WHERE \"table\" = '2026'")
    assert evaluated == persons


def test_update_with_a_landing_folder_ingests_it_first(extracts, dagster_home, tmp_path, capsys):
    db = tmp_path / "mine.duckdb"
    assert reab(["update", "--db", str(db), "--landing", str(extracts)]) == 0
    with connect(db, read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM ingested_files") == 4
        assert scalar(con, "SELECT count(*) FROM entitlements") > 0


def test_update_names_what_to_do_without_a_warehouse(tmp_path, capsys):
    assert reab(["update", "--db", str(tmp_path / "none.duckdb")]) == 2
    out = capsys.readouterr().out
    assert "no warehouse at" in out and "reab ingest PATH --db" in out
    assert not (tmp_path / "none.duckdb").exists()


def test_run_never_writes_demo_data_into_a_named_warehouse(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REAB_LANDING", raising=False)
    db = tmp_path / "mine.duckdb"
    assert reab(["run", "--db", str(db)]) == 2
    out = capsys.readouterr().out
    assert "holds no extracts" in out and "--demo" in out
    assert not (tmp_path / "data" / "landing").exists() or not any(
        (tmp_path / "data" / "landing").iterdir()
    )
    assert not db.exists()
    # $REAB_DB names a warehouse too
    monkeypatch.setenv("REAB_DB", str(db))
    assert reab(["run"]) == 2
    assert not db.exists()


def test_run_refuses_a_landing_folder_of_demo_extracts_for_a_named_warehouse(
    extracts, tmp_path, capsys
):
    (extracts / DEMO_MARKER).write_text("demo")
    db = tmp_path / "mine.duckdb"
    assert reab(["run", "--db", str(db), "--landing", str(extracts)]) == 2
    assert "holds the demo extracts" in capsys.readouterr().out
    assert not db.exists()


def test_quarantine_lists_rows_with_file_number_reason_and_supersession(
    tmp_path, dagster_home, capsys
):
    db = tmp_path / "wh.duckdb"
    bad = [
        person(dossier_id="D1", person_id="P1", age_at_registration="130"),
        person(dossier_id="D2", person_id="P2"),
        person(dossier_id="D3", person_id="P3", registration_date="2025-13-01"),
    ]
    write_csv(tmp_path / "a_first.csv", bad)
    write_csv(tmp_path / "b_fix.csv", [person(dossier_id="D1", person_id="P1")])
    assert reab(["ingest", str(tmp_path / "a_first.csv"), "--db", str(db)]) == 0
    assert reab(["ingest", str(tmp_path / "b_fix.csv"), "--db", str(db)]) == 0
    capsys.readouterr()

    assert reab(["quarantine", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2 quarantined rows (1 open, 1 superseded or kept from an earlier file)" in out
    assert "a_first.csv row 1 [superseded by file 2]: " in out and "age_at_registration" in out
    assert "a_first.csv row 3 [open]: " in out and "registration_date" in out

    assert reab(["quarantine", "--db", str(db), "--file", "b_fix.csv"]) == 0
    assert "no quarantined rows in b_fix.csv" in capsys.readouterr().out
    assert reab(["quarantine", "--db", str(db), "--file", "nope.csv"]) == 2
    assert "files with quarantined rows: a_first.csv" in capsys.readouterr().out
    assert reab(["quarantine", "--db", str(db), "--limit", "1"]) == 0
    assert "… 1 more (--limit 0 lists all)" in capsys.readouterr().out


def test_persons_lists_ids_for_explain(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    rows = [
        person(dossier_id="D1", person_id="P1", nationality="MNG", return_country="MNG"),
        person(dossier_id="D2", person_id="P2"),
    ]
    write_csv(tmp_path / "a.csv", rows)
    assert reab(["ingest", str(tmp_path / "a.csv"), "--db", str(db)]) == 0
    capsys.readouterr()
    assert reab(["persons", "--db", str(db), "--country", "mng"]) == 0
    out = capsys.readouterr().out
    assert "1 persons" in out and "P1" in out and "P2" not in out
    assert reab(["persons", "--db", str(db), "--dossier", "D2"]) == 0
    out = capsys.readouterr().out
    assert "P2" in out and "P1" not in out
    assert reab(["persons", "--db", str(db), "--dossier", "D9"]) == 1
    assert "no person" in capsys.readouterr().out
    assert reab(["explain", "P2", "--db", str(db), "--table", "2026"]) == 0
