"""The analyst notebooks: each is a jupytext notebook, runs headless as a plain script
against the built demo warehouse (read-only, nothing written), and prints figures that
agree with the warehouse."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import jupytext
import nbformat
import pytest

from pipelines.warehouse import connect, scalar

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("explore_warehouse", "what_if_2026", "country_monitoring")
TIMEOUT_SECONDS = 300


def eur(amount: Decimal) -> str:
    return f"EUR {amount:,.2f}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_notebook(name: str, db: Path, workdir: Path, **env: str) -> subprocess.CompletedProcess:
    """Run one notebook as a script in ``workdir`` (empty), headless, on warehouse ``db``."""
    workdir.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k != "REAB_COUNTRY"}
    environment.update(
        REAB_DB=str(db),
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **env,
    )
    return subprocess.run(
        [sys.executable, str(NOTEBOOKS / f"{name}.py")],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr}"
    return result.stdout


def figure(stdout: str, pattern: str) -> str:
    """The first group of ``pattern`` in the output (multi-line mode)."""
    found = re.search(pattern, stdout, re.MULTILINE)
    assert found, f"{pattern!r} not printed:\n{stdout}"
    return found.group(1)


def count(text: str) -> int:
    return int(text.replace(",", ""))


# ---------------------------------------------------------------------------
# Notebook format
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_is_a_jupytext_percent_notebook(name):
    path = NOTEBOOKS / f"{name}.py"
    notebook = jupytext.read(path)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# "), "title first"
    assert kinds.count("markdown") >= 4 and kinds.count("code") >= 4, kinds
    representation = notebook.metadata["jupytext"]["text_representation"]
    assert representation["format_name"] == "percent"
    # it converts to a valid .ipynb, and every code cell is Python
    nbformat.validate(nbformat.reads(jupytext.writes(notebook, fmt="ipynb"), as_version=4))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            compile(cell.source, f"{name}: cell", "exec")


# ---------------------------------------------------------------------------
# Each notebook headless on the built demo warehouse
# ---------------------------------------------------------------------------


def check_explore(stdout: str, con) -> None:
    rows = scalar(con, "SELECT count(*) FROM dossier_persons")
    assert rows > 0
    assert count(figure(stdout, r"^dossier_persons\s+([\d,]+)\s")) == rows
    assert count(figure(stdout, r"^entitlements\s+([\d,]+)\s")) == scalar(
        con, "SELECT count(*) FROM entitlements"
    )
    for table, total in con.execute(
        'SELECT "table", sum(total) FROM entitlements GROUP BY 1'
    ).fetchall():
        assert figure(stdout, rf"^Total under table {re.escape(table)}: (EUR [-\d,.]+)$") == eur(
            total
        )
    better, worse, difference = con.execute(
        """SELECT sum(persons_better_off), sum(persons_worse_off), sum(difference)
           FROM table_comparison WHERE budget_line = 'total'"""
    ).fetchall()[0]
    assert count(figure(stdout, r"([\d,]+) better off")) == better
    assert count(figure(stdout, r"([\d,]+) worse off")) == worse
    assert figure(stdout, r"difference: (EUR [-\d,.]+)$") == eur(difference)
    # the demo warehouse is loaded without the ingest
    assert "No extract files were ingested" in stdout


def check_what_if(stdout: str, con) -> None:
    total_2026 = scalar(con, """SELECT sum(total) FROM entitlements WHERE "table" = '2026'""")
    assert figure(stdout, r"^2026 total \(engine, every person\): (EUR [-\d,.]+)$") == eur(
        total_2026
    )
    # the scenario: fee 500 -> 400 per dossier that has it, adult visa-required premium
    # 350 -> 300; counted here from the stored 2026 entitlements, independently
    fees, premiums = con.execute(
        """SELECT count(*) FILTER (WHERE partner_service_fee = 500),
                  count(*) FILTER (WHERE return_premium = 350)
           FROM entitlements WHERE "table" = '2026'"""
    ).fetchall()[0]
    assert fees > 0 and premiums > 0
    expected = Decimal(-100 * fees - 50 * premiums)
    assert figure(stdout, r"^Scenario minus 2026: (EUR [-\d,.]+)$") == eur(expected)
    assert "All checks passed." in stdout
    assert "The warehouse's entitlements agree" in stdout
    assert not (REPO / "rules" / "scenarios" / "what_if_2026.yaml").exists()


def check_country(stdout: str, con) -> None:
    months, dossiers = con.execute(
        """SELECT count(*), sum(observed) FROM misuse_indicators WHERE country = 'MNG'
           AND grouping = 'nationality' AND indicator = 'registered_dossiers'"""
    ).fetchall()[0]
    assert months > 0
    printed = re.search(
        r"^MNG: registered dossiers over (\d+) months \(.*\): ([\d,]+)$", stdout, re.MULTILINE
    )
    assert printed, stdout
    assert (int(printed.group(1)), count(printed.group(2))) == (months, dossiers)
    alarms = scalar(con, "SELECT count(*) FROM misuse_alarms WHERE alarm AND country = 'MNG'")
    assert count(figure(stdout, r"^Alarms for MNG: (\d+) ")) == alarms
    assert "MNG in misuse_focus:" in stdout


CHECKS = {
    "explore_warehouse": check_explore,
    "what_if_2026": check_what_if,
    "country_monitoring": check_country,
}


@pytest.mark.parametrize("name", NAMES)
def test_runs_headless_read_only(name, built_warehouse, tmp_path):
    before = sha256(built_warehouse)
    stdout = succeeded(run_notebook(name, built_warehouse, tmp_path / "run"))
    assert list((tmp_path / "run").iterdir()) == [], "the notebook wrote into its folder"
    assert sha256(built_warehouse) == before, "the warehouse changed"
    with connect(built_warehouse, read_only=True) as con:
        CHECKS[name](stdout, con)


# ---------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------


def test_country_notebook_names_an_unknown_country(built_warehouse, tmp_path):
    result = run_notebook("country_monitoring", built_warehouse, tmp_path, REAB_COUNTRY="XXX")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ValueError: country 'XXX' has no rows"), result.stderr
    assert "MNG" in last_line and "BRA" in last_line, "the available countries are listed"


def test_country_notebook_shows_the_alarms(built_warehouse, tmp_path):
    """Two alarms planted in a copy: one on the volume, one on a share in another month."""
    db = tmp_path / "alarms.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    planted = {("registered_dossiers", "2026-10-01"), ("vulnerability_share", "2026-08-01")}
    with connect(db) as con:
        for indicator, month in planted:
            con.execute(
                """UPDATE misuse_alarms SET alarm = true, q_value = 0.01,
                          reason = 'planted: ' || indicator || ' ' || strftime(month, '%Y-%m')
                   WHERE country = 'MNG' AND grouping = 'nationality'
                     AND indicator = $indicator AND month = $month::DATE""",
                {"indicator": indicator, "month": month},
            )
        alarms = scalar(con, "SELECT count(*) FROM misuse_alarms WHERE alarm AND country = 'MNG'")
        assert alarms == len(planted)
    stdout = succeeded(run_notebook("country_monitoring", db, tmp_path / "run", REAB_COUNTRY="mng"))
    assert re.search(r"^Alarms for MNG: 2 ", stdout, re.MULTILINE), stdout
    assert "  - planted: registered_dossiers 2026-10" in stdout
    assert "  - planted: vulnerability_share 2026-08" in stdout
    assert "Alarm months (registered dossiers): 2026-10\n" in stdout
    assert "Months with other alarms: 2026-08\n" in stdout


def test_notebooks_on_a_warehouse_without_downstream_tables(demo_copy, tmp_path):
    """Only the ingest tables (one file ingested, two rows quarantined): the explore
    notebook says what is missing, the what-if notebook needs no more."""
    with connect(demo_copy) as con:
        con.execute(
            """INSERT INTO ingested_files (file_name, content_hash, rows_read, rows_accepted,
                   rows_quarantined, rows_new, rows_superseding, status)
               VALUES ('extract_2026_10.csv', 'abc', 10, 8, 2, 8, 0,
                       'ingested_with_quarantine')"""
        )
        for row in (3, 7):
            con.execute(
                """INSERT INTO quarantine VALUES (1, 'extract_2026_10.csv', $row,
                       'age_at_registration: must be at most 120', '{}')""",
                {"row": row},
            )
    explore = succeeded(run_notebook("explore_warehouse", demo_copy, tmp_path / "explore"))
    assert "ingested_with_quarantine" in explore
    assert "Quarantined rows: 2; the most frequent reasons:" in explore
    assert "age_at_registration: must be at most 120" in explore
    assert "No table `entitlements` yet" in explore
    assert "No table `table_comparison` yet" in explore

    what_if = succeeded(run_notebook("what_if_2026", demo_copy, tmp_path / "what_if"))
    assert "All checks passed." in what_if
    assert "No entitlements table in this warehouse: nothing to cross-check." in what_if
