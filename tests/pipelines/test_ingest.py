"""Ingest into DuckDB: accounting, idempotence, supersession, rejection, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import main as reab
from pipelines.ingest import ingest_file, ingest_paths, row_accounting_problems
from pipelines.warehouse import connect, fetch_one, scalar
from tests.factories import household, person, write_csv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "wh.duckdb") as connection:
        yield connection


def count(con, table: str, where: str = "true") -> int:
    return scalar(con, f"SELECT count(*) FROM {table} WHERE {where}")


def snapshot(con) -> dict:
    """Everything a file could have changed, for before/after comparisons."""
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("ingested_files", "dossier_persons", "quarantine")
    }


def mixed_rows():
    bad_age = person(dossier_id="D0009", person_id="P0090", age_at_registration="130")
    return [person(), *household(dossier="D0002", first_person=10), bad_age]


def test_rows_read_equal_accepted_plus_quarantined(con, tmp_path):
    path = write_csv(tmp_path / "a.csv", mixed_rows())
    outcome = ingest_file(con, path)
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined) == (5, 4, 1)
    assert outcome.status == "ingested_with_quarantine"
    assert count(con, "dossier_persons") == 4
    assert row_accounting_problems(con) == []


def test_quarantine_keeps_source_row_reason_and_raw_values(con, tmp_path):
    path = write_csv(tmp_path / "a.csv", mixed_rows(), delimiter=";")
    ingest_file(con, path)
    source_file, source_row, reason, raw = fetch_one(
        con, "SELECT source_file, source_row, reason, raw_values FROM quarantine"
    )
    assert (source_file, source_row) == ("a.csv", 5)
    assert reason == "age_at_registration: '130' is above the maximum 120"
    raw = json.loads(raw)
    assert raw["age_at_registration"] == "130" and raw["person_id"] == "P0090"


def test_reingesting_the_same_file_changes_nothing(con, tmp_path):
    path = write_csv(tmp_path / "a.csv", mixed_rows())
    ingest_file(con, path)
    before = snapshot(con)
    again = ingest_file(con, path)
    copy = tmp_path / "renamed copy.csv"
    copy.write_bytes(path.read_bytes())
    renamed = ingest_file(con, copy)
    assert again.status == renamed.status == "already_ingested"
    assert snapshot(con) == before


def test_a_later_extract_supersedes_an_earlier_one(con, tmp_path):
    first = write_csv(
        tmp_path / "2025-03.csv", [person(dossier_status="registered", departure_date="2025-04-20")]
    )
    later = write_csv(tmp_path / "2025-05.csv", [person(departure_date="2025-04-22")])
    ingest_paths(con, [tmp_path])  # folder: file-name order
    row = fetch_one(con, "SELECT dossier_status, departure_date, source_file FROM dossier_persons")
    assert row[0] == "departed" and str(row[1]) == "2025-04-22" and row[2] == later.name
    files = con.execute(
        "SELECT file_name, rows_new, rows_superseding FROM ingested_files ORDER BY file_id"
    ).fetchall()
    assert files == [(first.name, 1, 0), (later.name, 0, 1)]
    assert row_accounting_problems(con) == []


def test_an_invalid_correction_keeps_the_earlier_valid_version(con, tmp_path):
    write_csv(tmp_path / "1.csv", [person()])
    write_csv(tmp_path / "2.csv", [person(registration_date="2025-02-30")])
    ingest_paths(con, [tmp_path])
    assert con.execute("SELECT source_file FROM dossier_persons").fetchall() == [("1.csv",)]
    assert count(con, "quarantine") == 1


def test_partial_re_extract_of_a_dossier_is_accepted(con, tmp_path):
    rows = household()
    write_csv(tmp_path / "1.csv", rows)
    child = dict(rows[2], pregnant="", medical_basic="ja")
    write_csv(tmp_path / "2.csv", [child])
    ingest_paths(con, [tmp_path])
    assert count(con, "dossier_persons") == 3
    assert count(con, "dossier_persons", "medical_basic AND source_file = '2.csv'") == 1


def test_file_with_identifiers_is_rejected_and_stores_nothing(con, tmp_path):
    from data_contracts.row_model import COLUMNS

    path = write_csv(tmp_path / "pii.csv", [person()], columns=[*COLUMNS, "last_name"])
    outcome = ingest_file(con, path)
    assert outcome.rejected and "last_name" in outcome.message
    assert count(con, "dossier_persons") == count(con, "quarantine") == 0
    stored = fetch_one(con, "SELECT status, rows_read, message FROM ingested_files")
    assert stored[0] == "rejected" and stored[1] == 0 and "last_name" in stored[2]
    assert "last_name" in json.dumps(snapshot(con), default=str)  # only as a column name
    assert "P0001" not in json.dumps(snapshot(con), default=str)  # no cell of the row


def test_cli_summarises_each_file_and_fails_when_one_is_rejected(tmp_path, capsys):
    from data_contracts.row_model import COLUMNS

    folder = tmp_path / "landing"
    folder.mkdir()
    write_csv(folder / "a.csv", mixed_rows())
    write_csv(
        folder / "b.csv", [person(dossier_id="D7", person_id="P7")], columns=[*COLUMNS, "email"]
    )
    (folder / "c.csv").write_bytes(b"PK\x03\x04 not a csv")
    db = tmp_path / "wh.duckdb"
    assert reab(["ingest", str(folder), "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "a.csv: 5 rows read, 4 accepted" in out and "1 quarantined" in out
    assert "b.csv: REJECTED" in out and "email" in out
    assert "c.csv: REJECTED" in out and "Excel" in out
    with connect(db, read_only=True) as ro:
        assert count(ro, "dossier_persons") == 4  # the good file still went in
    assert reab(["ingest", str(folder / "a.csv"), "--db", str(db)]) == 0
    assert "already ingested" in capsys.readouterr().out
    assert reab(["ingest", str(tmp_path / "missing"), "--db", str(db)]) == 2


def test_status_reports_accounting(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    write_csv(tmp_path / "a.csv", mixed_rows())
    reab(["ingest", str(tmp_path / "a.csv"), "--db", str(db)])
    assert reab(["status", "--db", str(db)]) == 0
    assert "row accounting: OK" in capsys.readouterr().out


def test_row_accounting_detects_a_lost_row(con, tmp_path):
    ingest_file(con, write_csv(tmp_path / "a.csv", mixed_rows()))
    con.execute("DELETE FROM quarantine")
    problems = row_accounting_problems(con)
    assert any("1 quarantined recorded, 0 stored" in p for p in problems)
    con.execute("DELETE FROM dossier_persons WHERE person_id = 'P0001'")
    assert any("dossier_persons holds 3 rows" in p for p in row_accounting_problems(con))


def big_extract(path: Path, dossiers: int) -> Path:
    """A large valid extract written quickly with polars (one principal per dossier)."""
    import polars as pl

    from data_contracts.row_model import COLUMNS

    template = person()
    frame = (
        pl.DataFrame({c: [template[c]] for c in COLUMNS})
        .select(pl.all().repeat_by(dossiers).explode())
        .with_columns(
            pl.format("D{}", pl.int_range(pl.len())).alias("dossier_id"),
            pl.format("Q{}", pl.int_range(pl.len())).alias("person_id"),
        )
    )
    frame.write_csv(path)
    return path


@pytest.mark.slow
def test_a_crash_mid_file_leaves_the_warehouse_as_before(tmp_path, monkeypatch):
    monkeypatch.setenv("REAB_MAX_EXTRACT_BYTES", str(256 * 1024**2))  # the file is ~60 MiB
    db = tmp_path / "wh.duckdb"
    small = write_csv(tmp_path / "small.csv", mixed_rows())
    assert reab(["ingest", str(small), "--db", str(db)]) == 0
    with connect(db, read_only=True) as ro:
        before = snapshot(ro)
    big = big_extract(tmp_path / "big.csv", 400_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ingest", str(big), "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    deadline = time.monotonic() + 300
    for line in process.stdout:  # kill as soon as it starts writing the file's rows
        if "writing" in line:
            time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the ingest finished before it was killed"
    with connect(db, read_only=True) as ro:
        assert snapshot(ro) == before
    # and the file goes in whole afterwards
    with connect(db) as rw:
        outcome = ingest_file(rw, big)
        assert outcome.rows_accepted == 400_000
        assert row_accounting_problems(rw) == []


def test_warehouse_locked_by_another_writer_gets_a_clear_message(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    path = write_csv(tmp_path / "a.csv", [person()])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('held', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert reab(["ingest", str(path), "--db", str(db)]) == 2
        assert "another process is writing" in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------------
# Blank records, the quarantine preview, supersession within a run, dialects
# ---------------------------------------------------------------------------


def test_blank_records_are_neither_read_nor_quarantined(con, tmp_path):
    from data_contracts.row_model import COLUMNS

    lines = write_csv(tmp_path / "x.csv", mixed_rows(), delimiter=";").read_text().splitlines()
    blank = ";" * (len(COLUMNS) - 1)
    lines[2:2] = [blank, "  ", ""]  # records 2, 3 and 4 are blank
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines + [blank]) + "\n")
    outcome = ingest_file(con, path)
    assert (outcome.rows_read, outcome.rows_accepted, outcome.rows_quarantined) == (5, 4, 1)
    rows = [
        r for (r,) in con.execute("SELECT source_row FROM dossier_persons ORDER BY 1").fetchall()
    ]
    assert rows == [1, 5, 6, 7]  # as delivered: the blank records keep their numbers
    assert con.execute("SELECT source_row FROM quarantine").fetchall() == [(8,)]
    assert row_accounting_problems(con) == []


def bad_children(count: int) -> list[dict]:
    """A valid household, then ``count`` children naming a parent who is not there."""
    rows = household()
    for i in range(count):
        rows.append(
            person(
                person_id=f"P09{i:02d}",
                role="child",
                age_at_registration="7",
                annex_parent_id=f"SECRET-{i}",
            )
        )
    return rows


def test_summary_previews_the_first_quarantined_rows_without_their_values(con, tmp_path):
    outcome = ingest_file(con, write_csv(tmp_path / "a b.csv", bad_children(5)))
    lines = outcome.summary().splitlines()
    assert lines[0].startswith("a b.csv: 8 rows read, 3 accepted")
    assert lines[1:] == [
        "      row 4: annex_parent_id '…' is not a person in the same dossier",
        "      row 5: annex_parent_id '…' is not a person in the same dossier",
        "      row 6: annex_parent_id '…' is not a person in the same dossier",
        "      … and 2 more: reab quarantine --file 'a b.csv'",
    ]
    assert "SECRET" not in outcome.summary()
    stored = [
        r for (r,) in con.execute("SELECT reason FROM quarantine ORDER BY source_row").fetchall()
    ]
    assert "annex_parent_id 'SECRET-0' is not" in stored[0]  # kept whole in the quarantine


def test_summary_lists_every_quarantined_row_when_there_are_few(con, tmp_path):
    outcome = ingest_file(con, write_csv(tmp_path / "a.csv", mixed_rows()))
    assert outcome.summary().splitlines()[1:] == [
        "      row 5: age_at_registration: '…' is above the maximum 120"
    ]


def test_cli_prints_the_preview(tmp_path, capsys):
    path = write_csv(tmp_path / "a.csv", bad_children(4))
    assert reab(["ingest", str(path), "--db", str(tmp_path / "wh.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "      row 4: annex_parent_id '…' is not a person in the same dossier" in out
    assert "      … and 1 more: reab quarantine --file a.csv" in out
    assert "SECRET" not in out


def test_supersession_within_one_run_keeps_the_latest_valid_version(con, tmp_path):
    first = household("D0001", 1) + household("D0002", 4)
    write_csv(tmp_path / "1.csv", first)
    second = [dict(r, age_at_registration="35") if r["role"] != "child" else r for r in first[:3]]
    write_csv(tmp_path / "2.csv", second + household("D0003", 7))
    third = [
        dict(first[2], medical_basic="ja"),  # D0001's child, again (first in 1, then 2)
        dict(first[4], sex="X"),  # D0002's partner
        dict(first[5], registration_date="2026-02-31"),  # invalid: keeps file 1's child
    ]
    write_csv(tmp_path / "3.csv", third)
    outcomes = ingest_paths(con, [tmp_path])
    assert [(o.rows_new, o.rows_superseding, o.rows_quarantined) for o in outcomes] == [
        (6, 0, 0),
        (3, 3, 0),
        (0, 2, 1),
    ]
    stored = dict(con.execute("SELECT person_id, source_file FROM dossier_persons").fetchall())
    assert stored == {
        "P0001": "2.csv",
        "P0002": "2.csv",
        "P0003": "3.csv",
        "P0004": "1.csv",
        "P0005": "3.csv",
        "P0006": "1.csv",
        "P0007": "2.csv",
        "P0008": "2.csv",
        "P0009": "2.csv",
    }
    assert (
        scalar(con, "SELECT age_at_registration FROM dossier_persons WHERE person_id = 'P0001'")
        == 35
    )
    assert row_accounting_problems(con) == []


def test_files_of_both_dialects_in_one_run_are_each_read_in_their_own(con, tmp_path):
    write_csv(tmp_path / "a.csv", [person(ticket_cost_eur="1234.5")])
    write_csv(
        tmp_path / "b.csv",
        [person(dossier_id="D2", person_id="P2", ticket_cost_eur="1.234,56")],
        delimiter=";",
    )
    write_csv(tmp_path / "c.csv", [person(dossier_id="D3", person_id="P3", ticket_cost_eur="1.5")])
    ingest_paths(con, [tmp_path])
    amounts = con.execute(
        "SELECT dossier_id, ticket_cost_eur::VARCHAR FROM dossier_persons ORDER BY 1"
    ).fetchall()
    assert amounts == [("D0001", "1234.50"), ("D2", "1234.56"), ("D3", "1.50")]


def test_a_file_that_cannot_be_opened_is_rejected_and_the_others_go_in(con, tmp_path):
    good = write_csv(tmp_path / "a.csv", [person()])
    outcomes = ingest_paths(con, [tmp_path / "gone.csv", good])
    assert outcomes[0].rejected and "cannot open" in outcomes[0].message
    assert outcomes[1].status == "ingested" and count(con, "dossier_persons") == 1


def test_the_same_content_twice_in_one_run_is_ingested_once(con, tmp_path):
    path = write_csv(tmp_path / "a.csv", mixed_rows())
    (tmp_path / "b.csv").write_bytes(path.read_bytes())
    outcomes = ingest_paths(con, [tmp_path])
    assert [o.status for o in outcomes] == ["ingested_with_quarantine", "already_ingested"]
    assert count(con, "ingested_files") == 1 and row_accounting_problems(con) == []


def test_stored_dataset_validation_is_the_vectorised_verdict(con, tmp_path):
    from data_contracts.dataset_expectations import DatasetValidation

    outcome = ingest_file(con, write_csv(tmp_path / "a.csv", mixed_rows()))
    stored = DatasetValidation.from_json(
        scalar(con, "SELECT dataset_validation FROM ingested_files")
    )
    assert stored.success and stored.row_count == outcome.rows_accepted == 4
    assert stored.to_json() == outcome.dataset_validation


def test_reab_ingest_does_not_import_great_expectations(tmp_path):
    path = write_csv(tmp_path / "a.csv", mixed_rows())
    code = (
        "import sys; from pipelines.cli import main; "
        f"code = main(['ingest', {str(path)!r}, '--db', {str(tmp_path / 'wh.duckdb')!r}]); "
        "assert code == 0, code; "
        "print('GX' if any(m.startswith('great_expectations') for m in sys.modules) else 'no GX')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "no GX"


def test_a_dossier_judged_with_the_warehouse_rows_can_fail_where_the_file_alone_passes(
    con, tmp_path
):
    write_csv(tmp_path / "1.csv", household())  # D0001: principal P0001, partner, child
    # Another principal for D0001 (alone, the file's dossier has one principal), and a
    # new dossier that is fine either way.
    rival = person(person_id="P0077")
    write_csv(tmp_path / "2.csv", [rival, person(dossier_id="D0009", person_id="P0090")])
    first, second = ingest_paths(con, [tmp_path])
    assert (second.rows_accepted, second.rows_quarantined) == (1, 1)
    reason = scalar(con, "SELECT reason FROM quarantine")
    assert reason == "dossier has 2 principals (exactly one required)"
    assert count(con, "dossier_persons", "dossier_id = 'D0001'") == 3
    assert row_accounting_problems(con) == []


def corrections_run(folder: Path) -> Path:
    """Files that correct, supersede and contradict each other's dossiers."""
    folder.mkdir()
    first = household("D0001", 1) + household("D0002", 4)
    write_csv(folder / "1.csv", first)
    second = [dict(r, age_at_registration="35") if r["role"] != "child" else r for r in first[:3]]
    write_csv(folder / "2.csv", second + household("D0003", 7))
    (folder / "3.csv").write_bytes((folder / "1.csv").read_bytes())  # 1 again
    from data_contracts.row_model import COLUMNS

    write_csv(folder / "4.csv", [first[0]], columns=[*COLUMNS, "last_name"])  # rejected whole
    third = [
        dict(first[2], medical_basic="ja"),
        dict(first[4], sex="X"),
        dict(first[5], registration_date="2026-02-31"),
        person(person_id="P0077"),  # a second principal for D0001
    ]
    write_csv(folder / "5.csv", third)
    write_csv(folder / "6.csv", [dict(first[2], age_at_registration="9"), *household("D0004", 20)])
    return folder


