"""Ingest extract files into the warehouse: each file in one transaction, no row lost.

Per file: read it (``data_contracts.readers``), type and check every row
(``row_checks``), judge the dossiers as they will stand after this file, validate
the accepted rows as a dataset (great-expectations), then in one transaction record
the file, quarantine the rejected rows with their raw values, and replace the
earlier versions of the accepted ``(dossier_id, person_id)`` pairs.

The latest file ingested wins; a folder is ingested in file-name order (monthly
extracts named by month sort chronologically). A file already ingested (same
content hash) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.errors import ExtractError
from data_contracts.readers import SOURCE_ROW, RawExtract, content_hash, read_extract_bytes
from data_contracts.row_checks import REASON, check_dossiers, check_rows
from data_contracts.row_model import COLUMNS
from pipelines.warehouse import fetch_one, query_frame, registered, scalar

EXTRACT_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")
Progress = Callable[[str], None]


@dataclass
class FileOutcome:
    """What happened to one file; printed by the CLI, attached as Dagster metadata."""

    file_name: str
    status: str  # ingested | ingested_with_quarantine | rejected | already_ingested
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_new: int = 0
    rows_superseding: int = 0
    message: str = ""
    file_id: int | None = None

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    def summary(self) -> str:
        if self.status == "already_ingested":
            return f"{self.file_name}: already ingested (file {self.file_id}); nothing changed"
        if self.rejected:
            return f"{self.file_name}: REJECTED — {self.message}"
        line = (
            f"{self.file_name}: {self.rows_read} rows read, {self.rows_accepted} accepted "
            f"({self.rows_new} new, {self.rows_superseding} superseding earlier versions), "
            f"{self.rows_quarantined} quarantined"
        )
        return line + (f" — {self.message}" if self.message else "")


def extract_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into extract files, folders in file-name order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in EXTRACT_SUFFIXES
                    and not p.name.startswith(".")
                )
            )
        else:
            found.append(path)
    return found


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    progress: Progress | None = None,
) -> list[FileOutcome]:
    files = extract_files(paths)
    outcomes = []
    for number, path in enumerate(files, start=1):
        if progress:
            progress(f"[{number}/{len(files)}] {path}")
        outcome = ingest_file(con, path, progress=progress)
        if progress:
            progress("    " + outcome.summary())
        outcomes.append(outcome)
    return outcomes


def ingest_file(
    con: duckdb.DuckDBPyConnection, path: str | Path, progress: Progress | None = None
) -> FileOutcome:
    path = Path(path)
    say = progress or (lambda _msg: None)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileOutcome(path.name, "rejected", message=f"cannot open the file: {exc.strerror}")
    digest = content_hash(data)
    seen = fetch_one(con, "SELECT file_id FROM ingested_files WHERE content_hash = ?", [digest])
    if seen:
        return FileOutcome(path.name, "already_ingested", file_id=seen[0])
    try:
        raw = read_extract_bytes(data, path.name)  # the bytes whose hash was checked
    except ExtractError as exc:
        rows = f" ({exc.rows} data rows not stored)" if exc.rows else ""
        outcome = FileOutcome(path.name, "rejected", message=f"{exc}{rows}")
        _record_rejected(con, outcome, digest)
        return outcome
    say(f"    read {raw.rows_read} rows ({raw.describe()}); checking the contract")
    accepted, quarantined = _judge(con, raw)
    validation = _validate_dataset(accepted)
    say(f"    writing {accepted.height} accepted and {quarantined.height} quarantined rows")
    return _write(con, raw, accepted, quarantined, validation)


def _judge(con: duckdb.DuckDBPyConnection, raw: RawExtract) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the file's rows into accepted (typed) and quarantined (reason + raw values)."""
    checked = check_rows(raw.frame, decimal_comma=raw.decimal_comma)
    valid = checked.filter(pl.col(REASON).is_null())
    with registered(con, incoming_dossiers=valid.select("dossier_id").unique()):
        known = query_frame(
            con,
            "SELECT p.dossier_id, p.person_id, p.role FROM dossier_persons p "
            "SEMI JOIN incoming_dossiers i USING (dossier_id)",
        )
    valid = valid.with_columns(check_dossiers(valid, known).alias(REASON))
    rejected_rows = pl.concat(
        [checked.filter(pl.col(REASON).is_not_null()), valid.filter(pl.col(REASON).is_not_null())]
    ).select(SOURCE_ROW, REASON)
    raw_values = raw.frame.join(rejected_rows, on=SOURCE_ROW, how="semi").select(
        SOURCE_ROW, pl.struct(COLUMNS).struct.json_encode().alias("raw_values")
    )
    quarantined = rejected_rows.join(raw_values, on=SOURCE_ROW, how="left")
    if raw.malformed:
        lines = pl.DataFrame(
            {
                SOURCE_ROW: [rec for rec, _, _ in raw.malformed],
                REASON: [reason for _, reason, _ in raw.malformed],
                "raw_values": [json.dumps({"line": line}) for _, _, line in raw.malformed],
            },
            schema={SOURCE_ROW: pl.UInt32, REASON: pl.String, "raw_values": pl.String},
        )
        quarantined = pl.concat([quarantined, lines])
    accepted = valid.filter(pl.col(REASON).is_null()).drop(REASON)
    return accepted, quarantined.sort(SOURCE_ROW)


