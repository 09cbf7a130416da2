"""Small helpers that make run metadata readable in the Dagster UI."""

from __future__ import annotations

import polars as pl


def markdown_table(frame: pl.DataFrame, limit: int = 20) -> str:
    """A Markdown table of the first rows (no extra dependency)."""
    if frame.is_empty():
        return "_no rows_"
    head = frame.head(limit)
    cells = [
        [("" if v is None else str(v)).replace("|", "\\|") for v in row] for row in head.rows()
    ]
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * head.width]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)
