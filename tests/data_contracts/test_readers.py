"""Readers: Belgian CSV dialects, Parquet, the PII guard, and bad files of every kind."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.errors import ExtractError, IdentifierColumnsError
from data_contracts.readers import SOURCE_ROW, read_extract, read_extract_bytes
from data_contracts.row_checks import REASON, check_rows
from data_contracts.row_model import COLUMNS
from tests.factories import csv_text, household, person, write_csv


def typed_rows(raw):
    return check_rows(raw.frame, decimal_comma=raw.decimal_comma)


def test_semicolon_decimal_comma_latin1_with_accents(tmp_path):
    rows = [person(dossier_id="D-é1", amaar_estimated_cost_eur="1.234,56")]
    path = write_csv(tmp_path / "old.csv", rows, delimiter=";", encoding="cp1252")
    raw = read_extract(path)
    assert raw.delimiter == ";" and raw.decimal_comma and "latin-1" in raw.encoding
    typed = typed_rows(raw).row(0, named=True)
    assert typed[REASON] is None
    assert typed["dossier_id"] == "D-é1"
    assert str(typed["amaar_estimated_cost_eur"]) == "1234.56"


def test_utf8_bom_and_comma(tmp_path):
    path = write_csv(tmp_path / "bom.csv", household(), bom=True)
    raw = read_extract(path)
    assert raw.encoding == "utf-8 with BOM" and raw.delimiter == ","
    assert raw.frame.columns[0] == "dossier_id"  # BOM not glued to the first header
    assert typed_rows(raw)[REASON].null_count() == 3


def test_headers_in_other_case_and_order_and_missing_optional_columns(tmp_path):
    rows = [person()]
    columns = [c for c in reversed(COLUMNS) if c not in ("sex", "ticket_cost_eur")]
    text = csv_text(rows, ",", columns).replace("dossier_id", "Dossier_ID")
    raw = read_extract_bytes(text.encode(), "x.csv")
    assert raw.frame.columns == [*COLUMNS, SOURCE_ROW]
    assert raw.frame["sex"].null_count() == 1
    assert typed_rows(raw)[REASON][0] is None


def test_unknown_columns_are_ignored_and_named():
    text = csv_text([person()], ",", [*COLUMNS, "region"])
    raw = read_extract_bytes(text.encode(), "x.csv")
    assert raw.ignored_columns == ["region"]
    assert "region" not in raw.frame.columns


@pytest.mark.parametrize(
    "columns",
    [
        ["name"],
        ["first_name", "rijksregisternummer"],
        ["Email", "Address"],
        ["notes"],
        ["birth_date"],
        ["national_number", "phone"],
        ["remarks"],
        ["Last Name"],
    ],
)
def test_identifier_columns_reject_the_file_naming_them(columns):
    text = csv_text([person()], ",", [*COLUMNS, *columns])
    with pytest.raises(IdentifierColumnsError) as caught:
        read_extract_bytes(text.encode(), "pii.csv")
    for column in columns:
        assert column in str(caught.value)
    assert "before anything was stored" in str(caught.value)


def test_missing_required_column_rejects_the_file_naming_it():
    columns = [c for c in COLUMNS if c != "registration_date"]
    with pytest.raises(ExtractError, match="lacks required column.*registration_date"):
        read_extract_bytes(csv_text([person()], ",", columns).encode(), "x.csv")


def test_parquet_typed_columns(tmp_path):
    frame = pl.DataFrame([person(), *household(dossier="D2", first_person=5)]).with_columns(
        pl.col("registration_date").str.to_date(),
        pl.col("age_at_registration").cast(pl.Int64),
        (pl.col("pregnant") == "true").alias("pregnant"),
        pl.col("ticket_cost_eur").cast(pl.Decimal(12, 2)),
    )
    path = tmp_path / "x.parquet"
    frame.write_parquet(path)
    raw = read_extract(path)
    assert raw.file_format == "parquet"
    typed = typed_rows(raw)
    assert typed[REASON].null_count() == 4, typed[REASON].to_list()
    assert str(typed["ticket_cost_eur"][0]) == "180.50"


def test_ragged_rows_are_kept_as_malformed_records():
    text = csv_text([person(), person(person_id="P2", role="partner")])
    lines = text.splitlines()
    lines[1] += ",extra"
    raw = read_extract_bytes(("\n".join(lines) + "\n").encode(), "x.csv")
    assert raw.rows_read == 2
    assert raw.frame[SOURCE_ROW].to_list() == [2]
    assert (
        raw.malformed[0][0] == 1
        and f"{len(COLUMNS) + 1} cells where the header has {len(COLUMNS)}" in raw.malformed[0][1]
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"PK\x03\x04rest-of-zip", "Excel workbook"),
        (b"%PDF-1.7 ...", "PDF"),
        (b"PAR1garbage", "Parquet file cannot be read"),
        ("dossier_id\n".encode("utf-16"), "NUL bytes"),
        (b"just one header without delimiters\n1\n", "delimiter"),
        (b"\xef\xbb\xbfa,b\n\xff\xfe,1\n", "UTF-8 marker"),
    ],
)
def test_bad_files_get_a_clear_error(data, words):
    with pytest.raises(ExtractError, match=words):
        read_extract_bytes(data, "bad.csv")


def test_folder_and_missing_file_get_a_clear_error(tmp_path):
    with pytest.raises(ExtractError, match="folder"):
        read_extract(tmp_path)
    with pytest.raises(ExtractError, match="cannot open"):
        read_extract(tmp_path / "nope.csv")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_random_bytes_raise_only_extract_error(data):
    try:
        raw = read_extract_bytes(data, "random.bin")
    except ExtractError:
        return
    check_rows(raw.frame, decimal_comma=raw.decimal_comma)


header = ",".join(COLUMNS)
cell = st.text(alphabet=st.sampled_from(list('ab1;,"\n\r -/.éPD')), max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(st.lists(cell, min_size=0, max_size=35), max_size=6),
    delimiter=st.sampled_from([",", ";"]),
    keep_header=st.booleans(),
)
def test_random_csv_raises_only_extract_error(body, delimiter, keep_header):
    lines = ([header.replace(",", delimiter)] if keep_header else []) + [
        delimiter.join(cells) for cells in body
    ]
    try:
        raw = read_extract_bytes("\n".join(lines).encode(), "random.csv")
    except ExtractError:
        return
    assert raw.rows_read >= 0
    check_rows(raw.frame, decimal_comma=raw.decimal_comma)


def test_csv_round_trip_keeps_every_cell():
    rows = household()
    raw = read_extract_bytes(csv_text(rows).encode(), "x.csv")
    back = raw.frame.drop(SOURCE_ROW).fill_null("")
    assert back.to_dicts() == [{c: r[c] for c in COLUMNS} for r in rows]


# ---------------------------------------------------------------------------
# Blank records: skipped, not read, but numbered as delivered
# ---------------------------------------------------------------------------


def with_lines(text: str, after: int, lines: list[str]) -> bytes:
    """``text`` with ``lines`` inserted after its record ``after`` (0 = the header)."""
    rows = text.splitlines()
    return ("\n".join(rows[: after + 1] + lines + rows[after + 1 :]) + "\n").encode()


BLANKS = {
    "delimiters only": ";" * (len(COLUMNS) - 1),
    "fewer delimiters": ";;;",
    "white space": "   \t ",
    "delimiters and white space": " ; ;\t;",
    "empty line": "",
}


@pytest.mark.parametrize("blank", list(BLANKS.values()), ids=list(BLANKS))
def test_a_blank_record_is_skipped_and_keeps_its_number(blank):
    text = csv_text(household(), delimiter=";")
    raw = read_extract_bytes(with_lines(text, 1, [blank, blank]), "x.csv")
    assert raw.rows_read == 3 and raw.malformed == []
    # Records 2 and 3 are the blank ones: the rows after them keep the number a
    # spreadsheet shows (less the header).
    assert raw.frame[SOURCE_ROW].to_list() == [1, 4, 5]
    assert typed_rows(raw)[REASON].null_count() == 3


def test_blank_records_at_the_end_and_with_too_many_delimiters_are_skipped():
    text = csv_text(household(), delimiter=";")
    too_many = ";" * len(COLUMNS)  # more cells than the header: the line-by-line reader
    raw = read_extract_bytes(with_lines(text, 3, [too_many, "", ";;"]), "x.csv")
    assert raw.rows_read == 3 and raw.malformed == []
    assert raw.frame[SOURCE_ROW].to_list() == [1, 2, 3]


def test_numbering_is_the_same_when_a_ragged_line_forces_the_slow_reader():
    text = csv_text([*household(), person(dossier_id="D9", person_id="P9")])
    ragged = text.splitlines()[4] + ",extra"
    data = with_lines(text, 1, [",,,", ragged])  # record 2 blank, record 3 ragged
    raw = read_extract_bytes(data, "x.csv")
    assert raw.rows_read == 5  # 4 rows + the ragged line; the blank record is not read
    assert raw.frame[SOURCE_ROW].to_list() == [1, 4, 5, 6]
    assert [record for record, _, _ in raw.malformed] == [3]
