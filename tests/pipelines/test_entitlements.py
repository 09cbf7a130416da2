"""Entitlements in the warehouse, the comparison, and the CLI verbs over them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main as reab
from pipelines.entitlements import (
    build_entitlements,
    build_table_comparison,
    chunks_for,
    entitlement_problems,
)
from pipelines.ingest import ingest_paths
from pipelines.warehouse import connect, fetch_one, scalar
from tests.factories import household, person, write_csv

SCENARIO = Path(__file__).resolve().parents[2] / "rules" / "scenarios" / "degressive_1500.yaml"


@pytest.fixture
def warehouse(tmp_path):
    """Worked example 1 as a household, a Brazilian, and a Georgian on transition."""
    rows = household(registration_date="2026-02-10", departure_date="2026-03-01")
    rows[0]["procedure_phase"] = rows[1]["procedure_phase"] = "dvz"
    rows.append(
        person(
            dossier_id="D0002",
            person_id="P0100",
            nationality="BRA",
            return_country="BRA",
            registration_date="2026-04-01",
            departure_date="2026-04-20",
        )
    )
    rows.append(
        person(
            dossier_id="D0003",
            person_id="P0200",
            registration_date="2025-10-01",
            departure_date="2026-02-15",
        )
    )
    rows.append(
        person(dossier_id="D0004", person_id="P0300", dossier_status="cancelled", departure_date="")
    )
    write_csv(tmp_path / "a.csv", rows)
    db = tmp_path / "wh.duckdb"
    with connect(db) as con:
        ingest_paths(con, [tmp_path / "a.csv"])
    return db


def amounts(con, person_id: str, table: str) -> dict:
    frame = con.sql(
        'SELECT * FROM entitlements WHERE person_id = ? AND "table" = ?', params=[person_id, table]
    ).pl()
    return frame.row(0, named=True)


def test_every_person_under_every_table_and_scenario(warehouse):
    with connect(warehouse) as con:
        rows = build_entitlements(con, [SCENARIO])
        assert rows == 6 * 4
        assert entitlement_problems(con) == []
        tables = {t for (t,) in con.execute('SELECT DISTINCT "table" FROM entitlements').fetchall()}
        assert tables == {"2025", "2026", "applicable", "degressive_1500"}
        principal = amounts(con, "P0001", "2026")
        assert principal["degressive_topup"] == Decimal("2000.00")
        assert principal["total"] == Decimal("5900.00")  # 50 + 350 + 5000 + fee 500
        assert amounts(con, "P0001", "degressive_1500")["degressive_topup"] == Decimal("1500.00")
        assert amounts(con, "P0200", "applicable")["applied_table"] == "2025"  # transition
        assert "A-TRANSITION" in amounts(con, "P0200", "applicable")["rules"]


def test_problems_are_found_when_a_total_does_not_add_up(warehouse):
    with connect(warehouse) as con:
        build_entitlements(con, [])
        con.execute("UPDATE entitlements SET total = total + 1 WHERE person_id = 'P0001'")
        con.execute("UPDATE entitlements SET amaar = -1 WHERE person_id = 'P0002'")
        problems = entitlement_problems(con)
    assert any("total ≠ sum" in p for p in problems)
    assert any("negative amount" in p for p in problems)


def test_comparison_reconciles_with_entitlements(warehouse):
    with connect(warehouse) as con:
        build_entitlements(con, [])
        build_table_comparison(con)
        by_line = dict(
            con.execute(
                "SELECT budget_line, sum(cost_2026) - sum(cost_2025) FROM table_comparison "
                "GROUP BY 1"
            ).fetchall()
        )
        direct = scalar(
            con,
            """SELECT sum(CASE WHEN "table" = '2026' THEN total ELSE -total END)
               FROM entitlements WHERE "table" IN ('2025', '2026') AND person_id <> 'P0300'""",
        )
        assert by_line["total"] == direct
        syria = fetch_one(
            con,
            "SELECT persons, cost_2025, cost_2026, persons_better_off, persons_worse_off "
            "FROM table_comparison WHERE return_country = 'SYR' AND budget_line = 'total'",
        )
        assert syria[0] == 3 and syria[2] > syria[1] and syria[3] == 3 and syria[4] == 0
        cancelled = scalar(
            con,
            "SELECT count(*) FROM table_comparison WHERE return_country = 'GEO' "
            "AND registration_year = 2025 AND budget_line = 'total'",
        )
        assert cancelled == 1  # the cancelled 2025 dossier is not in the comparison


def test_cli_entitlements_writes_one_row_per_person(tmp_path, capsys):
    rows = household(registration_date="2026-02-10", departure_date="2026-03-01")
    rows.append(person(dossier_id="D9", person_id="P9", age_at_registration="x"))
    path = write_csv(tmp_path / "extract.csv", rows, delimiter=";")
    out = tmp_path / "out" / "ent.csv"
    code = reab(
        [
            "entitlements",
            "--table",
            "2026",
            str(path),
            "--output",
            str(out),
            "--db",
            str(tmp_path / "none.duckdb"),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "1 rows break the extract contract" in text and "age_at_registration" in text
    written = pl.read_csv(out, infer_schema=False)
    assert written.height == 3
    assert set(written["table"]) == {"2026"}
    assert written["rules"].str.contains("T26-CAT").all()


def test_cli_entitlements_scenario_and_bad_table(tmp_path, capsys):
    path = write_csv(tmp_path / "extract.csv", household())
    out = tmp_path / "ent.csv"
    assert reab(["entitlements", "--table", str(SCENARIO), str(path), "--output", str(out)]) == 0
    assert set(pl.read_csv(out)["table"]) == {"degressive_1500"}
    assert reab(["entitlements", "--table", "2027", str(path), "--output", str(out)]) == 2
    assert "not a table name" in capsys.readouterr().out


def test_cli_explain_names_rules_parameters_and_sources(warehouse, capsys):
    assert reab(["explain", "P0001", "--db", str(warehouse), "--table", "2026"]) == 0
    text = capsys.readouterr().out
    for words in (
        "T26-DEGR-AMOUNT",
        "degressive_early = 2000.00",
        "confirmed",
        "working",
        "source:",
        "the vectorised engine gives the same amounts",
    ):
        assert words in text
    assert reab(["explain", "nobody", "--db", str(warehouse)]) == 1


def _entitlements_sorted(con) -> pl.DataFrame:
    return con.sql('SELECT * FROM entitlements ORDER BY "table", dossier_id, person_id').pl()


def test_chunked_build_equals_one_chunk(demo_warehouse):
    """Dossier chunks with the repeat returners' history give the same rows as one chunk."""
    with connect(demo_warehouse) as con:
        persons = scalar(con, "SELECT count(*) FROM dossier_persons")

        def repeat_returners_across(chunks: int) -> int:
            return scalar(
                con,
                f"""SELECT count(*) FROM (SELECT person_id FROM dossier_persons GROUP BY
                    person_id HAVING count(DISTINCT hash(dossier_id) % {chunks}) > 1)""",
            )

        # a chunk count that splits some repeat returner's dossiers: the history matters
        count = next(n for n in range(2, 13) if repeat_returners_across(n) > 0)
        chunk_persons = -(-persons // count)
        assert len(chunks_for(persons, chunk_persons)) == count
        build_entitlements(con, [SCENARIO], chunk_persons=persons)
        whole = _entitlements_sorted(con)
        messages = []
        build_entitlements(con, [SCENARIO], progress=messages.append, chunk_persons=chunk_persons)
        chunked = _entitlements_sorted(con)
    assert any(m.startswith(f"chunk {count}/{count}") for m in messages), messages[-3:]
    assert whole.height == persons * 4
    assert chunked.equals(whole)


def test_failed_build_keeps_the_previous_entitlements(demo_warehouse):
    with connect(demo_warehouse) as con:
        persons = scalar(con, "SELECT count(*) FROM dossier_persons")
        build_entitlements(con, [], chunk_persons=persons)
        before = _entitlements_sorted(con)

        def fail_in_second_chunk(message: str) -> None:
            if message.startswith("chunk 2/"):
                raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"):
            build_entitlements(
                con, [SCENARIO], progress=fail_in_second_chunk, chunk_persons=persons // 3
            )
        assert _entitlements_sorted(con).equals(before)
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
        assert "entitlements__building" not in tables


def test_cli_entitlements_reads_earlier_dossiers_from_the_warehouse(warehouse, tmp_path, capsys):
    """P0100 left in dossier D0002 (April 2026); a new dossier two years later is excluded."""
    rows = [
        person(
            dossier_id="D0900",
            person_id=person_id,
            nationality="BRA",
            return_country="BRA",
            registration_date="2028-04-01",
            departure_date="2028-04-20",
        )
        for person_id in ("P0100", "P0999")
    ]
    for row in rows:
        row["role"] = "principal" if row["person_id"] == "P0100" else "partner"
    path = write_csv(tmp_path / "later.csv", rows)
    out = tmp_path / "later-out.csv"
    args = ["entitlements", "--table", "2026", str(path), "--output", str(out)]
    assert reab([*args, "--db", str(warehouse)]) == 0
    assert "earlier dossiers from the warehouse" in capsys.readouterr().out
    rules = dict(pl.read_csv(out).select("person_id", "rules").iter_rows())
    assert "C-EXCL-5Y" in rules["P0100"]
    assert "C-EXCL-5Y" not in rules["P0999"]
