"""Read an extract file (CSV in its Belgian dialects, or Parquet) into raw text cells.

The reader keeps every cell as text so that a rejected row can be stored exactly as
delivered; typing happens in ``row_checks``. Whatever the bytes, the only exception
that leaves this module is ``ExtractError`` with a message a person can act on.

Hostile files are refused before they can hang, exhaust memory or leak: only a regular
file is opened (never a device, a named pipe, a socket, nor a symbolic link leading
out of its folder), a file above ``REAB_MAX_EXTRACT_BYTES`` (32 MiB by default) is
refused, and so is a Parquet file whose footer says it would take more than that in
memory once read. No message quotes the content of a rejected file: only its path, row
numbers, column names and the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pyarrow.types as pat

from data_contracts.errors import ExtractError, IdentifierColumnsError
from data_contracts.pii import identifier_columns, normalise_header
from data_contracts.row_model import COLUMNS, REQUIRED_COLUMNS
from data_contracts.values import CONTROL_CHARACTER, WHITESPACE

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
# The largest file read, in bytes; also the most a Parquet file may take once read.
MAX_BYTES_VARIABLE = "REAB_MAX_EXTRACT_BYTES"
# 32 MiB: about 220,000 rows, forty times a month of the programme. Reading and checking
# take up to about 28 times a file's size in memory (a file whose every row is
# quarantined: 0.9 GiB at 32 MiB), so the default keeps one file under 1 GiB.
DEFAULT_MAX_BYTES = 32 * 1024**2
# A Parquet file is compact: it may hold up to this many times the limit once read (its
# text and cells as polars holds them; about 270,000 rows at the default).
PARQUET_READ_FACTOR = 4
# A cell longer than this (in characters) sets its row aside as malformed: no contract
# value comes near it, and the quarantine keeps it cut at this length.
MAX_CELL_CHARS = 10_000
# Each cell of a read file costs at least this many bytes in memory (a polars string
# view), whatever its length on disk: a Parquet file of many rows is judged by it.
CELL_BYTES = 16
# Folders whose "files" are not extracts (devices, kernel and process state).
SYSTEM_FOLDERS = (Path("/dev"), Path("/proc"), Path("/sys"))
# A valid UTF-8 sequence of two to four bytes: in a file that is not UTF-8 throughout,
# it means two encodings were mixed (a cp1252 export of text shows almost never has it).
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# A quoted segment of a line, removed before counting its delimiters.
QUOTED = '"[^"]*"'


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


def max_extract_bytes() -> int:
    """The size limit of one extract, from ``REAB_MAX_EXTRACT_BYTES`` (default 32 MiB)."""
    given = os.environ.get(MAX_BYTES_VARIABLE, "").strip()
    if not given:
        return DEFAULT_MAX_BYTES
    try:
        limit = int(given.replace("_", ""))
    except ValueError:
        limit = 0
    if limit <= 0:
        # A setting, not a file, is wrong: no file should be recorded as rejected for it.
        raise ValueError(f"{MAX_BYTES_VARIABLE} must be a positive whole number of bytes")
    return limit


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1024**2 else f"{n / 1024**2:,.1f} MiB"


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def load_extract_bytes(path: str | Path, root: str | Path | None = None) -> bytes:
    """The bytes of one extract file, read only if it is safe to.

    Only a regular file is opened: a device, a named pipe (never opened, so nothing
    hangs), a socket or a folder is refused, as is anything under ``/dev``, ``/proc`` or
    ``/sys``. A symbolic link may only lead to a regular file inside ``root`` (default:
    the folder holding the link). A file above ``REAB_MAX_EXTRACT_BYTES`` is refused.
    Raises ``ExtractError``; its message names the path and the reason, never content.
    """
    path = Path(path)
    limit = max_extract_bytes()
    try:
        link = os.lstat(path)
    except OSError as exc:
        raise ExtractError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        target = os.stat(path)  # follows a link; stat never opens, so a FIFO cannot hang
        resolved = path.resolve(strict=True)
    except OSError as exc:
        raise ExtractError(
            f"{path} is a symbolic link whose target cannot be reached ({exc.strerror or exc})"
        ) from None
    linked = stat.S_ISLNK(link.st_mode)
    via = f"{path} is a symbolic link to " if linked else f"{path} is "
    if stat.S_ISDIR(target.st_mode):
        raise ExtractError(f"{via}a folder, not a file")
    if not stat.S_ISREG(target.st_mode):
        raise ExtractError(f"{via}{_file_kind(target.st_mode)}, not a regular file: not read")
    if any(_inside(resolved, folder) for folder in SYSTEM_FOLDERS):
        raise ExtractError(f"{via}a system file (under /dev, /proc or /sys): not read")
    if linked:
        folder = Path(root if root is not None else path.absolute().parent).resolve()
        if not _inside(resolved, folder):
            raise ExtractError(
                f"{path} is a symbolic link to a file outside {folder}: not read "
                "(copy the extract into the folder instead)"
            )
    if target.st_size > limit:
        raise ExtractError(
            f"{path} is {_size(target.st_size)}, above the limit of {_size(limit)} per "
            f"extract ({MAX_BYTES_VARIABLE}); split it into smaller extracts"
        )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(resolved, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ExtractError(f"cannot open {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        opened = os.fstat(fd)
        # Swapped between the check and the open (for a pipe, say): refuse it all the same.
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (
            target.st_dev,
            target.st_ino,
        ):
            raise ExtractError(f"{path} changed while it was opened: not read")
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise ExtractError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ExtractError(
            f"{path} grew above the limit of {_size(limit)} per extract "
            f"({MAX_BYTES_VARIABLE}) while it was read"
        )
    return data


def read_extract(path: str | Path, root: str | Path | None = None) -> RawExtract:
    """Read one extract file. Raises ``ExtractError`` for anything it cannot accept
    (see ``load_extract_bytes`` for which files are opened at all)."""
    path = Path(path)
    return read_extract_bytes(load_extract_bytes(path, root), path.name)


def read_extract_bytes(data: bytes, file_name: str, digest: str | None = None) -> RawExtract:
    """Read one extract from its bytes (``digest``: their sha256, when already known)."""
    limit = max_extract_bytes()
    if len(data) > limit:
        raise ExtractError(
            f"the file is {_size(len(data))}, above the limit of {_size(limit)} per extract "
            f"({MAX_BYTES_VARIABLE}); split it into smaller extracts"
        )
    digest = digest or content_hash(data)
    if not data.strip():
        raise ExtractError("the file is empty")
    if data.startswith(PARQUET_MAGIC):
        frame = _read_parquet(data, limit * PARQUET_READ_FACTOR)
        raw = _conform(frame, file_name, digest, "parquet", "binary", None)
        return _set_aside_long_cells(raw, ",")
    for signature, what in SIGNATURES.items():
        if data.startswith(signature):
            raise ExtractError(f"this is not a CSV or Parquet extract but {what}")
    text, encoding = _decode(data)
    eol = _line_end(text)
    delimiter = _sniff_delimiter(text)
    header = _header_cells(text, delimiter)
    _refuse_duplicate_columns(header)
    # polars reads UTF-8 bytes: those of the file itself when it is UTF-8 (no copy).
    if encoding == "utf-8":
        payload = data
    elif encoding == "utf-8 with BOM":
        payload = data[len(UTF8_BOM) :]
    else:
        payload = text.encode("utf-8")
    frame, malformed = _read_csv(payload, text, delimiter, eol, header)
    raw = _conform(frame, file_name, digest, "csv", encoding, delimiter)
    raw.malformed = malformed
    return _set_aside_long_cells(raw, delimiter)


def _line_number(data: bytes, offset: int) -> int:
    """The line (1 = the header) holding byte ``offset``."""
    before = data[:offset]
    breaks = before.count(b"\n") or before.count(b"\r")
    return breaks + 1


def _decode(data: bytes) -> tuple[str, str]:
    head = data[:65536]
    first_line = head.split(b"\n", 1)[0].split(b"\r", 1)[0]
    # UTF-16 or binary: NUL in the header or in more than 1 byte in 100. A NUL inside a
    # cell of a text export is left to the row checks (its row is quarantined).
    if (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
        or b"\x00" in first_line
        or head.count(b"\x00") * 100 > len(head)
    ):
        raise ExtractError(
            "the file contains NUL bytes: it is binary (or UTF-16), not a CSV text export; "
            "export it as CSV in UTF-8 or Parquet"
        )
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8 with BOM"
        except UnicodeDecodeError as exc:
            at = exc.start + len(UTF8_BOM)
            raise ExtractError(
                f"the file starts with a UTF-8 marker but line {_line_number(data, at)} is not "
                f"UTF-8 (byte {at}); save the whole file again as UTF-8"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if UTF8_SEQUENCE.search(data):
            # Part UTF-8, part something else (rows pasted from another export): reading
            # it all as cp1252 would garble the UTF-8 part without a word. Refused.
            raise ExtractError(
                "the file mixes encodings: it holds UTF-8 text, but line "
                f"{_line_number(data, exc.start)} is not UTF-8 (byte {exc.start}); "
                "save the whole file again as UTF-8"
            ) from None
    try:
        # Old Windows spreadsheet exports: cp1252 is the superset of Latin-1 they use.
        return data.decode("cp1252"), "latin-1 (cp1252)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _line_end(text: str) -> str:
    """``\r`` when the header ends with a lone carriage return (old Mac exports), else
    ``\n`` (a ``\r\n`` line end then leaves a ``\r`` that is stripped as white space)."""
    cr = text.find("\r", 0, 65536)
    lf = text.find("\n", 0, 65536)
    if cr != -1 and (lf == -1 or cr < lf) and text[cr + 1 : cr + 2] != "\n":
        return "\r"
    return "\n"


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
            f"the header line has {len(header)} characters and none of them is one"
        )
    return delimiter


def _header_cells(text: str, delimiter: str) -> list[str]:
    """The header's names as written (split as the line-by-line reader splits them)."""
    with _large_fields():
        reader = csv.reader(io.StringIO(text[: 1 << 20], newline=""), delimiter=delimiter)
        try:
            return next(reader)
        except (StopIteration, csv.Error) as exc:
            raise ExtractError(f"cannot read the header line: {exc}") from None


