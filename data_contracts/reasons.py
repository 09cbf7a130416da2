"""Quarantine reasons shown without the cell values they quote.

A reason names the column and the rule and quotes the offending cell, e.g.
``age_at_registration: '130' is above the maximum 120`` or ``annex_parent_id 'P12'
is not a person in the same dossier``. The quarantine keeps it whole (for the person
who reviews the rows); wherever a reason is printed for a wider audience (the ingest's
preview, the management report), the quoted value — perhaps an identifier — is left
out: ``age_at_registration: '…' is above the maximum 120``.

Every quoted value in a reason is followed by `` is ``; matching up to that, rather
than up to the next quote, also hides a value that itself contains a quote.
"""

from __future__ import annotations

import re

# (?s): a value may span lines (a quoted cell with a line break).
QUOTED_VALUE = r"(?s)'.*?' is "
ELIDED = "'…' is "
_QUOTED = re.compile(QUOTED_VALUE)


def without_values(reason: str) -> str:
    """The reason with every quoted cell value replaced by ``'…'``."""
    return _QUOTED.sub(ELIDED, reason)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def without_values_sql(column: str) -> str:
    """The same as ``without_values``, as a DuckDB expression over ``column``."""
    return f"regexp_replace({column}, {_sql_text(QUOTED_VALUE)}, {_sql_text(ELIDED)}, 'g')"