def _validate_dataset(accepted: pl.DataFrame) -> str | None:
    from data_contracts.dataset_suite import validate_extract_dataset

    return validate_extract_dataset(accepted.select(COLUMNS)).to_json()


def _status(quarantined: int) -> str:
    return "ingested_with_quarantine" if quarantined else "ingested"


def _write(
    con: duckdb.DuckDBPyConnection,
    raw: RawExtract,
    accepted: pl.DataFrame,
    quarantined: pl.DataFrame,
    validation: str | None,
) -> FileOutcome:
    outcome = FileOutcome(
        raw.file_name,
        _status(quarantined.height),
        rows_read=raw.rows_read,
        rows_accepted=accepted.height,
        rows_quarantined=quarantined.height,
    )
    if raw.ignored_columns:
        outcome.message = f"ignored columns not in the contract: {', '.join(raw.ignored_columns)}"
    with registered(con, accepted_rows=accepted, quarantined_rows=quarantined):
        con.begin()
        try:
            outcome.rows_superseding = scalar(
                con,
                "SELECT count(*) FROM dossier_persons p "
                "SEMI JOIN accepted_rows a USING (dossier_id, person_id)",
            )
            outcome.rows_new = outcome.rows_accepted - outcome.rows_superseding
            outcome.file_id = scalar(
                con,
                """INSERT INTO ingested_files (file_name, content_hash, file_format, dialect,
                       rows_read, rows_accepted, rows_quarantined, rows_new, rows_superseding,
                       status, message, dataset_validation)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING file_id""",
                [
                    raw.file_name,
                    raw.content_hash,
                    raw.file_format,
                    raw.describe(),
                    outcome.rows_read,
                    outcome.rows_accepted,
                    outcome.rows_quarantined,
                    outcome.rows_new,
                    outcome.rows_superseding,
                    outcome.status,
                    outcome.message or None,
                    validation,
                ],
            )
            con.execute(
                "INSERT INTO quarantine SELECT ?, ?, source_row, reason, raw_values "
                "FROM quarantined_rows",
                [outcome.file_id, raw.file_name],
            )
            con.execute(
                "DELETE FROM dossier_persons p USING accepted_rows a "
                "WHERE p.dossier_id = a.dossier_id AND p.person_id = a.person_id"
            )
            columns = ", ".join(COLUMNS)
            con.execute(
                f"INSERT INTO dossier_persons ({columns}, file_id, source_file, source_row) "
                f"SELECT {columns}, ?, ?, source_row FROM accepted_rows",
                [outcome.file_id, raw.file_name],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return outcome


def _record_rejected(con: duckdb.DuckDBPyConnection, outcome: FileOutcome, digest: str) -> None:
    """A file rejected whole leaves one line in ``ingested_files`` and nothing else."""
    outcome.file_id = scalar(
        con,
        """INSERT INTO ingested_files (file_name, content_hash, rows_read, rows_accepted,
               rows_quarantined, rows_new, rows_superseding, status, message)
           VALUES (?, ?, 0, 0, 0, 0, 0, 'rejected', ?) RETURNING file_id""",
        [outcome.file_name, digest, outcome.message],
    )


# ---------------------------------------------------------------------------
# Invariants (used by the Dagster asset checks, the CLI and the tests)
# ---------------------------------------------------------------------------


def row_accounting_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every way the warehouse fails to account for the rows it was given (empty = fine)."""
    problems = []
    for file_name, read, acc, quar in con.execute(
        "SELECT file_name, rows_read, rows_accepted, rows_quarantined FROM ingested_files "
        "WHERE rows_read <> rows_accepted + rows_quarantined"
    ).fetchall():
        problems.append(f"{file_name}: {read} read ≠ {acc} accepted + {quar} quarantined")
    for file_name, recorded, stored in con.execute(
        """SELECT f.file_name, f.rows_quarantined, count(q.file_id)
           FROM ingested_files f LEFT JOIN quarantine q USING (file_id)
           GROUP BY ALL HAVING f.rows_quarantined <> count(q.file_id)"""
    ).fetchall():
        problems.append(f"{file_name}: {recorded} quarantined recorded, {stored} stored")
    for file_name, acc, new, sup in con.execute(
        "SELECT file_name, rows_accepted, rows_new, rows_superseding FROM ingested_files "
        "WHERE rows_accepted <> rows_new + rows_superseding"
    ).fetchall():
        problems.append(f"{file_name}: {acc} accepted ≠ {new} new + {sup} superseding")
    new_total, persons = fetch_one(
        con,
        "SELECT (SELECT coalesce(sum(rows_new), 0) FROM ingested_files), "
        "(SELECT count(*) FROM dossier_persons)",
    )
    if new_total != persons:
        problems.append(
            f"dossier_persons holds {persons} rows but the files brought {new_total} new keys"
        )
    duplicates = scalar(
        con,
        "SELECT count(*) FROM (SELECT 1 FROM dossier_persons "
        "GROUP BY dossier_id, person_id HAVING count(*) > 1)",
    )
    if duplicates:
        problems.append(f"{duplicates} (dossier_id, person_id) pairs stored more than once")
    return problems
