"""The ingest hook of data_contracts.identifier_values: rows quarantined or the file
rejected, and no identifier value stored anywhere."""

import json

import pytest

from pipelines.ingest import ingest_file
from pipelines.warehouse import connect, fetch_one, scalar
from tests.factories import household, write_csv

NN = "85010112387"  # valid check digits


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "wh.duckdb") as connection:
        yield connection


def everything(con) -> str:
    tables = ("ingested_files", "dossier_persons", "quarantine")
    return json.dumps(
        {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables},
        default=str,
    )


def rows(n_dossiers):
    out = []
    for d in range(n_dossiers):
        out += household(dossier=f"D{d:05d}", first_person=3 * d + 1)
    return out


def test_one_identifier_value_in_many_rows_quarantines_that_row_only(con, tmp_path):
    cells = rows(100)  # 300 rows
    cells[4] = dict(cells[4], nationality="jan.peeters@example.be")
    cells[7] = dict(cells[7], ticket_cost_eur=NN)
    outcome = ingest_file(con, write_csv(tmp_path / "a.csv", cells))
    assert not outcome.rejected, outcome.message
    reasons = con.execute(
        "SELECT source_row, reason, raw_values FROM quarantine ORDER BY 1"
    ).fetchall()
    by_row = {r: (reason, raw) for r, reason, raw in reasons}
    assert by_row[5][0] == "identifier-looking value, not stored: nationality (e-mail address)"
    assert by_row[8][0] == (
        "identifier-looking value, not stored: ticket_cost_eur (national register number)"
    )
    assert "[removed: e-mail address]" in by_row[5][1]
    dump = everything(con)
    assert "jan.peeters" not in dump and NN not in dump and "85010112387" not in dump
    assert "example.be" not in dump


def test_too_many_identifier_values_reject_the_file(con, tmp_path):
    cells = rows(10)  # 30 rows, 1 = 3 %
    cells[2] = dict(cells[2], sex="+32 475 12 34 56")
    outcome = ingest_file(con, write_csv(tmp_path / "b.csv", cells))
    assert outcome.rejected and "sex: phone number" in outcome.message
    assert scalar(con, "SELECT count(*) FROM dossier_persons") == 0
    assert "475 12" not in everything(con)
    assert fetch_one(con, "SELECT status FROM ingested_files")[0] == "rejected"


def test_an_identifier_value_in_an_id_column_rejects_the_file(con, tmp_path):
    cells = rows(400)
    cells[100] = dict(cells[100], person_id=NN)
    outcome = ingest_file(con, write_csv(tmp_path / "c.csv", cells))
    assert outcome.rejected and "person_id: national register number" in outcome.message
    assert NN not in everything(con)