def _refuse_duplicate_columns(header: list[str]) -> None:
    """A column named twice (once normalised: ``Dossier_ID`` and ``dossier id``) rejects the
    file: which of the two holds the values is anybody's guess. Unnamed columns are
    ignored, as before; a first line without any contract column is no header and is
    judged by ``_conform`` (required columns missing) without being quoted."""
    if not any(normalise_header(name) in COLUMNS for name in header):
        return  # not a header (data, or not an extract): the missing columns say so
    first: dict[str, str] = {}
    for name in header:
        normal = normalise_header(name)
        if not normal:
            continue
        if normal in first:
            also = "" if first[normal] == name else f" (as {first[normal]!r} and {name!r})"
            raise ExtractError(
                f"the column {normal!r} appears twice in the header{also}; "
                "keep one of them and deliver the file again",
                kind="contract",
            )
        first[normal] = name


class _large_fields:  # noqa: N801 - used as a context manager, like a function
    """``csv``'s field size limit (128 KiB by default, process-wide) raised while a file is
    split: a longer quoted cell would otherwise end the cell early and make its rest look
    like rows of its own. Long cells are then set aside whole (``MAX_CELL_CHARS``)."""

    def __enter__(self) -> None:
        self.before = csv.field_size_limit()
        csv.field_size_limit(max(self.before, min(sys.maxsize, 2**31 - 1)))

    def __exit__(self, *exc) -> None:
        csv.field_size_limit(self.before)


