"""Hostile extracts: each refused or quarantined with a clear reason, none hangs, leaks
its content into a message, or blows up a later stage."""

from __future__ import annotations

import io
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts import readers
from data_contracts.errors import ExtractError
from data_contracts.readers import (
    MAX_CELL_CHARS,
    SOURCE_ROW,
    load_extract_bytes,
    read_extract,
    read_extract_bytes,
)
from data_contracts.row_checks import REASON, check_rows
from data_contracts.row_model import COLUMNS, EARLIEST_DATE, LATEST_DATE
from tests.factories import csv_text, household, person

PASSWD_LINE = "root:x:0:0:root:/root:/bin/bash"


@contextmanager
def time_limit(seconds: int):
    """Fail (rather than hang the suite) when the block takes longer than ``seconds``."""

    def expired(_signum, _frame):
        raise TimeoutError(f"still running after {seconds} s: the reader hangs")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def refused(path_or_data, *, name: str = "x.csv") -> str:
    """The message of the ``ExtractError`` reading ``path_or_data`` raises."""
    with time_limit(30), pytest.raises(ExtractError) as caught:
        if isinstance(path_or_data, bytes):
            read_extract_bytes(path_or_data, name)
        else:
            read_extract(path_or_data)
    return str(caught.value)


def assert_no_values(message: str, values) -> None:
    for value in values:
        if value and len(value) > 2:
            assert value not in message, (value, message)


def cell_values(rows: list[dict]) -> set[str]:
    """The rows' ids, dates and amounts (values no message's own words can contain)."""
    return {v for row in rows for v in row.values() if any(ch.isdigit() for ch in v)}


def checked(raw) -> pl.DataFrame:
    return check_rows(raw.frame, decimal_comma=raw.decimal_comma)


# ---------------------------------------------------------------------------
# Files that are not regular files, or lead out of their folder
# ---------------------------------------------------------------------------


