"""Identifier-looking values in any cell: the row is quarantined, or the file rejected.

An anonymised extract holds no national register numbers, e-mail addresses, phone
numbers or bank accounts, whatever the column. This module finds them in every text
cell of a frame, vectorised (polars expressions, no Python loop over the rows):

- a Belgian national register number (or BIS number): 11 digits, plain or written
  ``YY.MM.DD-XXX.CC``, whose check digits are right for a birth before or from 2000
  (``97 - n mod 97``, with ``2`` prefixed to the 9 digits for 2000 and later) and whose
  month and day can be those of one (month + 20 or + 40 for BIS numbers; 00 for an
  unknown one);
- an e-mail address (also ``name [at] host.be``);
- a phone number: Belgian (``+32``/``0032``, a mobile ``04xx`` in any grouping, a
  landline written in groups ``02 123 45 67``) or international (``+`` and 7 to 15
  digits, or ``00``, a country code, a separator and the number);
- a Belgian IBAN (``BE`` and 14 digits, grouped or not) with valid check digits.

Cells are read after Unicode NFKC (full-width digits, no-break spaces) with zero-width
characters removed. A number counts only on its own: not inside a longer run of
letters and digits (a pseudonym such as ``a85010112345f`` is no national number).

A row with such a value gets a reason naming the column and the kind, never the value.
The file is rejected whole when more than ``MAX_SHARE`` of its rows have one, or when
any identifier column of the contract (``dossier_id``, ``person_id``,
``annex_parent_id``) has one: the extract is then not anonymised. ``redacted``
replaces each such cell, so the value is neither checked, quoted in a reason nor
stored with a quarantined row.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.errors import ExtractError

MAX_SHARE = 0.01  # more than this share of rows with an identifier value: file rejected
ID_COLUMNS = ("dossier_id", "person_id", "annex_parent_id")
ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e]"

NATIONAL_NUMBER = "national register number"
EMAIL = "e-mail address"
PHONE = "phone number"
IBAN = "IBAN"
KINDS = (NATIONAL_NUMBER, EMAIL, PHONE, IBAN)

# A number stands on its own: no letter or digit right before or after it (``_`` is
# read as a space for the numbers, so ``rrn_85010112345`` is found).
# (An ASCII word boundary: regex's fast engines take it, not the Unicode one; a
# non-ASCII letter next to a number is then a boundary, which finds more, not less.)
_BEFORE = _AFTER = r"(?-u:\b)"
_SEP = r"[ ./-]"
NATIONAL_NUMBER_PATTERN = (
    _BEFORE + rf"[0-9]{{2}}{_SEP}?[0-9]{{2}}{_SEP}?[0-9]{{2}}{_SEP}?[0-9]{{3}}{_SEP}?[0-9]{{2}}"
    + _AFTER
)  # fmt: skip
IBAN_PATTERN = _BEFORE + r"(?i:BE)[0-9]{2}(?: ?[0-9]{4}){3}" + _AFTER
EMAIL_PATTERN = (
    r"[\p{L}\p{N}._%+\-]+"
    r"(?:@|\s?[\[(]\s?(?i:at)\s?[\])]\s?)"
    r"[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}"
)
PHONE_PATTERN = "|".join(
    (
        # Belgian, international form: +32 475 12 34 56, 0032 2 123 45 67, +32 (0)475…
        r"(?:\+|" + _BEFORE + r"00) ?32" + rf"{_SEP}?(?:\(0\){_SEP}?)?[1-9](?:{_SEP}?[0-9]){{7,8}}"
        + _AFTER,
        # Belgian mobile: 0475 12 34 56, 0475/12.34.56, 0475123456
        _BEFORE + rf"04[5-9][0-9](?:{_SEP}?[0-9]){{6}}" + _AFTER,
        # Belgian landline in groups: 02 123 45 67, 050/12.34.56
        _BEFORE + rf"0[1-9]{_SEP}[0-9]{{3}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}" + _AFTER,
        _BEFORE + rf"0[1-9][0-9]{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}" + _AFTER,
        # international: +44 20 7946 0958, +1 (555) 123-4567, 0033 6 12 34 56 78
        r"\+ ?[1-9](?:[ ./()-]{0,2}[0-9]){6,14}" + _AFTER,
        _BEFORE + rf"00[1-9][0-9]{{0,2}}{_SEP}[0-9](?:{_SEP}?[0-9]){{7,12}}" + _AFTER,
    )
)  # fmt: skip


# Anything shaped like one of them, matched once per column over all its cells
# (joined by line breaks): a superset of the exact patterns, cheaper to scan.
_EDGE = r"(?:^|[^A-Za-z0-9])"
SHAPED_PATTERN = "|".join(
    (
        "@",
        r"(?i:[(\[]\s?at\s?[)\]])",
        r"\+ ?[0-9]",
        _EDGE + r"[0-9](?:[ ./()_-]{0,2}[0-9]){8}",
        _EDGE + r"(?i:BE)[0-9]{2}",
    )
)
REASON_NAME = "identifier_reason"
REASON_PREFIX = "identifier-looking value, not stored: "


def _normalised(column: str) -> pl.Expr:
    return pl.col(column).str.normalize("NFKC").str.replace_all(ZERO_WIDTH, "")


def _digits(candidate: pl.Expr) -> pl.Expr:
    return candidate.str.replace_all(r"[^0-9]", "").cast(pl.Int64, strict=False)


def _valid_national_number(number: pl.Expr) -> pl.Expr:
    """The 11-digit number's check digits and date part are those of a real one."""
    base, check = number // 100, number % 100
    before_2000 = 97 - base % 97 == check
    from_2000 = 97 - (base + 2_000_000_000) % 97 == check
    month, day = (base // 100_000) % 100, (base // 1000) % 100
    plausible = (month % 20 <= 12) & (month <= 52) & (day <= 31)
    return (before_2000 | from_2000) & plausible


def _valid_iban(number: pl.Expr) -> pl.Expr:
    """``BEkk`` + 12 digits: the rearranged number (BBAN, B=11, E=14, kk) mod 97 is 1."""
    check, bban = number // 1_000_000_000_000, number % 1_000_000_000_000
    return (bban * 1_000_000 + 111_400 + check) % 97 == 1


def _any_valid(text: pl.Expr, pattern: str, valid) -> pl.Expr:
    found = text.str.extract_all(pattern)
    return found.list.eval(valid(_digits(pl.element()))).list.any().fill_null(False)


def kind_found(text: pl.Expr, kind: str) -> pl.Expr:
    """Whether the (normalised) text holds an identifier value of ``kind``."""
    if kind in (NATIONAL_NUMBER, IBAN, PHONE):
        text = text.str.replace_all("_", " ", literal=True)
    if kind == NATIONAL_NUMBER:
        return _any_valid(text, NATIONAL_NUMBER_PATTERN, _valid_national_number)
    if kind == IBAN:
        return _any_valid(text, IBAN_PATTERN, _valid_iban)
    if kind == EMAIL:
        return text.str.contains(EMAIL_PATTERN).fill_null(False)
    if kind == PHONE:
        return text.str.contains(PHONE_PATTERN).fill_null(False)
    raise ValueError(f"unknown kind of identifier: {kind}")


def _hit_name(column: str, kind: str) -> str:
    return f"{column}\x1f{kind}"


@dataclass(frozen=True)
class IdentifierValues:
    """What ``screen`` found in one frame."""

    reasons: pl.Series  # per row, aligned with the frame: null, or what was found where
    found: dict[str, tuple[str, ...]]  # column -> kinds found in it, in frame order
    rows: int  # rows with at least one identifier value
    height: int  # rows screened
    redacted: pl.DataFrame  # the frame with every identifier-looking cell replaced

    @property
    def rejection(self) -> IdentifierValuesError | None:
        """The file's verdict: an error to reject it with, or None (``file_verdict``)."""
        return file_verdict(self)


class IdentifierValuesError(ExtractError):
    """The file holds identifier-looking values: it is not anonymised."""

    def __init__(self, found: dict[str, tuple[str, ...]], rows: int, height: int):
        self.found = found
        where = "; ".join(f"{column}: {', '.join(kinds)}" for column, kinds in found.items())
        super().__init__(
            "rejected before anything was stored: "
            f"{rows} of {height} rows hold values that look like direct identifiers "
            f"({where}). Extracts must be anonymised; remove these values (or replace "
            "them by pseudonyms) and deliver the file again.",
            kind="identifiers",
            rows=height,
        )


def removed(kind: str) -> str:
    """What a redacted cell holds instead of the value."""
    return f"[removed: {kind}]"


def text_columns(frame: pl.DataFrame) -> list[str]:
    return [name for name, dtype in frame.schema.items() if dtype == pl.String]


def screen(frame: pl.DataFrame, columns: list[str] | None = None) -> IdentifierValues:
    """Every text cell of ``frame`` (or of ``columns``) screened.

    Vectorised, in two passes. First each column's cells joined into one text: does
    it hold non-ASCII characters (then it is normalised) and anything shaped like an
    identifier at all? Most columns hold none, so a clean file costs about one copy of
    its text. Then the exact checks, check digits included, cell by cell in the
    columns that do.
    """
    columns = text_columns(frame) if columns is None else columns
    if not columns or not frame.height:
        return _nothing(frame)
    joined = frame.select(pl.col(c).str.join("\n") for c in columns)
    non_ascii = joined.select(
        pl.col(c).str.len_bytes() != pl.col(c).str.len_chars() for c in columns
    ).row(0, named=True)
    text = {c: _normalised(c) if non_ascii[c] else pl.col(c) for c in columns}
    shaped = joined.select(text[c].str.contains(SHAPED_PATTERN) for c in columns).row(0, named=True)
    suspects = [c for c in columns if shaped[c]]
    if not suspects:
        return _nothing(frame)
    hits = frame.select(
        kind_found(text[c], kind).alias(_hit_name(c, kind)) for c in suspects for kind in KINDS
    )
    counts = hits.select(pl.all().sum()).row(0, named=True)
    found: dict[str, tuple[str, ...]] = {}
    for column in suspects:
        kinds = tuple(k for k in KINDS if counts[_hit_name(column, k)])
        if kinds:
            found[column] = kinds
    if not found:
        return _nothing(frame)
    parts = [
        pl.when(pl.col(_hit_name(column, kind))).then(pl.lit(f"{column} ({kind})"))
        for column, kinds in found.items()
        for kind in kinds
    ]
    listed = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    any_hit = pl.any_horizontal(pl.col(_hit_name(c, k)) for c, ks in found.items() for k in ks)
    reasons = hits.select(
        pl.when(any_hit).then(pl.lit(REASON_PREFIX) + listed).alias(REASON_NAME)
    ).to_series()
    replaced = []
    for column, kinds in found.items():
        cell = pl.col(column)
        for kind in reversed(kinds):  # the first kind found names the removed cell
            hit = hits[_hit_name(column, kind)]
            cell = pl.when(hit).then(pl.lit(removed(kind))).otherwise(cell)
        replaced.append(cell.alias(column))
    rows = reasons.len() - reasons.null_count()
    return IdentifierValues(reasons, found, rows, frame.height, frame.with_columns(replaced))


def _nothing(frame: pl.DataFrame) -> IdentifierValues:
    reasons = pl.Series(REASON_NAME, [None] * frame.height, dtype=pl.String)
    return IdentifierValues(reasons, {}, 0, frame.height, frame)


def identifier_value_problems(frame: pl.DataFrame) -> pl.Series:
    """Per row (aligned with ``frame``): null, or which columns hold which kind of
    identifier-looking value (``person_id (national register number), …``; never the
    value itself)."""
    return screen(frame).reasons


def file_verdict(
    found: IdentifierValues | pl.DataFrame, *, max_share: float = MAX_SHARE
) -> IdentifierValuesError | None:
    """The error to reject the whole file with, or None when its rows can be judged.

    Rejected when more than ``max_share`` of the rows hold an identifier value, or when
    any of ``ID_COLUMNS`` does. ``found`` is ``screen(frame)`` (or the frame itself).
    """
    if isinstance(found, pl.DataFrame):
        found = screen(found)
    if not found.rows:
        return None
    if found.rows > max_share * found.height or any(c in found.found for c in ID_COLUMNS):
        return IdentifierValuesError(found.found, found.rows, found.height)
    return None