def _records_fit(payload: bytes, delimiter: str, eol: str, width: int) -> bool:
    """Whether every record has the header's number of cells. polars pads a short record
    with empty cells without a word, so a file where some record does not fit is read
    line by line.

    A count over the whole file decides first: polars refuses a record with too many
    cells, so when no record has more than the header, delimiters = (width - 1) ×
    records (both counted outside quotes) holds only if every record has exactly as
    many. Files with blank lines, or quotes inside a cell, are counted line by line.
    """
    octets = np.frombuffer(payload, dtype=np.uint8)
    size = octets.size
    quote, sep, end = ord('"'), ord(delimiter), ord(eol)
    boundary = np.zeros(256, dtype=bool)  # what may stand beside a quote: a cell's edge
    boundary[[quote, sep, end, ord("\r"), ord("\n")]] = True
    delimiters = records = 0
    inside = np.uint8(0)  # 1 within a quoted cell, carried from chunk to chunk
    chunk = 1 << 26
    for start in range(0, size, chunk):
        part = octets[start : start + chunk]
        quotes = part == quote
        if quotes.any():
            at = np.flatnonzero(quotes) + start
            before = octets[np.maximum(at - 1, 0)]
            after = octets[np.minimum(at + 1, size - 1)]
            edge = (at == 0) | (at == size - 1)
            if not (edge | boundary[before] | boundary[after]).all():
                return _every_line_fits(payload, delimiter, eol, width)  # a quote mid-cell
            parity = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ inside
            inside = parity[-1]
            outside = parity == 0
            delimiters += int(np.count_nonzero((part == sep) & outside))
            records += int(np.count_nonzero((part == end) & outside))
        else:
            if inside:
                continue  # all of it inside one quoted cell
            delimiters += int(np.count_nonzero(part == sep))
            records += int(np.count_nonzero(part == end))
    if inside:
        return False  # a quote is never closed: the line-by-line reader says where
    records += not payload.endswith(eol.encode())
    if delimiters == (width - 1) * records:
        return True
    return _every_line_fits(payload, delimiter, eol, width)