def test_symlink_to_dev_zero_is_refused_without_reading(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    message = refused(link)
    assert "symbolic link to a device" in message and "not a regular file" in message
    assert str(link) in message


def test_a_device_path_itself_is_refused():
    message = refused(Path("/dev/null"))
    assert "device" in message


def test_named_pipe_is_refused_without_opening_it(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    message = refused(pipe)  # time-limited: opening the pipe would block for ever
    assert "named pipe" in message and str(pipe) in message
    link = tmp_path / "to_pipe.csv"
    link.symlink_to(pipe)
    assert "symbolic link to a named pipe" in refused(link)


def test_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        assert "socket" in refused(path)
    finally:
        server.close()


def test_symlink_to_a_file_outside_the_folder_is_refused_without_its_content(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text(PASSWD_LINE + "\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    link = landing / "passwd.csv"
    link.symlink_to(secret)
    message = refused(link)
    assert "symbolic link to a file outside" in message
    assert "root:x:0:0" not in message and "/bin/bash" not in message
    # The folder the link must stay in can be given (the landing folder of a run).
    assert "outside" in refused_with_root(link, root=landing)


def refused_with_root(path: Path, root: Path) -> str:
    with pytest.raises(ExtractError) as caught:
        read_extract(path, root=root)
    return str(caught.value)


def test_symlink_inside_the_folder_is_read(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text(csv_text(household()))
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert read_extract(link).rows_read == 3


def test_a_passwd_like_file_in_the_folder_is_refused_without_its_content(tmp_path):
    path = tmp_path / "passwd.csv"
    path.write_text(PASSWD_LINE + "\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    message = refused(path)
    assert "delimiter" in message
    assert "root:x" not in message and "daemon" not in message


def test_a_headerless_file_is_refused_without_quoting_its_first_row():
    rows = household()
    data = "\n".join(csv_text(rows).splitlines()[1:]).encode()  # no header line
    message = refused(data)
    assert "lacks required column" in message and "header line missing" in message
    assert_no_values(message, cell_values(rows))


# ---------------------------------------------------------------------------
# Size limits
# ---------------------------------------------------------------------------


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(csv_text(household()))
    monkeypatch.setenv("REAB_MAX_EXTRACT_BYTES", "100")
    message = refused(path)
    assert "above the limit of 100 bytes" in message and "REAB_MAX_EXTRACT_BYTES" in message
    assert "above the limit" in refused(path.read_bytes())
    monkeypatch.setenv("REAB_MAX_EXTRACT_BYTES", "lots")
    with pytest.raises(ValueError, match="REAB_MAX_EXTRACT_BYTES"):
        load_extract_bytes(path)


def test_the_default_size_limit_is_two_gib(monkeypatch):
    monkeypatch.delenv("REAB_MAX_EXTRACT_BYTES", raising=False)
    assert readers.max_extract_bytes() == 32 * 1024**2


def parquet_of_one_value(rows: int, value: str, column: str = "dossier_id") -> bytes:
    """``rows`` copies of ``value``, dictionary-encoded and zstd-compressed: a few KB on
    disk whatever they decode to (written from the dictionary, so it is fast)."""
    indices = pa.array(np.zeros(rows, dtype=np.int32))
    column_data = pa.DictionaryArray.from_arrays(indices, pa.array([value]))
    buffer = io.BytesIO()
    pq.write_table(
        pa.table({column: column_data}),
        buffer,
        compression="zstd",
        use_dictionary=True,
        store_schema=False,  # read back as plain strings, not as a categorical
        row_group_size=rows,
    )
    return buffer.getvalue()


def test_parquet_bomb_is_refused_from_its_footer(monkeypatch):
    data = parquet_of_one_value(50_000_000, "D" * 200)  # 10 GB of text once decoded
    assert len(data) < 2_000_000
    called = []
    monkeypatch.setattr(readers.pl, "read_parquet", lambda *a, **k: called.append(1))
    message = refused(data, name="bomb.parquet")
    assert called == []  # refused before a page was read
    assert "50,000,000 rows" in message and "above the limit" in message
    assert "DDDD" not in message


def test_parquet_of_few_rows_with_huge_values_is_refused_before_it_is_copied(monkeypatch):
    monkeypatch.setenv("REAB_MAX_EXTRACT_BYTES", str(16 * 1024**2))  # 64 MiB once read
    data = parquet_of_one_value(20_000, "P" * 8_000)  # 160 MB of text, a few KB on disk
    message = refused(data, name="wide.parquet")
    assert "of text once decoded" in message and "above the limit" in message
    assert "PPPP" not in message


def test_corrupt_parquet_is_refused_with_a_clear_message():
    data = b"PAR1" + os.urandom(4000) + b"PAR1"
    message = refused(data, name="corrupt.parquet")
    assert message.startswith("the Parquet file cannot be read")


def test_truncated_parquet_is_refused():
    buffer = io.BytesIO()
    pl.DataFrame(household()).write_parquet(buffer)
    data = buffer.getvalue()
    assert "cannot be read" in refused(data[: len(data) // 2], name="cut.parquet")


def test_a_rust_panic_while_decoding_parquet_becomes_an_extract_error(monkeypatch):
    panic = pl.exceptions.PanicException
    assert not issubclass(panic, Exception)  # what a bare ``except Exception`` misses

    def explode(*_args, **_kwargs):
        raise panic("called `Result::unwrap()` on an `Err` value: secret-cell-value")

    buffer = io.BytesIO()
    pl.DataFrame(household()).write_parquet(buffer)
    monkeypatch.setattr(readers.pl, "read_parquet", explode)
    message = refused(buffer.getvalue(), name="panic.parquet")
    assert "cannot be read (PanicException" in message
    assert "secret-cell-value" not in message


# ---------------------------------------------------------------------------
# CSV structure
# ---------------------------------------------------------------------------


def test_cr_only_line_ends_are_read(tmp_path):
    rows = household()
    data = csv_text(rows).replace("\n", "\r").encode()
    raw = read_extract_bytes(data, "mac.csv")
    assert raw.rows_read == 3 and raw.malformed == []
    assert raw.frame[SOURCE_ROW].to_list() == [1, 2, 3]
    assert checked(raw)[REASON].null_count() == 3
    # the same through the line-by-line reader (a short row forces it)
    short = data + b"D9,P9,principal\r"
    raw = read_extract_bytes(short, "mac.csv")
    assert raw.frame.height == 3 and [r for r, _, _ in raw.malformed] == [4]


def test_a_quoted_very_long_field_quarantines_its_row_and_makes_no_phantom_row():
    rows = household()
    long = "IOM" + "x" * 140_000 + "\nD9,P9"  # a line break and a fake row inside quotes
    rows[1]["reintegration_partner"] = long
    raw = read_extract_bytes(csv_text(rows).encode(), "long.csv")
    assert raw.rows_read == 3  # no phantom row from the cell's inside
    assert raw.frame[SOURCE_ROW].to_list() == [1, 3]
    ((record, reason, line),) = raw.malformed
    assert record == 2
    assert f"reintegration_partner: longer than {MAX_CELL_CHARS:,} characters" in reason
    assert "xxx" not in reason
    assert len(line) < 2 * MAX_CELL_CHARS  # kept cut at the limit


def test_a_long_field_through_the_line_by_line_reader_makes_no_phantom_row():
    rows = household()
    rows[1]["reintegration_partner"] = "IOM" + "x" * 140_000 + "\nD9,P9"
    data = csv_text(rows).encode() + b"D8,P8\n"  # a short row: the line-by-line reader
    raw = read_extract_bytes(data, "long.csv")
    assert raw.rows_read == 4
    assert sorted(r for r, _, _ in raw.malformed) == [2, 4]


@pytest.mark.parametrize("slow", [False, True], ids=["polars", "line-by-line"])
def test_short_rows_are_quarantined_never_padded(slow):
    rows = household()
    text = csv_text(rows)
    lines = text.splitlines()
    lines[2] = ",".join(lines[2].split(",")[:5])  # record 2: five cells only
    if slow:
        lines.append(lines[1] + ",extra")  # a long row too: polars refuses the file
    raw = read_extract_bytes(("\n".join(lines) + "\n").encode(), "short.csv")
    reasons = {record: reason for record, reason, _ in raw.malformed}
    assert reasons[2] == f"the row has 5 cells where the header has {len(COLUMNS)}"
    assert 2 not in raw.frame[SOURCE_ROW].to_list()
    assert raw.rows_read == len(lines) - 1


def test_short_row_hidden_by_a_quoted_delimiter_is_found():
    text = csv_text(household())
    lines = text.splitlines()
    cells = lines[2].split(",")
    # As many delimiters as a full row, but two of them inside quotes: two cells short.
    lines[2] = ",".join(cells[:-3]) + ',"a,b,"'
    raw = read_extract_bytes(("\n".join(lines) + "\n").encode(), "q.csv")
    assert [r for r, _, _ in raw.malformed] == [2]
    assert "cells where the header has" in raw.malformed[0][1]


@pytest.mark.parametrize(
    ("second", "named"),
    [("dossier_id", "'dossier_id' appears twice"), ("dossier id", "'Dossier_ID' and 'dossier id'")],
)
def test_duplicate_headers_reject_the_file_naming_the_column(second, named):
    rows = household()
    text = csv_text(rows)
    header, *body = text.splitlines()
    header = header.replace("dossier_id", "Dossier_ID", 1) + "," + second
    body = [line + ",D-OTHER" for line in body]
    data = ("\n".join([header, *body]) + "\n").encode()
    message = refused(data)
    assert named in message and "dossier_id" in message
    assert "D-OTHER" not in message
    # the same in a file the line-by-line reader reads (a ragged row in it)
    assert named in refused(data + b"a,b\n")


def test_duplicate_unknown_columns_are_refused_too():
    text = csv_text([person()], ",", [*COLUMNS, "region", "Region"])
    assert "'region' appears twice" in refused(text.encode())


def test_duplicate_columns_in_parquet_after_normalisation_are_refused():
    frame = pl.DataFrame(household()).with_columns(pl.col("person_id").alias("Person ID"))
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    assert "'person_id' appears twice" in refused(buffer.getvalue(), name="d.parquet")


def test_mixed_utf8_and_cp1252_is_refused_naming_the_line():
    rows = household(dossier="D-ü1")
    good = csv_text(rows).encode("utf-8")
    bad = ",".join(["Dé9", *csv_text([person()]).splitlines()[1].split(",")[1:]])
    message = refused(good + bad.encode("cp1252") + b"\n")
    assert "mixes encodings" in message and "line 5 is not UTF-8" in message
    assert_no_values(message, cell_values(rows) | {"Dé9"})


def test_a_cp1252_file_throughout_is_still_read():
    rows = household(dossier="D-é1")
    raw = read_extract_bytes(csv_text(rows, ";").encode("cp1252"), "old.csv")
    assert "cp1252" in raw.encoding and raw.rows_read == 3


def test_nul_in_an_id_quarantines_the_row():
    rows = household()
    rows[1]["person_id"] = "P\x00123"
    raw = read_extract_bytes(csv_text(rows).encode(), "nul.csv")
    reasons = checked(raw)[REASON].to_list()
    assert reasons[0] is None and reasons[2] is None
    assert reasons[1] == "person_id: holds a control character (NUL, line break, escape, …)"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("dossier_id", "D\x1b[2J1"),
        ("annex_parent_id", "P0001\x7f"),
        ("person_id", "P1\nP2"),
        ("person_id", "P\x85"),
    ],
)
def test_control_characters_in_text_cells_quarantine_the_row(column, value):
    rows = household()
    rows[2][column] = value
    reason = checked(read_extract_bytes(csv_text(rows).encode(), "c.csv"))[REASON][2]
    assert reason is not None and f"{column}: holds a control character" in reason
    assert "\x1b" not in reason


def test_a_tab_inside_an_id_is_allowed():
    rows = household()
    for row in rows:
        row["dossier_id"] = "D\t1"
    assert checked(read_extract_bytes(csv_text(rows).encode(), "t.csv"))[REASON].null_count() == 3


def test_a_reason_quoting_a_value_masks_its_control_characters():
    rows = [person(sex="\x1b[2J\x1b[31mX")]
    reason = checked(read_extract_bytes(csv_text(rows).encode(), "e.csv"))[REASON][0]
    assert reason.startswith("sex: '") and "\x1b" not in reason and "\ufffd" in reason


def test_utf16_is_still_refused_as_binary():
    data = csv_text(household()).encode("utf-16")
    assert "NUL bytes" in refused(data)
    assert "NUL bytes" in refused(csv_text(household()).encode("utf-16-le"))


# ---------------------------------------------------------------------------
# Contract-valid but implausible dates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("registration_date", "0001-01-01", "is before 1990-01-01"),
        ("departure_date", "9999-12-31", "is after"),
        ("decision_notified_on", "01/01/0001", "is before 1990-01-01"),
        ("asylum_application_date", "1989-12-31", "is before 1990-01-01"),
        ("arrival_in_belgium_date", "9999-12-31", "is after"),
        ("previous_return_support_date", "0001-01-01", "is before 1990-01-01"),
    ],
)
def test_implausible_dates_are_quarantined(column, value, words):
    rows = [person(**{column: value})]
    if column == "decision_notified_on":
        rows = [
            person(
                residence_status="applicant",
                application_type="first",
                procedure_phase="cgvs_refused",
                decision_notified_on=value,
            )
        ]
    raw = read_extract_bytes(csv_text(rows).encode(), "dates.csv")
    reason = checked(raw)[REASON][0]
    assert reason is not None and f"{column}: '{value}' {words}" in reason, reason


def test_the_date_window_edges_are_accepted():
    rows = [
        person(registration_date=str(EARLIEST_DATE), departure_date=str(LATEST_DATE)),
    ]
    raw = read_extract_bytes(csv_text(rows).encode(), "edges.csv")
    assert checked(raw)[REASON][0] is None
