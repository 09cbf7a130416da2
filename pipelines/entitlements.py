"""Entitlements in the warehouse: every person under every table, and the comparison.

Library code for the Dagster assets and the CLI (no Dagster here). Amounts are
computed in integer cents by ``rules.engine`` and stored as ``DECIMAL(12, 2)``,
converted exactly in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.freshness import record_build
from pipelines.warehouse import query_frame, registered, scalar
from rules.engine import (
    AMOUNT_COLUMNS,
    INPUT_COLUMNS,
    choose_applicable,
    evaluate_cents,
    prepare,
    with_rules_text,
)
from rules.parameters import Table, applicable_rules, built_in_table, load_scenario

SCENARIO_FOLDER = Path(__file__).resolve().parents[1] / "rules" / "scenarios"
BUDGET_LINES = AMOUNT_COLUMNS
Progress = Callable[[str], None]
# Persons per chunk of the warehouse run: about 0.6 GiB of working memory at 1 M.
CHUNK_PERSONS = 1_000_000

ENTITLEMENTS_SCHEMA = f"""
CREATE OR REPLACE TABLE {{name}} (
    dossier_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    "table" VARCHAR NOT NULL,
    applied_table VARCHAR NOT NULL,
    category TINYINT,
    ticket_eligible BOOLEAN NOT NULL,
    {", ".join(f"{c} DECIMAL(12, 2) NOT NULL" for c in AMOUNT_COLUMNS)},
    rules VARCHAR NOT NULL
)
"""


def default_scenarios() -> list[Path]:
    return sorted(SCENARIO_FOLDER.glob("*.yaml"))


def load_persons(con: duckdb.DuckDBPyConnection, chunk: Chunk | None = None) -> pl.DataFrame:
    """The columns the rule engine reads, of every person in the warehouse (or of the
    dossiers of one ``chunk``), typed."""
    where = f" WHERE {chunk.condition}" if chunk else ""
    return query_frame(con, f"SELECT {', '.join(INPUT_COLUMNS)} FROM dossier_persons{where}")


@dataclass(frozen=True)
class Chunk:
    """Dossiers ``number`` of ``count``: a whole dossier always falls in one chunk (the
    household rules read across its persons), chosen by a hash of its id."""

    number: int
    count: int

    @property
    def condition(self) -> str:
        return f"hash(dossier_id) % {self.count} = {self.number}"


def chunks_for(persons: int, chunk_persons: int) -> list[Chunk]:
    count = max(1, -(-persons // max(1, chunk_persons)))
    return [Chunk(i, count) for i in range(count)]


def load_repeat_history(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Departed dossiers of every person with more than one dossier: what the five-year
    rule needs from outside a chunk (rules.engine ``history``)."""
    return query_frame(
        con,
        """SELECT person_id, dossier_id, dossier_status, departure_date FROM dossier_persons
           WHERE dossier_status = 'departed' AND departure_date IS NOT NULL
             AND person_id IN (SELECT person_id FROM dossier_persons
                               GROUP BY person_id HAVING count(*) > 1)""",
    )


def evaluations(
    persons: pl.DataFrame,
    scenarios: Iterable[Table] = (),
    history: pl.DataFrame | None = None,
    progress: Progress | None = None,
) -> Iterator[pl.DataFrame]:
    """Every person under 2025, 2026, ``applicable`` and each scenario (cents, rules
    text), one table at a time so a caller can write each before the next is made."""
    say = progress or (lambda _msg: None)
    scenarios = list(scenarios)
    rules = applicable_rules()
    for scenario in scenarios:
        if scenario.name in (rules.before_table, rules.after_table, "applicable"):
            raise ValueError(f"scenario name {scenario.name!r} clashes with a table name")
    say(f"preparing {persons.height:,} persons")
    prepared = prepare(persons, history)
    before_after = []
    for table in (built_in_table(rules.before_table), built_in_table(rules.after_table)):
        say(f"evaluating table {table.name}")
        before_after.append(evaluate_cents(prepared, table))
        yield with_rules_text(before_after[-1])
    yield with_rules_text(choose_applicable(prepared, *before_after))
    del before_after
    for scenario in scenarios:
        say(f"evaluating scenario {scenario.name} ({scenario.source_file})")
        yield with_rules_text(evaluate_cents(prepared, scenario))


def _insert_entitlements(
    con: duckdb.DuckDBPyConnection, table: str, evaluated_cents: pl.DataFrame
) -> None:
    """Append to ``table`` (cents → DECIMAL(12, 2) exactly, in SQL)."""
    amounts = ", ".join(
        f"(CAST({c} AS DECIMAL(18, 0)) * CAST(0.01 AS DECIMAL(3, 2)))::DECIMAL(12, 2)"
        for c in AMOUNT_COLUMNS
    )
    with registered(con, evaluated=evaluated_cents):
        con.execute(
            f"""INSERT INTO {table} SELECT dossier_id, person_id, "table", applied_table,
                category, ticket_eligible, {amounts}, rules FROM evaluated"""
        )