def _every_line_fits(payload: bytes, delimiter: str, eol: str, width: int) -> bool:
    """``_records_fit`` line by line (vectorised): blank lines aside, every line has
    ``width - 1`` delimiters once its quoted segments are taken out."""
    if b"\x1f" in payload:
        lines = pl.Series([payload.decode("utf-8")]).str.split(eol).explode()
    else:  # polars splits the lines (no quoting, a separator the file does not hold)
        lines = pl.read_csv(
            io.BytesIO(payload),
            has_header=False,
            separator="\x1f",
            quote_char=None,
            eol_char=eol,
            new_columns=["line"],
            infer_schema=False,
            raise_if_empty=False,
        ).to_series()
    lines = lines.fill_null("")
    if b'"' in payload:
        if (lines.str.count_matches('"', literal=True) % 2 == 1).any():
            return False  # a quoted cell spans lines: only the line-by-line reader knows
        lines = lines.str.replace_all(QUOTED, "")
    counted = pl.DataFrame({"line": lines}).select(
        cells=pl.col("line").str.count_matches(delimiter, literal=True) + 1,
        blank=pl.col("line").str.strip_chars(WHITESPACE + delimiter) == "",
    )
    return bool(counted.select(((pl.col("cells") == width) | pl.col("blank")).all()).item())


def _column_names(header: list[str]) -> list[str]:
    """The header as column names: an unnamed column (or a repeated name in a first line
    that is no header) gets a blank name of its own, which the contract ignores."""
    names: list[str] = []
    for i, name in enumerate(header):
        names.append(name if name.strip(WHITESPACE) and name not in names else " " * (i + 1))
    return names


def _read_csv(
    payload: bytes, text: str, delimiter: str, eol: str, header: list[str]
) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """Fast path with polars; lines polars cannot split go through ``csv`` one by one.

    Every record under the header is numbered as delivered (1 = the first), blank ones
    included; a blank record (only delimiters and white space) is then left out.
    """
    if not _records_fit(payload, delimiter, eol, len(header)):
        return _read_csv_tolerant(text, delimiter)
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            separator=delimiter,
            eol_char=eol,
            infer_schema=False,
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # noqa: BLE001 - polars raises several types; fall back to the slow path
        return _read_csv_tolerant(text, delimiter)
    if frame.width != len(header):
        return _read_csv_tolerant(text, delimiter)
    frame.columns = _column_names(header)
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
    with _large_fields():
        return _split_lines(text, delimiter)


def _split_lines(text: str, delimiter: str) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ExtractError(f"cannot read the header line: {exc}") from None
    width = len(header)
    _refuse_duplicate_columns(header)
    # A malformed line is kept as the cells under contract columns (others blank, cells
    # beyond the header dropped, each cut at ``MAX_CELL_CHARS``): what a row's raw values
    # keep, nothing of the columns the contract does not know.
    kept = [normalise_header(name) in COLUMNS for name in header]
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
            malformed.append((record, reason, _kept_line(cells, kept, delimiter)))
            continue
        rows.append([c if c != "" else None for c in cells])
        records.append(record)
    schema = [(name, pl.String) for name in _column_names(header)]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    frame = frame.with_columns(pl.Series(KEPT_RECORD, records, dtype=pl.UInt32))
    return frame, malformed


def _kept_line(cells: list[str | None], kept: list[bool], delimiter: str) -> str:
    return delimiter.join(
        (cell or "")[:MAX_CELL_CHARS] if keep else ""
        for cell, keep in zip(cells, kept, strict=False)
    )


