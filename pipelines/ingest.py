"""Ingest extract files into the warehouse: each file whole or not at all, no row lost.

Per file: read it (``data_contracts.readers``), type and check every row
(``row_checks``), judge the dossiers as they will stand after this file, evaluate the
dataset expectations on the accepted rows (``dataset_expectations``, vectorised),
record the file, quarantine the rejected rows with their raw values, and replace the
earlier versions of the accepted ``(dossier_id, person_id)`` pairs.

Files are written a batch (``BATCH_ROWS`` rows) per transaction: a crash leaves the
interrupted batch's files unrecorded, never part of a file. The warehouse is read
once per batch: the rows of its files' dossiers (with their ``rowid``), which are then
followed in memory file by file; they tell both how each dossier will stand and which
rows a file supersedes, which are then deleted by ``rowid``.

The latest file ingested wins; a folder is ingested in file-name order (monthly
extracts named by month sort chronologically). A file already ingested (same
content hash) changes nothing.
"""

from __future__ import annotations

import json
import queue
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.dataset_expectations import check_dataset
from data_contracts.errors import ExtractError
from data_contracts.identifier_values import screen
from data_contracts.readers import (
    SOURCE_ROW,
    RawExtract,
    content_hash,
    load_extract_bytes,
    read_extract_bytes,
)
from data_contracts.reasons import without_values
from data_contracts.row_checks import REASON, check_dossiers, check_rows
from data_contracts.row_model import COLUMNS
from pipelines.warehouse import fetch_one, scalar

EXTRACT_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")
KEYS = ["dossier_id", "person_id"]
PREVIEW_ROWS = 3  # quarantined rows printed per file
# While a run ingests, DuckDB checkpoints once its write-ahead log passes this size
# (DuckDB's default, 16 MiB, checkpoints every few files); the run ends with one.
RUN_CHECKPOINT_THRESHOLD = "256MB"
Progress = Callable[[str], None]
# Called after a file's transaction committed, with its outcome and its accepted rows
# (typed contract columns and ``source_row``): the Dagster check runs GX on them.
AcceptedRows = Callable[["FileOutcome", pl.DataFrame], None]


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
    # The first quarantined rows: (source_row, reason without the values it quotes).
    quarantine_preview: list[tuple[int, str]] = field(default_factory=list)
    dataset_validation: str | None = None  # JSON, as stored in ingested_files

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
        lines = [line + (f" — {self.message}" if self.message else "")]
        lines += [f"      row {row}: {reason}" for row, reason in self.quarantine_preview]
        more = self.rows_quarantined - len(self.quarantine_preview)
        if more > 0:
            lines.append(
                f"      … and {more} more: reab quarantine --file {shlex.quote(self.file_name)}"
            )
        return "\n".join(lines)


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
                    # not only regular files: a link, pipe or device is listed, then
                    # refused with its reason by the reader (never silently skipped)
                    if not p.is_dir()
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
    on_accepted: AcceptedRows | None = None,
) -> list[FileOutcome]:
    """Ingest files and folders in order, a batch of files per transaction.

    The files are read and their rows checked a batch ahead, in a second thread, while
    this one writes the batch before them: reading and row checks need nothing from
    the warehouse; each file's dossiers are judged against the warehouse as it stands
    once the files before it are written. A batch (``BATCH_ROWS`` rows) is committed
    whole or not at all, so every file is too: a crash leaves the files of the batch
    it interrupted unrecorded, and the next run ingests them.
    """
    files = extract_files(paths)
    known = con.execute("SELECT content_hash FROM ingested_files").fetchall()
    seen = {digest for (digest,) in known}
    say = progress or (lambda _message: None)
    outcomes: list[FileOutcome] = []
    with _run_checkpoints(con), _ahead(_prepare(files, seen)) as batches:
        for batch in batches:
            outcomes += _ingest_batch(con, batch, len(outcomes), len(files), say, on_accepted)
    return outcomes


@contextmanager
def _run_checkpoints(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Checkpoint once at the end of a run rather than every few files.

    Every batch is still committed on its own (to the write-ahead log, which a crash
    replays); only the rewriting of the table's storage is gathered at the end.
    """
    before = scalar(con, "SELECT current_setting('checkpoint_threshold')")
    con.execute(f"SET checkpoint_threshold = '{RUN_CHECKPOINT_THRESHOLD}'")
    try:
        yield
    finally:
        con.execute(f"SET checkpoint_threshold = '{before}'")
        with suppress(duckdb.Error):  # another transaction is open: DuckDB checkpoints later
            con.execute("CHECKPOINT")


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    progress: Progress | None = None,
    on_accepted: AcceptedRows | None = None,
) -> FileOutcome:
    """Ingest one file (in one transaction)."""
    (batch,) = _prepare([Path(path)], set())
    (outcome,) = _ingest_batch(con, batch, 0, 1, progress or (lambda _m: None), on_accepted)
    return outcome


# ---------------------------------------------------------------------------
# Reading and row checks, a batch of files at a time (no warehouse needed)
# ---------------------------------------------------------------------------

# Files are checked, then written in one transaction, together until a batch holds this
# many rows: the row checks and each statement cost a few milliseconds a call whatever
# the size, which small files would pay each. Larger batches were no faster at
# --scale 20 and grew both the peak memory (50 k: 1.1 GiB, 20 k: 0.5 GiB) and the
# warehouse file (DuckDB writes big transactions as their own, part-filled row groups).
BATCH_ROWS = 20_000
FIRST_BATCH_ROWS = 5_000  # the first batch small: the writing starts early


@dataclass
class _Prepared:
    """One file read and row-checked, or why it could not be."""

    path: Path
    digest: str | None = None
    raw: RawExtract | None = None
    checked: _Checked | None = None
    unreadable: str | None = None  # the file cannot be opened: nothing is recorded
    rejected: ExtractError | None = None  # rejected whole: recorded with its reason
    seen: bool = False  # its content was in the warehouse when the run began: not read
    identifier_reasons: pl.Series | None = None  # per row: identifier values removed


def _prepare(files: Iterable[Path], seen: set[str]) -> Iterator[list[_Prepared]]:
    """The files read and checked, in order, a batch at a time.

    A batch holds files until it holds ``FIRST_BATCH_ROWS`` rows (the first one), then
    ``BATCH_ROWS``; their rows are checked in one call per batch, then split and judged
    file by file. The writer commits each batch in one transaction.
    """
    batch: list[_Prepared] = []
    rows, limit = 0, FIRST_BATCH_ROWS
    for path in files:
        item = _read(path, seen)
        batch.append(item)
        rows += item.raw.frame.height if item.raw else 0
        if rows >= limit:
            yield list(_checked(batch))
            batch, rows, limit = [], 0, BATCH_ROWS
    if batch:
        yield list(_checked(batch))


def _read(path: Path, seen: set[str]) -> _Prepared:
    try:  # only a regular file, within the size limit (never a device, pipe or link out)
        data = load_extract_bytes(path)
    except ExtractError as exc:
        return _Prepared(path, unreadable=str(exc))
    digest = content_hash(data)
    if digest in seen:
        return _Prepared(path, digest, seen=True)
    try:
        raw = read_extract_bytes(data, path.name, digest)
    except ExtractError as exc:
        return _Prepared(path, digest, rejected=exc)
    found = screen(raw.frame)  # identifier-looking values: the file rejected, or the cells removed
    if found.rejection is not None:
        return _Prepared(path, digest, rejected=found.rejection)
    raw.frame = found.redacted  # never checked, quoted in a reason, or stored
    return _Prepared(
        path, digest, raw=raw, identifier_reasons=found.reasons if found.rows else None
    )


@dataclass
class _Outcome:
    """A file's rows split by the dossier rules, for one judgement of its dossiers."""

    reasons: pl.Series  # the dossier rules' reason per valid row (null: accepted)
    accepted: pl.DataFrame  # typed contract columns + source_row
    quarantined: pl.DataFrame  # source_row, reason, raw_values (JSON), in file order
    validation: str  # the dataset expectations on the accepted rows (JSON)


@dataclass
class _Checked:
    """What a file's rows say on their own, before the warehouse is consulted."""

    valid: pl.DataFrame  # rows that met the row contract: typed columns + source_row
    rejected: pl.DataFrame  # the others: source_row, reason, raw_values (JSON)
    # The file judged as if none of its dossiers were in the warehouse: its outcome
    # whenever the dossier rules say the same once the warehouse's rows are known.
    alone: _Outcome


def _checked(batch: list[_Prepared]) -> Iterator[_Prepared]:
    """``check_rows`` over the batch's files at once (per dialect), then file by file."""
    checked: dict[int, pl.DataFrame] = {}
    for decimal_comma in (False, True):
        group = [
            i
            for i, item in enumerate(batch)
            if item.raw and item.raw.decimal_comma == decimal_comma
        ]
        if not group:
            continue
        frames = [batch[i].raw.frame for i in group]
        together = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=True)
        rows = check_rows(together, decimal_comma=decimal_comma)
        offset = 0
        for i, frame in zip(group, frames, strict=True):
            checked[i] = rows.slice(offset, frame.height)
            offset += frame.height
    for i, item in enumerate(batch):
        if i in checked:
            item.checked = _split(item.raw, checked.pop(i), item.identifier_reasons)
        yield item


def _split(raw: RawExtract, checked: pl.DataFrame, identifiers: pl.Series | None) -> _Checked:
    if identifiers is not None:  # such a row is quarantined, whatever else it breaks
        checked = checked.with_columns(pl.coalesce(pl.lit(identifiers), REASON).alias(REASON))
    broken = pl.col(REASON).is_not_null()
    valid = checked.filter(~broken).drop(REASON)
    rejected = _with_raw_values(raw, checked.filter(broken).select(SOURCE_ROW, REASON))
    if raw.malformed:
        lines = pl.DataFrame(
            {
                SOURCE_ROW: [rec for rec, _, _ in raw.malformed],
                REASON: [reason for _, reason, _ in raw.malformed],
                "raw_values": [json.dumps({"line": line}) for _, _, line in raw.malformed],
            },
            schema={SOURCE_ROW: pl.UInt32, REASON: pl.String, "raw_values": pl.String},
        )
        rejected = pl.concat([rejected, lines]).sort(SOURCE_ROW)
    return _Checked(
        valid=valid,
        rejected=rejected,
        alone=_outcome(raw, valid, rejected, check_dossiers(valid)),
    )


def _outcome(
    raw: RawExtract, valid: pl.DataFrame, rejected: pl.DataFrame, reasons: pl.Series
) -> _Outcome:
    if reasons.null_count() == valid.height:
        accepted, quarantined = valid, rejected
    else:
        broken = reasons.is_not_null()
        failed = valid.select(SOURCE_ROW).filter(broken).with_columns(reasons.filter(broken))
        accepted = valid.filter(~broken)
        quarantined = pl.concat([rejected, _with_raw_values(raw, failed)]).sort(SOURCE_ROW)
    validation = check_dataset(accepted.select(COLUMNS)).to_json()
    return _Outcome(reasons, accepted, quarantined, validation)


def _with_raw_values(raw: RawExtract, rejected: pl.DataFrame) -> pl.DataFrame:
    """``source_row, reason`` with the row's cells as delivered (JSON), in file order."""
    if rejected.is_empty():
        return rejected.with_columns(pl.lit(None, pl.String).alias("raw_values"))
    # ``raw.frame`` is in record order (``source_row`` ascending): find the rows by search.
    positions = raw.frame[SOURCE_ROW].search_sorted(rejected[SOURCE_ROW], side="left")
    cells = raw.frame[positions].select(pl.struct(COLUMNS).struct.json_encode())
    return rejected.with_columns(cells.to_series().alias("raw_values"))


@contextmanager
def _ahead(items: Iterator[list[_Prepared]], depth: int = 2) -> Iterator[Iterator[list[_Prepared]]]:
    """``items`` produced in a second thread, up to ``depth`` batches ahead of the reader.

    polars and DuckDB both release the GIL while they work, so the next batches are read
    and checked while the current one is written. An exception in the thread reaches
    the reader; leaving the block early stops the thread.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            put((None, exc))

    def consume() -> Iterator[list[_Prepared]]:
        while True:
            item, error = buffer.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item

    worker = threading.Thread(target=produce, name="reab-ingest-read", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()


# ---------------------------------------------------------------------------
# A batch of files against the warehouse: judged and written in one transaction
# ---------------------------------------------------------------------------


def _ingest_batch(
    con: duckdb.DuckDBPyConnection,
    batch: list[_Prepared],
    before: int,
    total: int,
    say: Progress,
    on_accepted: AcceptedRows | None,
) -> list[FileOutcome]:
    """The batch's files judged and written in order, in one transaction.

    Each file's summary is printed once the transaction committed (until then nothing
    of the batch is stored).
    """
    outcomes: list[FileOutcome] = []
    written: list[pl.DataFrame | None] = []
    con.begin()
    try:
        writer = _BatchWriter(con, batch)
        for number, item in enumerate(batch, start=before + 1):
            say(f"[{number}/{total}] {item.path}")
            outcome, accepted = writer.ingest(item, say)
            outcomes.append(outcome)
            written.append(accepted)
        writer.flush()
        con.commit()
    except BaseException:
        con.rollback()
        raise
    for outcome, accepted in zip(outcomes, written, strict=True):
        say("    " + outcome.summary())
        if on_accepted and accepted is not None:
            on_accepted(outcome, accepted)
    return outcomes


class _BatchWriter:
    """Judges and writes a batch's files in order, inside the caller's transaction.

    The warehouse is read once for the whole batch: the rows of every dossier the
    batch's files hold. From then on those dossiers are followed in memory as each
    file leaves them (its superseded rows out, its accepted rows in), so each file is
    judged against its dossiers as the files before it left them. A superseded row
    that is in the warehouse is deleted by ``rowid``; one that an earlier file of the
    batch brought is simply not inserted. The rows are inserted at the end of the
    batch, one statement per table.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, batch: list[_Prepared]):
        self.con = con
        digests = [item.digest for item in batch if item.digest]
        self.recorded = _recorded_files(con, digests)  # content hash → file_id
        # The dossiers whose rows ``known`` holds (warehouse rows: their rowid; rows of
        # this batch not yet inserted: a negative id).
        self.covered = pl.Series("dossier_id", [], pl.String)
        self.known = _no_known_rows()
        self.cover([item.checked.valid["dossier_id"] for item in batch if item.checked])
        self.queued = 0  # rows queued for insertion so far (their ids: -1, -2, ...)
        self.accepted: list[pl.DataFrame] = []  # with file_id, source_file and the id
        self.quarantined: list[pl.DataFrame] = []
        self.dropped: list[pl.Series] = []  # ids of queued rows superseded since

    def cover(self, dossiers: list[pl.Series]) -> None:
        """Read the warehouse rows of the dossiers not yet covered."""
        if not dossiers:
            return
        wanted = pl.concat(dossiers).unique()
        if self.covered.len():
            wanted = wanted.filter(~wanted.is_in(self.covered.implode()))
        if wanted.len():
            self.known = pl.concat([self.known, _known_rows(self.con, wanted)])
            self.covered = pl.concat([self.covered, wanted])

    def ingest(self, item: _Prepared, say: Progress) -> tuple[FileOutcome, pl.DataFrame | None]:
        name = item.path.name
        if item.unreadable:
            return FileOutcome(name, "rejected", message=item.unreadable), None
        if item.digest in self.recorded:
            file_id = self.recorded[item.digest]
            status, day, reason = fetch_one(
                self.con,
                "SELECT status, ingested_at::DATE, message FROM ingested_files WHERE file_id = ?",
                [file_id],
            )
            if status == "rejected":  # sent again unchanged: still rejected, nothing stored
                message = (
                    f"this file was rejected on {day:%Y-%m-%d}: {reason}; "
                    "fix it and send the corrected file"
                )
                return FileOutcome(name, "rejected", message=message, file_id=file_id), None
            return FileOutcome(name, "already_ingested", file_id=file_id), None
        if item.seen:  # in the warehouse when the run began, not any more: read it now
            ((item,),) = _prepare([item.path], set())
            if item.checked:
                self.cover([item.checked.valid["dossier_id"]])
        if item.rejected:
            exc = item.rejected
            rows = f" ({exc.rows} data rows not stored)" if exc.rows else ""
            outcome = FileOutcome(name, "rejected", message=f"{exc}{rows}")
            _record_rejected(self.con, outcome, item.digest)
            self.recorded[item.digest] = outcome.file_id
            return outcome, None
        raw = item.raw
        say(f"    read {raw.rows_read} rows ({raw.describe()}); contract checked")
        dossiers = item.checked.valid["dossier_id"].implode()
        known = self.known.filter(pl.col("dossier_id").is_in(dossiers))
        judged = _judge(known, raw, item.checked)
        say(
            f"    writing {judged.accepted.height} accepted and "
            f"{judged.quarantined.height} quarantined rows"
        )
        outcome = self._write(raw, judged)
        self.recorded[raw.content_hash] = outcome.file_id
        return outcome, judged.accepted

    def _write(self, raw: RawExtract, judged: _Judged) -> FileOutcome:
        """Record the file, delete the rows it supersedes, queue its rows for insertion."""
        accepted, quarantined = judged.accepted, judged.quarantined
        outcome = FileOutcome(
            raw.file_name,
            _status(quarantined.height),
            rows_read=raw.rows_read,
            rows_accepted=accepted.height,
            rows_quarantined=quarantined.height,
            rows_superseding=judged.superseded.height,
            rows_new=accepted.height - judged.superseded.height,
            quarantine_preview=_preview(quarantined),
            dataset_validation=judged.validation,
        )
        if raw.ignored_columns:
            outcome.message = (
                f"ignored columns not in the contract: {', '.join(raw.ignored_columns)}"
            )
        outcome.file_id = _record_file(self.con, raw, outcome)
        self._supersede(raw.file_name, judged.superseded["row_id"])
        origin = [
            pl.lit(outcome.file_id, pl.Int32).alias("file_id"),
            pl.lit(raw.file_name).alias("source_file"),
        ]
        if accepted.height:
            first = -self.queued - 1
            ids = pl.int_range(first, first - accepted.height, -1, dtype=pl.Int64)
            rows = accepted.select(*COLUMNS, *origin, SOURCE_ROW, ids.alias("row_id"))
            self.queued += accepted.height
            self.accepted.append(rows)
            self.known = pl.concat([self.known, rows.select(*KNOWN_SCHEMA)])
        if quarantined.height:
            self.quarantined.append(quarantined.select(*origin, SOURCE_ROW, REASON, "raw_values"))
        return outcome

    def _supersede(self, file_name: str, row_ids: pl.Series) -> None:
        """Delete the superseded warehouse rows; drop the superseded queued ones."""
        if not row_ids.len():
            return
        self.known = self.known.filter(~pl.col("row_id").is_in(row_ids.implode()))
        stored = row_ids.filter(row_ids >= 0)
        self.dropped.append(row_ids.filter(row_ids < 0))
        if not stored.len():
            return
        self.con.register("superseded_rows", _arrow(stored.to_frame("row_id")))
        try:
            deleted = scalar(
                self.con,
                "DELETE FROM dossier_persons WHERE rowid IN (SELECT row_id FROM superseded_rows)",
            )
        finally:
            self.con.unregister("superseded_rows")
        if deleted != stored.len():  # the accounting would no longer add up
            raise RuntimeError(
                f"{file_name}: {deleted} earlier rows deleted where {stored.len()} are superseded"
            )

    def flush(self) -> None:
        """Insert the queued rows (one statement per table)."""
        dropped = pl.concat(self.dropped) if self.dropped else pl.Series([], dtype=pl.Int64)
        for table, frames in (("dossier_persons", self.accepted), ("quarantine", self.quarantined)):
            if not frames:
                continue
            rows = frames[0] if len(frames) == 1 else pl.concat(frames)
            if "row_id" in rows.columns:
                if dropped.len():
                    rows = rows.filter(~pl.col("row_id").is_in(dropped.implode()))
                rows = rows.drop("row_id")
            self.con.register("queued_rows", _arrow(rows))
            try:
                columns = ", ".join(rows.columns)
                self.con.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM queued_rows")
            finally:
                self.con.unregister("queued_rows")
            frames.clear()
        self.dropped.clear()