def build_entitlements(
    con: duckdb.DuckDBPyConnection,
    scenario_files: Iterable[str | Path] | None = None,
    progress: Progress | None = None,
    chunk_persons: int = CHUNK_PERSONS,
) -> int:
    """Replace table ``entitlements``: every person of the warehouse under every table.

    Dossiers are evaluated in chunks of about ``chunk_persons`` persons and each
    table's result is written before the next is made, so memory stays bounded
    whatever the warehouse holds. The new rows go to a staging table that replaces
    ``entitlements`` at the end: readers see the old table or the new one, never half.
    """
    say = progress or (lambda _msg: None)
    files = default_scenarios() if scenario_files is None else [Path(f) for f in scenario_files]
    scenarios = [load_scenario(f) for f in files]
    persons = scalar(con, "SELECT count(*) FROM dossier_persons")
    chunks = chunks_for(persons, chunk_persons)
    history = load_repeat_history(con) if len(chunks) > 1 else None
    staging = "entitlements__building"
    con.execute(ENTITLEMENTS_SCHEMA.format(name=staging))
    written = 0
    try:
        for chunk in chunks:
            persons_in_chunk = load_persons(con, chunk)
            where = f"chunk {chunk.number + 1}/{chunk.count}: " if chunk.count > 1 else ""
            for evaluated in evaluations(
                persons_in_chunk, scenarios, history, lambda msg, where=where: say(where + msg)
            ):
                _insert_entitlements(con, staging, evaluated)
                written += evaluated.height
            del persons_in_chunk
            say(f"{where}{written:,} of {persons * (3 + len(scenarios)):,} rows written")
    except BaseException:
        con.execute(f"DROP TABLE IF EXISTS {staging}")
        raise
    try:
        con.begin()
        con.execute("DROP TABLE IF EXISTS entitlements")
        con.execute(f"ALTER TABLE {staging} RENAME TO entitlements")
        record_build(con, "entitlements")
        con.commit()
    except BaseException:
        con.rollback()
        con.execute(f"DROP TABLE IF EXISTS {staging}")
        raise
    return written


# The comparison's population, each person with their entitlement under the 2025 table
# (e25) and the 2026 table (e26): departed and registered dossiers (cancelled and
# no-show cost nothing). Shared by table_comparison and the report.
UNDER_BOTH_TABLES_SQL = """
    FROM dossier_persons p
    JOIN entitlements e25 ON e25.dossier_id = p.dossier_id AND e25.person_id = p.person_id
                          AND e25."table" = '2025'
    JOIN entitlements e26 ON e26.dossier_id = p.dossier_id AND e26.person_id = p.person_id
                          AND e26."table" = '2026'
    WHERE p.dossier_status IN ('departed', 'registered')"""

COMPARISON_SQL = """
CREATE OR REPLACE TABLE table_comparison AS
WITH person AS (
    SELECT p.dossier_id, p.person_id, p.return_country,
           year(p.registration_date) AS registration_year,
           e25.category AS category_2025, e26.category AS category_2026,
           {line_pairs}
    {under_both_tables}
),
long AS (
    UNPIVOT person ON {unpivot} INTO NAME budget_line VALUE amounts
)
SELECT return_country, category_2026 AS category, registration_year, budget_line,
       count(*) AS persons,
       sum(amounts[1]) AS cost_2025,
       sum(amounts[2]) AS cost_2026,
       sum(amounts[2]) - sum(amounts[1]) AS difference,
       count(*) FILTER (WHERE amounts[2] > amounts[1]) AS persons_better_off,
       count(*) FILTER (WHERE amounts[2] < amounts[1]) AS persons_worse_off
FROM long
GROUP BY ALL
ORDER BY return_country, registration_year, budget_line
"""


def build_table_comparison(con: duckdb.DuckDBPyConnection) -> int:
    """Per return country, 2026 category, registration year and budget line: persons,
    cost under each table, difference, persons better and worse off under 2026.

    Population: departed and registered dossiers (cancelled and no-show cost nothing).
    """
    pairs = ", ".join(f"[e25.{c}, e26.{c}] AS {c}" for c in BUDGET_LINES)
    con.execute(
        COMPARISON_SQL.format(
            line_pairs=pairs,
            under_both_tables=UNDER_BOTH_TABLES_SQL,
            unpivot=", ".join(BUDGET_LINES),
        )
    )
    record_build(con, "table_comparison")
    return con.execute("SELECT count(*) FROM table_comparison").fetchall()[0][0]


def entitlement_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Totals that do not reconcile, negative amounts, persons missing a table."""
    problems = []
    total = " + ".join(c for c in AMOUNT_COLUMNS if c not in ("pap_cash", "prp_in_kind", "total"))
    reintegration = (
        "reintegration_base + priority_topup + degressive_topup + vulnerability_topup"
        " + medical_topup"
    )
    checks = {
        "total ≠ sum of its budget lines": f"total <> {total}",
        "pap_cash + prp_in_kind ≠ reintegration support": (
            f"pap_cash + prp_in_kind <> {reintegration}"
        ),
        "negative amount": " OR ".join(f"{c} < 0" for c in AMOUNT_COLUMNS),
    }
    for label, condition in checks.items():
        count = con.execute(f"SELECT count(*) FROM entitlements WHERE {condition}").fetchall()
        if count[0][0]:
            problems.append(f"{count[0][0]} rows: {label}")
    missing = con.execute(
        """SELECT count(*) FROM dossier_persons p, (SELECT DISTINCT "table" FROM entitlements) t
           WHERE NOT EXISTS (SELECT 1 FROM entitlements e WHERE e.dossier_id = p.dossier_id
                 AND e.person_id = p.person_id AND e."table" = t."table")"""
    ).fetchall()[0][0]
    if missing:
        problems.append(f"{missing} (person, table) pairs without an entitlement row")
    return problems