def _unreadable(exc: BaseException) -> ExtractError:
    """A decoder's failure as a message: its type and first line, printable, short, cut
    before any quote or bracket (where a decoder would quote a value of the file)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    first = re.split(r"[\"'`\[{(]", CONTROL_CHARACTER.sub("?", first), maxsplit=1)[0]
    first = first.strip(" :")[:160]
    what = type(exc).__name__ + (f": {first}" if first else "")
    return ExtractError(f"the Parquet file cannot be read ({what})")


def _decoding(call, *args, **kwargs):
    """``call`` with any failure to decode, Rust panics included, as ``ExtractError``."""
    try:
        return call(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except ExtractError:
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException is a BaseException
        raise _unreadable(exc) from None


def _parquet_footer_check(data: bytes, limit: int) -> None:
    """Refuse, from the footer alone, a Parquet file too large to read: its rows × columns
    (each cell at least ``CELL_BYTES`` once read, and at least the contract's columns per
    row once conformed) plus its uncompressed pages. A bomb (millions of one value,
    dictionary-encoded and compressed to kilobytes) is refused before a page is read."""
    meta = _decoding(pq.read_metadata, io.BytesIO(data))
    schema = _decoding(meta.schema.to_arrow_schema)
    for name, dtype in zip(schema.names, schema.types, strict=True):
        if pat.is_nested(dtype) or pat.is_binary(dtype) or pat.is_large_binary(dtype):
            raise ExtractError(f"Parquet column {name!r} has type {dtype}, not a plain value")
    rows, columns = meta.num_rows, len(schema.names)
    uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    estimate = rows * max(columns, len(COLUMNS)) * CELL_BYTES + uncompressed
    if rows < 0 or estimate > limit:
        raise ExtractError(
            f"the Parquet file would take about {_size(estimate)} once read ({rows:,} rows of "
            f"{columns} columns, {_size(uncompressed)} uncompressed): above the limit of "
            f"{_size(limit)} per extract ({MAX_BYTES_VARIABLE}); split it into smaller extracts"
        )


def _read_parquet(data: bytes, limit: int) -> pl.DataFrame:
    _parquet_footer_check(data, limit)
    frame = _decoding(pl.read_parquet, io.BytesIO(data))
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    # polars keeps a dictionary's values once, however many rows repeat them: the text
    # they stand for is measured before anything copies it.
    if text:
        total = frame.select(pl.sum_horizontal(pl.col(text).str.len_bytes().sum())).item()
        if total and total > limit:
            raise ExtractError(
                f"the Parquet file holds {_size(total)} of text once decoded: above the limit "
                f"of {_size(limit)} per extract ({MAX_BYTES_VARIABLE}); split it into "
                "smaller extracts"
            )
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            continue
        if dtype.is_nested() or dtype == pl.Binary or dtype == pl.Object:
            raise ExtractError(f"Parquet column {name!r} has type {dtype}, not a plain value")
        casts.append(pl.col(name).cast(pl.String))
    return _decoding(frame.with_columns, casts) if casts else frame


def _set_aside_long_cells(raw: RawExtract, delimiter: str) -> RawExtract:
    """Rows with a cell longer than ``MAX_CELL_CHARS`` join the malformed records, each
    with the columns it is too long in (the cells kept cut at that length)."""
    frame = raw.frame
    columns = [c for c in frame.columns if c != SOURCE_ROW]
    if not columns or not frame.height:
        return raw
    # Bytes first (cheap, stored with each string); characters only for those rows.
    suspect = pl.any_horizontal(pl.col(c).str.len_bytes() > MAX_CELL_CHARS for c in columns)
    if not frame.select(suspect.any()).item():
        return raw
    long = pl.any_horizontal(pl.col(c).str.len_chars() > MAX_CELL_CHARS for c in columns)
    flagged = frame.filter(suspect).filter(long)
    if flagged.is_empty():
        return raw
    for row in flagged.iter_rows(named=True):
        too_long = [c for c in columns if row[c] is not None and len(row[c]) > MAX_CELL_CHARS]
        reason = (
            f"{', '.join(too_long)}: longer than {MAX_CELL_CHARS:,} characters "
            "(the cell is cut at that length here)"
        )
        line = delimiter.join((row[c] or "")[:MAX_CELL_CHARS] for c in columns)
        raw.malformed.append((row[SOURCE_ROW], reason, line))
    raw.malformed.sort(key=lambda entry: entry[0])
    raw.frame = frame.filter(~pl.col(SOURCE_ROW).is_in(flagged[SOURCE_ROW].implode()))
    return raw


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
    _refuse_duplicate_columns(header)
    by_contract_name: dict[str, str] = {}
    ignored: list[str] = []
    for name in header:
        normal = normalise_header(name)
        if normal in COLUMNS:
            by_contract_name[normal] = name
        elif normal:
            ignored.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in by_contract_name]
    if missing:
        # The names found help only if the first line is a header: if none is a contract
        # column it is more likely data (or not an extract at all), and is not quoted.
        found = (
            f"found: {', '.join(header[:40])}"
            if by_contract_name
            else f"none of the first line's {len(header)} names is a contract column "
            "(is the header line missing?)"
        )
        raise ExtractError(
            f"the header lacks required column(s) {', '.join(missing)}; {found}",
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
