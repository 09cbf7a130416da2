"""The one error type the extract readers and checks raise for a bad file."""

from __future__ import annotations


class ExtractError(Exception):
    """A file that cannot be read, or must be rejected whole.

    The message is written for the person who delivered the file: it says what is
    wrong and, where possible, how to fix it.
    """

    def __init__(self, message: str, *, kind: str = "unreadable", rows: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.rows = rows


class IdentifierColumnsError(ExtractError):
    """The file carries columns that look like direct identifiers (PII)."""

    def __init__(self, columns: list[str], rows: int | None = None):
        self.columns = columns
        super().__init__(
            "rejected before anything was stored: the file has columns that look like "
            f"direct identifiers ({', '.join(columns)}). Extracts must be anonymised; "
            "remove these columns and deliver the file again.",
            kind="identifiers",
            rows=rows,
        )
