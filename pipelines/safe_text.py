"""Text from the data made safe for where it is shown.

- ``for_terminal``: a line for the terminal with every control character but newline
  and tab shown escaped (``\\x1b``), so that a file name or a stored value holding an
  escape sequence (ESC[2J clears the screen) or a bidirectional override is printed,
  never obeyed.
- ``for_spreadsheet`` / ``spreadsheet_safe``: a text cell that a spreadsheet would take
  for a formula (it starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets
  a leading ``'`` (OWASP, CSV injection). Numbers are not text: they stay numbers.
"""

from __future__ import annotations

import re

import polars as pl

# C0 controls but tab and newline, DEL, C1 controls; the Unicode bidirectional
# controls (they reorder what is shown: "Trojan source"); lone surrogates (an
# undecodable byte of a file name, which print() cannot encode).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """``text`` with the characters that would steer the terminal shown escaped."""
    return _UNSAFE.sub(_escaped, str(text))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_RE = r"^[=+\-@\t\r]"


def for_spreadsheet(text: str) -> str:
    """A text cell that no spreadsheet reads as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``for_spreadsheet`` applied to its text columns (others unchanged)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START_RE))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )
