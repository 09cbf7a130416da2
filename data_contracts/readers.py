"""Read an extract file (CSV in its Belgian dialects, or Parquet) into raw text cells.

The reader keeps every cell as text so that a rejected row can be stored exactly as
delivered; typing happens in ``row_checks``. Whatever the bytes, the only exception
that leaves this module is ``ExtractError`` with a message a person can act on.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_contracts.errors import ExtractError, IdentifierColumnsError
from data_contracts.pii import identifier_columns, normalise_header
from data_contracts.row_model import COLUMNS, REQUIRED_COLUMNS
from data_contracts.values import WHITESPACE

SOURCE_ROW = "source_row"
KEPT_RECORD = "__record"
UTF8_BOM = b"\xef\xbb\xbf"
PARQUET_MAGIC = b"PAR1"
DELIMITERS = (";", ",", "\t")
SIGNATURES = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx); export the sheet as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document (.xls); export the sheet as CSV",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive; unpack it first",
}


@dataclass
class RawExtract:
    """One file's rows as text, with what was learned about its dialect."""

    file_name: str
    content_hash: str
    file_format: str
    frame: pl.DataFrame  # contract columns as pl.String (absent optional ones null) + source_row
    encoding: str = "utf-8"
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    # Rows that could not even be split into cells (ragged CSV lines): (record, reason, raw line)
    malformed: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def decimal_comma(self) -> bool:
        """Belgian spreadsheet exports use ``;`` with a decimal comma."""
        return self.delimiter == ";"

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.malformed)

    def describe(self) -> str:
        if self.file_format == "parquet":
            return "Parquet"
        sep = {"\t": "tab", ";": "';'", ",": "','"}[self.delimiter or ","]
        return f"CSV, {sep}-delimited, {self.encoding}"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_extract(path: str | Path) -> RawExtract:
    """Read one extract file. Raises ``ExtractError`` for anything it cannot accept."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ExtractError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise ExtractError(f"cannot open {path}: {exc.strerror or exc}") from None
    return read_extract_bytes(data, path.name)


def read_extract_bytes(data: bytes, file_name: str, digest: str | None = None) -> RawExtract:
    """Read one extract from its bytes (``digest``: their sha256, when already known)."""
    digest = digest or content_hash(data)
    if not data.strip():
        raise ExtractError("the file is empty")
    if data.startswith(PARQUET_MAGIC):
        frame = _read_parquet(data)
        raw = _conform(frame, file_name, digest, "parquet", "binary", None)
        return raw
    for signature, what in SIGNATURES.items():
        if data.startswith(signature):
            raise ExtractError(f"this is not a CSV or Parquet extract but {what}")
    text, encoding = _decode(data)
    delimiter = _sniff_delimiter(text)
    # polars reads UTF-8 bytes: those of the file itself when it is UTF-8 (no copy).
    if encoding == "utf-8":
        payload = data
    elif encoding == "utf-8 with BOM":
        payload = data[len(UTF8_BOM) :]
    else:
        payload = text.encode("utf-8")
    frame, malformed = _read_csv(payload, text, delimiter)
    raw = _conform(frame, file_name, digest, "csv", encoding, delimiter)
    raw.malformed = malformed
    return raw


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise ExtractError(
            "the file contains NUL bytes: it is binary (or UTF-16), not a CSV text export; "
            "export it as CSV in UTF-8 or Parquet"
        )
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8 with BOM"
        except UnicodeDecodeError as exc:
            raise ExtractError(
                f"the file starts with a UTF-8 marker but byte {exc.start} is not UTF-8"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Old Windows spreadsheet exports: cp1252 is the superset of Latin-1 they use.
        return data.decode("cp1252"), "latin-1 (cp1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _header_line(text: str) -> str:
    # The first 64 KiB hold the header of any real extract; split only those.
    for chunk in (text[:65536], text):
        for line in chunk.splitlines():
            if line.strip():
                return line
    raise ExtractError("the file has no header line")


def _sniff_delimiter(text: str) -> str:
    header = _header_line(text)
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        raise ExtractError(
            "cannot find the column delimiter in the header line (expected ',' or ';'); "
            f"the header reads: {header[:120]!r}"
        )
    return delimiter


def _read_csv(
    payload: bytes, text: str, delimiter: str
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Fast path with polars; lines polars cannot split go through ``csv`` one by one.

    Every record under the header is numbered as delivered (1 = the first), blank ones
    included; a blank record (only delimiters and white space) is then left out.
    """
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            separator=delimiter,
            infer_schema=False,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # noqa: BLE001 - polars raises several types; fall back to the slow path
        return _read_csv_tolerant(text, delimiter)
    return _without_blank_records(frame), []


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars(WHITESPACE) == "")


def _without_blank_records(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame numbered by record, without its blank records (all cells empty or white space)."""
    if not frame.width:
        return frame
    numbered = pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias(KEPT_RECORD)
    first = frame.columns[0]
    # A blank record has a blank first cell: look at the other cells only if one has.
    if not frame.select(_blank(first).any()).item():
        return frame
    return frame.with_columns(numbered).filter(~pl.all_horizontal(_blank(c) for c in frame.columns))


def _read_csv_tolerant(
    text: str, delimiter: str
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Slow path: split with ``csv`` and set aside the records that do not fit the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ExtractError(f"cannot read the header line: {exc}") from None
    width = len(header)
    rows: list[list[str | None]] = []
    records: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    record = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            record += 1
            malformed.append((record, f"the line cannot be split into cells ({exc})", ""))
            continue
        record += 1  # numbered as delivered: a blank record keeps its number
        if not any(c.strip(WHITESPACE) for c in cells):
            continue  # ... but is not read
        if len(cells) != width:
            reason = f"the row has {len(cells)} cells where the header has {width}"
            malformed.append((record, reason, delimiter.join(cells)))
            continue
        rows.append([c if c != "" else None for c in cells])
        records.append(record)
    if len(set(header)) != len(header):
        raise ExtractError("the header names a column twice", kind="contract")
    frame = pl.DataFrame(rows, schema=[(h, pl.String) for h in header], orient="row")
    frame = frame.with_columns(pl.Series(KEPT_RECORD, records, dtype=pl.UInt32))
    return frame, malformed


def _read_parquet(data: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any failure to decode is the same for the user
        raise ExtractError(f"the Parquet file cannot be read: {exc}") from None
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            continue
        if dtype.is_nested() or dtype == pl.Binary:
            raise ExtractError(f"Parquet column {name!r} has type {dtype}, not a plain value")
        casts.append(pl.col(name).cast(pl.String))
    return frame.with_columns(casts) if casts else frame


def _conform(
    frame: pl.DataFrame,
    file_name: str,
    digest: str,
    file_format: str,
    encoding: str,
    delimiter: str | None,
) -> RawExtract:
    """Map headers onto the contract: PII guard, required columns, unknown columns."""
    header = [name for name in frame.columns if name != KEPT_RECORD]
    pii = identifier_columns(header)
    if pii:
        raise IdentifierColumnsError(pii, rows=frame.height)
    by_contract_name: dict[str, str] = {}
    ignored: list[str] = []
    for name in header:
        normal = normalise_header(name)
        if normal in by_contract_name:
            raise ExtractError(
                f"the column {normal!r} appears twice in the header", kind="contract"
            )
        if normal in COLUMNS:
            by_contract_name[normal] = name
        elif normal:
            ignored.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in by_contract_name]
    if missing:
        raise ExtractError(
            f"the header lacks required column(s) {', '.join(missing)}; "
            f"found: {', '.join(header[:40])}",
            kind="contract",
            rows=frame.height,
        )
    record = (
        pl.col(KEPT_RECORD).alias(SOURCE_ROW)
        if KEPT_RECORD in frame.columns
        else pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias(SOURCE_ROW)
    )
    conformed = frame.select(
        [
            pl.col(by_contract_name[c]).cast(pl.String).alias(c)
            if c in by_contract_name
            else pl.lit(None, pl.String).alias(c)
            for c in COLUMNS
        ]
        + [record]
    )
    return RawExtract(
        file_name=file_name,
        content_hash=digest,
        file_format=file_format,
        frame=conformed,
        encoding=encoding,
        delimiter=delimiter,
        ignored_columns=ignored,
    )