def comparable(con) -> dict:
    """The tables, without what differs between two runs (time of ingest)."""
    tables = snapshot(con)
    tables["ingested_files"] = con.execute(
        "SELECT * EXCLUDE (ingested_at) FROM ingested_files ORDER BY file_id"
    ).fetchall()
    return tables


@pytest.mark.parametrize("batch_rows", [1, 4, 10, 10_000])
def test_batched_run_stores_what_one_file_at_a_time_stores(tmp_path, monkeypatch, batch_rows):
    """However the files are grouped into transactions, each is judged after the ones before."""
    import pipelines.ingest as ingest

    files = sorted(corrections_run(tmp_path / "in").iterdir())
    with connect(tmp_path / "one_by_one.duckdb") as con:
        singles = [ingest_file(con, path) for path in files]
        expected = comparable(con)
    monkeypatch.setattr(ingest, "FIRST_BATCH_ROWS", batch_rows)
    monkeypatch.setattr(ingest, "BATCH_ROWS", batch_rows)
    with connect(tmp_path / "batched.duckdb") as con:
        batched = ingest_paths(con, files)
        assert comparable(con) == expected
        assert row_accounting_problems(con) == []
    assert [o.summary() for o in batched] == [o.summary() for o in singles]
    assert [o.status for o in batched] == [
        "ingested",
        "ingested",
        "already_ingested",
        "rejected",
        "ingested_with_quarantine",
        "ingested",
    ]


def test_a_folder_with_a_pipe_and_links_out_is_ingested_without_hanging(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "a.csv", [person()])
    os.mkfifo(folder / "b_pipe.csv")
    (folder / "c_zero.csv").symlink_to("/dev/zero")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "d_passwd.csv").symlink_to(secret)
    db = tmp_path / "wh.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "ingest", str(folder), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a pipe opened for reading would block here for ever
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "named pipe" in out and "device" in out and "outside" in out
    assert "root:x" not in out and "Traceback" not in out
    with connect(db, read_only=True) as con:
        assert count(con, "dossier_persons") == 1
        assert "root:x" not in json.dumps(snapshot(con), default=str)