@dataclass
class _Judged:
    accepted: pl.DataFrame  # typed contract columns + source_row
    quarantined: pl.DataFrame  # source_row, reason, raw_values (JSON), in file order
    superseded: pl.DataFrame  # rowid of the warehouse rows the accepted rows replace
    validation: str  # the dataset expectations on the accepted rows (JSON)


def _arrow(frame: pl.DataFrame):
    """The frame as Arrow for DuckDB, without converting its strings."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _judge(known: pl.DataFrame, raw: RawExtract, checked: _Checked) -> _Judged:
    """Judge each dossier as it will stand after this file, and find the rows it supersedes.

    ``known``: the warehouse rows of the file's dossiers (all a dossier rule needs, and
    a superset of the rows the file supersedes).
    """
    outcome = checked.alone
    if known.height:
        # The dossier rules are judged per dossier: only the rows of the dossiers the
        # warehouse holds can be judged otherwise than the file alone judged them.
        valid = checked.valid
        rows = valid["dossier_id"].is_in(known["dossier_id"].unique().implode()).arg_true()
        again = check_dossiers(valid[rows], known.drop("row_id"))
        reasons = outcome.reasons.clone().scatter(rows, again)
        if not reasons.equals(outcome.reasons, null_equal=True):
            outcome = _outcome(raw, valid, checked.rejected, reasons)
    accepted = outcome.accepted
    superseded = known.join(accepted.select(KEYS), on=KEYS, how="semi").select("row_id")
    return _Judged(accepted, outcome.quarantined, superseded, outcome.validation)


KNOWN_SCHEMA = {
    "row_id": pl.Int64,
    "dossier_id": pl.String,
    "person_id": pl.String,
    "role": pl.String,
}


def _no_known_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=KNOWN_SCHEMA)


def _known_rows(con: duckdb.DuckDBPyConnection, dossiers: pl.Series) -> pl.DataFrame:
    """``row_id`` (DuckDB's rowid), keys and role of the warehouse rows of ``dossiers``.

    The one scan of ``dossier_persons`` reads only its ``dossier_id`` column; the other
    columns are then fetched for the rows found (usually few or none).
    """
    con.register("incoming_dossiers", _arrow(dossiers.to_frame("dossier_id")))
    try:
        found = con.sql(
            "SELECT p.rowid AS row_id FROM dossier_persons p "
            "SEMI JOIN incoming_dossiers i USING (dossier_id)"
        ).pl()
    finally:
        con.unregister("incoming_dossiers")
    if found.is_empty():
        return _no_known_rows()
    con.register("known_rowids", _arrow(found))
    try:
        return con.sql(
            "SELECT rowid AS row_id, dossier_id, person_id, role FROM dossier_persons "
            "WHERE rowid IN (SELECT row_id FROM known_rowids)"
        ).pl()
    finally:
        con.unregister("known_rowids")


def _recorded_files(con: duckdb.DuckDBPyConnection, digests: list[str]) -> dict[str, int]:
    """content hash → file_id, for those of ``digests`` the warehouse has recorded."""
    if not digests:
        return {}
    found = con.execute(
        "SELECT content_hash, file_id FROM ingested_files "
        "WHERE content_hash IN (SELECT unnest(?::VARCHAR[]))",
        [digests],
    ).fetchall()
    return dict(found)


def _status(quarantined: int) -> str:
    return "ingested_with_quarantine" if quarantined else "ingested"


def _preview(quarantined: pl.DataFrame) -> list[tuple[int, str]]:
    return [
        (int(row), without_values(reason))
        for row, reason in quarantined.head(PREVIEW_ROWS).select(SOURCE_ROW, REASON).iter_rows()
    ]


def _record_file(con: duckdb.DuckDBPyConnection, raw: RawExtract, outcome: FileOutcome) -> int:
    return scalar(
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
            outcome.dataset_validation,
        ],
    )


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
