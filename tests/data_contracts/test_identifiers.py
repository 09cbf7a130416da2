"""The PII guard: identifier-looking headers (any spelling) and values (any column)."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.errors import ExtractError
from data_contracts.identifier_values import (
    EMAIL,
    IBAN,
    ID_COLUMNS,
    NATIONAL_NUMBER,
    PHONE,
    IdentifierValuesError,
    file_verdict,
    identifier_value_problems,
    removed,
    screen,
)
from data_contracts.pii import identifier_columns, is_identifier_header, normalise_header
from data_contracts.reasons import without_values
from data_contracts.row_model import COLUMNS

# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

IDENTIFIER_HEADERS = [
    "Nom de famille",
    unicodedata.normalize("NFD", "Prénom"),
    "Rijksregisternr",
    "rijksregisternummer",
    "numéro national",
    "numero de registre national",
    "NISS",
    "INSZ",
    "phone_number",
    "telefoon",
    "GSM",
    "téléphone",
    "e-mail",
    "courriel",
    "home address",
    "adres",
    "Straat en nummer",
    "rue",
    "Woonplaats",
    "domicile",
    "Opmerking",
    "remarque",
    "comment",
    "notes",
    "Familienname",
    "Vorname",
    "Geburtsdatum",
    "date of birth",
    "geboortedatum",
    "date de naissance",
    "passport",
    "paspoort",
    "IBAN",
    "name",
    "naam",
    "nom",
    "surname",
    "first name",
    "na\u200bme",
    "ｎａｍｅ",
]
# The previous guard's spellings (and docs/domain/extract-format.md's list) still reject.
EARLIER_HEADERS = [
    "first_name", "last_name", "given_name", "family_name", "full_name", "maiden_name",
    "FirstName", "voornaam", "achternaam", "familienaam", "prénom", "rijksregister",
    "national_number", "national_register", "national_register_number", "national_id",
    "nationalnumber", "ssn", "passport_number", "id_card", "id_card_number",
    "document_number", "address", "adresse", "street", "straat", "postal_code",
    "postcode", "zip", "phone", "telephone", "mobile", "email", "e_mail", "birth_date",
    "birthdate", "date_of_birth", "dob", "date_de_naissance", "note", "remarks",
    "comments", "opmerkingen", "remarques", "free_text", "Email", "Address", "Last Name",
]  # fmt: skip
MORE_HEADERS = [
    "client name", "klantnaam", "naam_1", "Name (FR)", "N°  national", "nationalid",
    "registre national", "numéro de registre national (NISS)", "numéro BIS",
    "sozialversicherungsnummer", "GSM-nr", "mobiel nummer", "Telefonnummer",
    "smartphone", "e.mail", "E-Mail-Adresse", "emailadres", "adresse électronique",
    "woonadres", "Wohnadresse", "code postal", "lieu de résidence", "Straße",
    "Hausnummer", "carte d'identité", "identiteitskaart", "Personalausweis",
    "reispas nummer", "pasnummer", "bank account", "rekeningnummer", "compte bancaire",
    "Kontonummer", "Bemerkungen", "commentaire", "toelichting", "vrije tekst",
    "texte libre", "dossier notes", "geboorteplaats", "lieu de naissance",
    "year of birth", "Geburtsort", "né le", "contact person", "nickname",
    "Ｅ－ｍａｉｌ", "e\u200c-\u200dmail", "\ufeffname", "nаme",  # Cyrillic а
]  # fmt: skip
NOT_IDENTIFIERS = [
    "nationality", "Nationality", "nationaliteit", "registration", "registration_number_of_rows",
    "residence", "country_name", "nom du pays", "landnaam", "return_country_name",
    "file_name", "bestandsnaam", "country of birth", "geboorteland", "Geburtsland",
    "pays de naissance", "id", "ID", "person id", "dossier number", "case_number",
    "region", "source_file", "nombre_enfants", "hotel", "true", "notified_on",
    "age", "sex", "role", "status", "extract_date", "rows", "municipality_code",
]  # fmt: skip


@pytest.mark.parametrize("header", IDENTIFIER_HEADERS + EARLIER_HEADERS + MORE_HEADERS)
def test_identifier_headers_are_rejected(header):
    assert identifier_columns(["dossier_id", header, "person_id"]) == [header]


def _spellings(column: str) -> list[str]:
    """The ways the readers accept a contract header (any case, spaces or ``-``)."""
    spaced = column.replace("_", " ")
    return [
        column,
        column.upper(),
        spaced.title(),
        spaced,
        column.replace("_", "-"),
        f"  {column} ",
        "\ufeff" + column,
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in column),  # full width
    ]


@pytest.mark.parametrize("column", COLUMNS)
def test_every_contract_column_in_every_accepted_spelling_is_not_an_identifier(column):
    assert identifier_columns(_spellings(column)) == []


@pytest.mark.parametrize("header", NOT_IDENTIFIERS)
def test_words_that_only_resemble_identifiers_are_accepted(header):
    assert not is_identifier_header(header)


@pytest.mark.parametrize("column", COLUMNS)
def test_normalise_header_still_maps_the_contract_spellings(column):
    for spelling in (column, column.upper(), column.replace("_", " ").title(), "\ufeff" + column):
        assert normalise_header(spelling) == column
    assert normalise_header(column.replace("_", "-")) == column


# The hypothesis property: identifier words, however they are written.
WORDS = [
    ["name"], ["naam"], ["nom"], ["surname"], ["first", "name"], ["last", "name"],
    ["nom", "de", "famille"], ["prénom"], ["voornaam"], ["achternaam"], ["vorname"],
    ["familienname"], ["rijksregisternummer"], ["rijksregisternr"], ["numéro", "national"],
    ["numero", "de", "registre", "national"], ["national", "number"], ["niss"], ["insz"],
    ["phone", "number"], ["telefoon"], ["téléphone"], ["gsm"], ["e", "mail"], ["email"],
    ["courriel"], ["home", "address"], ["adres"], ["adresse"], ["straat", "en", "nummer"],
    ["rue"], ["woonplaats"], ["domicile"], ["opmerking"], ["remarque"], ["comment"],
    ["notes"], ["geburtsdatum"], ["date", "of", "birth"], ["geboortedatum"],
    ["date", "de", "naissance"], ["birth", "date"], ["passport"], ["paspoort"], ["iban"],
]  # fmt: skip
SEPARATORS = [" ", "_", "-", ".", "/", "  ", " - ", "__", "\u3000", "＿"]
PREFIXES = ["", "client ", "klant_", "Client-", "x.", "1_", "_", "person ", "de "]
SUFFIXES = ["", "_1", " 2", "_nl", " (fr)", ".old", "-x", "_", "#", " 01"]
ZERO_WIDTHS = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
ACCENTS = ["\u0301", "\u0300", "\u0308", "\u0302", "\u0327", "\u030c"]


def _full_width(c: str) -> str:
    return chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c


@st.composite
def disguised_identifier(draw) -> str:
    words = draw(st.sampled_from(WORDS))
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + word
    out = []
    for c in text:
        c = c.upper() if draw(st.booleans()) else c.lower()
        if c.isalpha() and draw(st.integers(0, 5)) == 0:
            c = _full_width(c)
        if c.isalpha() and draw(st.integers(0, 4)) == 0:
            c += draw(st.sampled_from(ACCENTS))
        if draw(st.integers(0, 5)) == 0:
            c += draw(st.sampled_from(ZERO_WIDTHS))
        out.append(c)
    text = "".join(out)
    if draw(st.booleans()):
        text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD", "NFKD"])), text)
    return draw(st.sampled_from(PREFIXES)) + text + draw(st.sampled_from(SUFFIXES))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(disguised_identifier())
def test_disguised_identifier_headers_are_rejected(header):
    assert is_identifier_header(header), repr(header)


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def national_number(base: int, *, born_2000_or_later: bool = False) -> str:
    """A national register number with valid check digits (``base``: YYMMDDXXX)."""
    check = 97 - ((2_000_000_000 if born_2000_or_later else 0) + base) % 97
    return f"{base:09d}{check:02d}"


def belgian_iban(bban: int) -> str:
    check = 98 - (bban * 1_000_000 + 111_400) % 97
    return f"BE{check:02d}{bban:012d}"


def formatted(number: str) -> str:
    return f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"


NN_1985 = national_number(850_101_123)  # 85.01.01-123.xx, born 1985
NN_2003 = national_number(30_415_456, born_2000_or_later=True)  # born 2003
BIS = national_number(854_101_123)  # BIS number: month + 40
IBAN_OK = belgian_iban(539_007_547_034)  # BE68 5390 0754 7034

FOUND = [
    (NN_1985, NATIONAL_NUMBER),
    (formatted(NN_1985), NATIONAL_NUMBER),
    (NN_2003, NATIONAL_NUMBER),
    (formatted(NN_2003), NATIONAL_NUMBER),
    (BIS, NATIONAL_NUMBER),
    (f"rrn {formatted(NN_1985)} (check)", NATIONAL_NUMBER),
    (f"RRN:{NN_1985}", NATIONAL_NUMBER),
    (f"nr_{NN_1985}", NATIONAL_NUMBER),
    ("".join(chr(ord(c) + 0xFEE0) for c in NN_1985), NATIONAL_NUMBER),  # full-width digits
    (NN_1985[:5] + "\u200b" + NN_1985[5:], NATIONAL_NUMBER),
    ("jan.peeters@example.be", EMAIL),
    ("Marie_Dupont+reab@mail.example.org", EMAIL),
    ("contact: élodie@exemple.fr", EMAIL),
    ("jan (at) example.be", EMAIL),
    ("jan[at]example.be", EMAIL),
    ("+32 475 12 34 56", PHONE),
    ("+32475123456", PHONE),
    ("0032 2 123 45 67", PHONE),
    ("+32 (0)475 12.34.56", PHONE),
    ("0475 12 34 56", PHONE),
    ("0475/12.34.56", PHONE),
    ("0499123456", PHONE),
    ("02 123 45 67", PHONE),
    ("050/12.34.56", PHONE),
    ("+44 20 7946 0958", PHONE),
    ("+1 (555) 123-4567", PHONE),
    ("+995 599 12 34 56", PHONE),
    ("0033 6 12 34 56 78", PHONE),
    ("tel+32475123456", PHONE),
    (IBAN_OK, IBAN),
    ("BE68 5390 0754 7034", IBAN),
    ("be68 5390 0754 7034", IBAN),
    ("IBAN: BE68539007547034", IBAN),
]
NOT_FOUND = [
    str(int(NN_1985) + 1),  # check digits wrong
    str(int(NN_2003) + 1),
    formatted(str(int(NN_1985) + 1)),
    national_number(851_301_123),  # month 13: no birth date
    national_number(850_132_123),  # day 32
    "12345678901",
    f"a{NN_1985}f",  # inside a pseudonym: not on its own
    f"P{NN_1985}",
    NN_1985 + "7",  # 12 digits
    "BE69 5390 0754 7034",  # IBAN check digits wrong
    "BE68 5390 0754 7035",
    "jan at example",
    "@IOM",
    "2025-03-10",
    "10/03/2025",
    "2025-03-10 10:30",
    "01/02/2024",
    "1.234,56",
    "180.50",
    "12345678",
    "0000012345",
    "+32",
    "D0001",
    "P0001",
    "D-é1",
    "GEO",
    "principal",
    "true",
    "34",
    "0475",
    "04 75",
    "09/1234567",  # not grouped like a landline
]


def frame_with(column: str, cells: list[str | None]) -> pl.DataFrame:
    data = {c: ["x"] * len(cells) for c in ("dossier_id", "person_id", "nationality")}
    data[column] = cells
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


@pytest.mark.parametrize(("value", "kind"), FOUND)
def test_identifier_values_are_found_and_named_without_the_value(value, kind):
    problems = identifier_value_problems(frame_with("notes", ["ok", value, None]))
    assert problems[0] is None and problems[2] is None
    reason = problems[1]
    assert reason is not None and "notes" in reason and kind in reason, (value, reason)
    assert value not in reason
    assert not any(part in reason for part in value.split() if len(part) > 3)
    assert without_values(reason) == reason


@pytest.mark.parametrize("value", NOT_FOUND)
def test_values_that_only_resemble_identifiers_are_not_found(value):
    assert identifier_value_problems(frame_with("notes", [value])).to_list() == [None]


def test_check_digits_before_and_from_2000():
    base = 30_415_456
    before, after = national_number(base), national_number(base, born_2000_or_later=True)
    assert before != after
    for number in (before, after):
        assert identifier_value_problems(frame_with("notes", [number]))[0] is not None
    # only a check digit of neither rule is no national number
    wrong = {f"{base:09d}{c:02d}" for c in range(100)} - {before, after}
    found = identifier_value_problems(frame_with("notes", sorted(wrong)))
    assert found.null_count() == len(wrong)


def test_found_in_any_column_and_the_cell_is_removed():
    rows = 200
    nationality, return_country = ["GEO"] * rows, ["GEO"] * rows
    nationality[7], return_country[6] = "jan@example.be", "+32 475 12 34 56"
    frame = frame_with("nationality", nationality).with_columns(
        pl.Series("return_country", return_country)
    )
    found = screen(frame)
    assert found.found == {"nationality": (EMAIL,), "return_country": (PHONE,)}
    assert found.rows == 2 and found.height == rows
    assert found.reasons.to_list()[6] == (
        "identifier-looking value, not stored: return_country (phone number)"
    )
    assert "nationality (e-mail address)" in found.reasons[7]
    assert found.redacted["nationality"][7] == removed(EMAIL)
    assert found.redacted["return_country"][6] == removed(PHONE)
    assert found.redacted.drop("nationality", "return_country").equals(
        frame.drop("nationality", "return_country")
    )
    assert found.redacted["nationality"].to_list().count("GEO") == rows - 1
    assert file_verdict(found) is None  # 2 of 200 rows = 1 %: not more than 1 %


def test_several_kinds_in_one_row_are_all_named():
    frame = frame_with("notes", [f"{NN_1985} / jan@example.be / {IBAN_OK}"])
    reason = identifier_value_problems(frame)[0]
    assert reason == (
        "identifier-looking value, not stored: notes (national register number), "
        "notes (e-mail address), notes (IBAN)"
    )


def test_more_than_the_share_of_rows_rejects_the_file_naming_columns_and_kinds():
    cells = ["GEO"] * 100
    cells[3], cells[50] = "jan@example.be", formatted(NN_1985)
    frame = frame_with("nationality", cells)
    error = file_verdict(frame)
    assert isinstance(error, IdentifierValuesError) and isinstance(error, ExtractError)
    assert error.kind == "identifiers" and error.rows == 100
    message = str(error)
    assert "2 of 100 rows" in message and "before anything was stored" in message
    assert "nationality: national register number, e-mail address" in message
    assert "jan" not in message and NN_1985[:6] not in message
    assert file_verdict(frame, max_share=0.05) is None


@pytest.mark.parametrize("column", ID_COLUMNS)
def test_any_identifier_value_in_an_id_column_rejects_the_file(column):
    cells = ["P0001"] * 10_000
    cells[1234] = NN_1985
    error = screen(frame_with(column, cells)).rejection
    assert error is not None and f"{column}: national register number" in str(error)
    assert NN_1985 not in str(error)


def test_clean_frames_pass_untouched():
    frame = frame_with("notes", ["D0001", "2025-03-10", None, "", "180.50", "IOM"])
    found = screen(frame.with_columns(pl.lit(3).alias("number")))
    assert found.rows == 0 and found.found == {} and found.rejection is None
    assert found.reasons.null_count() == frame.height
    assert found.redacted.drop("number").equals(frame)
    assert screen(frame.head(0)).reasons.len() == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 999_999_999), min_size=1, max_size=30), st.booleans())
def test_every_valid_national_number_in_any_grouping_is_found(bases, recent):
    def a_birth_date(base: int) -> bool:  # month 0-12, or + 20 / + 40 (BIS); day 0-31
        month, day = (base // 100_000) % 100, (base // 1000) % 100
        return month <= 52 and month % 20 <= 12 and day <= 31

    numbers = [national_number(b, born_2000_or_later=recent) for b in bases if a_birth_date(b)]
    cells = [formatted(n) if i % 2 else n for i, n in enumerate(numbers)]
    if cells:
        assert identifier_value_problems(frame_with("notes", cells)).null_count() == 0
