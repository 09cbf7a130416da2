"""Issue 17, item 5: a damaged warehouse or a full disk ends the command with one clear
line and a non-zero exit, the warehouse as it was; a file rejected whole and sent again
is rejected again (with when and why), not passed as "already ingested"."""

from __future__ import annotations

import errno
import random
import shutil
from datetime import date

import duckdb
import polars as pl
import pytest

import pipelines.ingest as ingest
from data_contracts.row_model import COLUMNS
from pipelines.cli import main as reab
from pipelines.warehouse import connect, scalar
from tests.factories import household, person, write_csv

DAMAGED = "cannot be read (it is damaged or not a DuckDB file): restore it from a backup"
DISK_FULL = "the disk is full while writing"


def snapshot(db) -> dict:
    with connect(db, read_only=True) as con:
        tables = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


@pytest.fixture
def warehouse(tmp_path):
    """A warehouse holding one ingested file."""
    db = tmp_path / "wh.duckdb"
    write_csv(tmp_path / "first.csv", household())
    assert reab(["ingest", str(tmp_path / "first.csv"), "--db", str(db)]) == 0
    return db


def _damage(db, how: str) -> None:
    data = db.read_bytes()
    if how == "random bytes":
        db.write_bytes(random.Random(0).randbytes(64 * 1024))
    elif how == "truncated":  # a copy cut short (DuckDB reads blocks when it needs them:
        db.write_bytes(data[: len(data) // 10])  # a cut past those read goes unseen)
    else:  # every block after the headers overwritten: checksums fail
        rng = random.Random(1)
        db.write_bytes(data[:12288] + rng.randbytes(len(data) - 12288))


def _last_line(out: str) -> str:
    lines = out.strip().splitlines()
    return lines[-1] if lines else ""


# --- 5a: a damaged warehouse ----------------------------------------------------------


@pytest.mark.parametrize("how", ["random bytes", "truncated", "corrupt blocks"])
@pytest.mark.parametrize("verb", ["status", "ingest", "quarantine"])
def test_a_damaged_warehouse_is_named_in_one_line(warehouse, tmp_path, capsys, how, verb):
    _damage(warehouse, how)
    before = warehouse.read_bytes()
    extra = [str(tmp_path / "first.csv")] if verb == "ingest" else []
    capsys.readouterr()
    code = reab([verb, *extra, "--db", str(warehouse)])  # returns: no traceback
    out = capsys.readouterr().out
    assert code == 2, out
    line = _last_line(out)
    assert line.startswith(f"reab {verb}: the warehouse file {warehouse} {DAMAGED}"), out
    assert "\n" not in line and "Traceback" not in out
    assert warehouse.read_bytes() == before  # left as it was
    assert not (tmp_path / "wh.duckdb.wal").exists()


# --- 5a: a full disk ------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        lambda db: duckdb.IOException(f'Could not write file "{db}.wal": No space left on device'),
        lambda db: OSError(errno.ENOSPC, "No space left on device", f"{db}.wal"),
    ],
    ids=["duckdb", "oserror"],
)
def test_a_full_disk_during_ingest_keeps_nothing_of_the_run(
    warehouse, tmp_path, capsys, monkeypatch, error
):
    before = snapshot(warehouse)
    flush = ingest._BatchWriter.flush

    def flush_then_fail(self):
        flush(self)  # the rows are in the transaction: then the disk fills up
        raise error(warehouse)

    monkeypatch.setattr(ingest._BatchWriter, "flush", flush_then_fail)
    rows = [person(dossier_id="D0100", person_id="P0100"), *household("D0200", 200)]
    write_csv(tmp_path / "second.csv", rows)
    capsys.readouterr()
    code = reab(["ingest", str(tmp_path / "second.csv"), "--db", str(warehouse)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert _last_line(out) == (
        f"reab ingest: {DISK_FULL} {warehouse}.wal; nothing of the failed step was kept: "
        "free some space and run it again"
    )
    assert "Traceback" not in out
    assert snapshot(warehouse) == before
    monkeypatch.undo()  # and once there is space again, the same file goes in
    assert reab(["ingest", str(tmp_path / "second.csv"), "--db", str(warehouse)]) == 0
    with connect(warehouse, read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM dossier_persons") == 3 + 4


def test_a_full_disk_while_writing_the_entitlements_csv_keeps_the_previous_file(
    tmp_path, capsys, monkeypatch
):
    path = write_csv(tmp_path / "extract.csv", household())
    out = tmp_path / "ent.csv"
    out.write_text("the previous export\n")
    args = ["entitlements", "--table", "2026", str(path), "--output", str(out)]
    args += ["--db", str(tmp_path / "none.duckdb")]

    def half_then_full(self, file, *a, **k):
        with open(file, "w") as handle:
            handle.write("dossier_id,person_id\nD0001,")
        raise OSError(errno.ENOSPC, "No space left on device", str(file))

    monkeypatch.setattr(pl.DataFrame, "write_csv", half_then_full)
    capsys.readouterr()
    assert reab(args) == 1
    line = _last_line(capsys.readouterr().out)
    assert line.startswith(f"reab entitlements: {DISK_FULL} {out}.partial; nothing")
    assert out.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ent.csv", "extract.csv"]


def test_other_os_errors_are_not_called_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(
        ingest, "ingest_paths", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "no"))
    )
    write_csv(tmp_path / "a.csv", [person()])
    with pytest.raises(PermissionError):  # a bug or a setup problem: shown whole
        reab(["ingest", str(tmp_path / "a.csv"), "--db", str(tmp_path / "wh.duckdb")])


# --- 5b: a file rejected whole, sent again --------------------------------------------


def test_a_rejected_file_sent_again_is_rejected_again_with_when_and_why(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    bad = write_csv(tmp_path / "pii.csv", [person()], columns=[*COLUMNS, "last_name"])
    assert reab(["ingest", str(bad), "--db", str(db)]) == 1
    with connect(db, read_only=True) as con:
        (reason,) = con.execute("SELECT message FROM ingested_files").fetchone()
    assert "last_name" in reason
    before = snapshot(db)
    copy = tmp_path / "pii again.csv"
    shutil.copy(bad, copy)
    capsys.readouterr()
    for path in (bad, copy):  # the same name or another: the same content
        assert reab(["ingest", str(path), "--db", str(db)]) == 1
        out = capsys.readouterr().out
        assert (
            f"{path.name}: REJECTED — this file was rejected on {date.today():%Y-%m-%d}: "
            f"{reason}; fix it and send the corrected file"
        ) in out
        assert "already ingested" not in out.replace("0 already ingested", "")
        assert "1 rejected" in out
    assert snapshot(db) == before  # nothing more recorded


def test_a_rejected_file_twice_in_one_run(tmp_path):
    (tmp_path / "in").mkdir()
    bad = write_csv(tmp_path / "in" / "a.csv", [person()], columns=[*COLUMNS, "last_name"])
    shutil.copy(bad, tmp_path / "in" / "b.csv")
    with connect(tmp_path / "wh.duckdb") as con:
        first, second = ingest.ingest_paths(con, [tmp_path / "in"])
        assert first.rejected and second.rejected
        assert second.message.startswith("this file was rejected on ")
        assert first.message in second.message
        assert scalar(con, "SELECT count(*) FROM ingested_files") == 1


def test_an_ingested_file_sent_again_is_still_already_ingested(warehouse, tmp_path, capsys):
    capsys.readouterr()
    assert reab(["ingest", str(tmp_path / "first.csv"), "--db", str(warehouse)]) == 0
    assert "already ingested (file 1); nothing changed" in capsys.readouterr().out


@pytest.fixture(autouse=True)
def _no_reab_env(monkeypatch):
    for name in ("REAB_DB", "REAB_LANDING"):
        monkeypatch.delenv(name, raising=False)
