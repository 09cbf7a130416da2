"""Spellings the extract contract accepts for one cell, in plain Python.

These functions are the reference meaning of a raw cell. The vectorised checks in
``row_checks`` implement the same meaning with polars expressions; a property test
keeps the two in agreement.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

# Stripped around every cell; the same set in the vectorised checks.
WHITESPACE = " \t\r\n\u00a0"
TRUE_SPELLINGS = ("true", "1", "ja", "oui", "yes")
FALSE_SPELLINGS = ("false", "0", "nee", "non", "no")

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BELGIAN_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
WHOLE_NUMBER = re.compile(r"\d{1,4}")
# A control character: C0 except tab, DEL, and C1 (what a cp1252 byte without a glyph
# becomes). No cell may hold one inside (NUL, line breaks, terminal escapes); the same
# pattern is used by the vectorised checks (Rust regex) and to mask values in reasons.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
CONTROL_CHARACTER_PROBLEM = "holds a control character (NUL, line break, escape, …)"
# Money: digits with at most two decimals after normalisation to a decimal point.
MONEY = re.compile(r"\d{1,12}(\.\d{1,2})?")
# A dot-grouped amount such as 1.234 or 12.345.678 (thousands separators).
DOT_GROUPED = re.compile(r"\d{1,3}(\.\d{3})+")


def clean_text(raw: object) -> str | None:
    """Strip white space; an empty cell is ``None`` (unknown)."""
    if raw is None:
        return None
    text = str(raw).strip(WHITESPACE)
    return text or None


def no_control_characters(text: str | None) -> str | None:
    """A text cell as is, unless it holds a control character (tab excepted)."""
    if text is not None and CONTROL_CHARACTER.search(text):
        raise ValueError(f"the value {CONTROL_CHARACTER_PROBLEM}")
    return text


def parse_bool(raw: object) -> bool | None:
    text = clean_text(raw)
    if text is None:
        return None
    if isinstance(raw, bool):
        return raw
    lowered = text.lower()
    if lowered in TRUE_SPELLINGS:
        return True
    if lowered in FALSE_SPELLINGS:
        return False
    raise ValueError(
        f"'{text}' is not a yes/no value (accepted: {'/'.join(TRUE_SPELLINGS)} "
        f"or {'/'.join(FALSE_SPELLINGS)})"
    )


def parse_date(raw: object) -> date | None:
    if isinstance(raw, date):
        return raw
    text = clean_text(raw)
    if text is None:
        return None
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if BELGIAN_DATE.fullmatch(text):
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"'{text}' is not a calendar date") from None
    raise ValueError(f"'{text}' is not a date in YYYY-MM-DD or DD/MM/YYYY")


def parse_whole_number(raw: object) -> int | None:
    text = clean_text(raw)
    if text is None:
        return None
    if not WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"'{text}' is not a whole number")
    return int(text)


def normalise_money(text: str, semicolon_file: bool) -> str:
    """Turn a Belgian or international spelling of an amount into ``123.45``.

    A comma is a decimal comma (dots before it are thousands separators). In a
    ``;``-delimited file a dot-grouped value such as ``1.234`` is read as thousands,
    as Belgian spreadsheets write it.
    """
    text = text.replace(" ", "").replace("\u00a0", "")
    if "," in text:
        return text.replace(".", "").replace(",", ".")
    if semicolon_file and DOT_GROUPED.fullmatch(text):
        return text.replace(".", "")
    return text


def parse_money(raw: object, semicolon_file: bool = False) -> Decimal | None:
    if isinstance(raw, Decimal):
        return raw
    text = clean_text(raw)
    if text is None:
        return None
    normalised = normalise_money(text, semicolon_file)
    if not MONEY.fullmatch(normalised):
        raise ValueError(
            f"'{text}' is not an amount in EUR (digits, at most two decimals, no sign)"
        )
    return Decimal(normalised)


def canonical_choice(raw: object, choices: tuple[str, ...]) -> str | None:
    """Match an enumerated value case-insensitively and return its canonical spelling."""
    text = clean_text(raw)
    if text is None:
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    try:
        return by_lower[text.lower()]
    except KeyError:
        raise ValueError(f"'{text}' is not one of {', '.join(choices)}") from None
