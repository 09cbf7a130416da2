"""Shared by the notebooks: table display settings and ``show`` (importable because a
notebook runs with its own folder on the path, in Jupyter and as a script)."""

from __future__ import annotations

import polars as pl


def configure_tables(width: int = 160, strings: int = 110) -> None:
    """Readable polars tables: thousands separators, no dtype rows, wide enough."""
    pl.Config.set_thousands_separator(",")
    pl.Config.set_tbl_cell_numeric_alignment("RIGHT")
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_rows(40)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(width)
    pl.Config.set_fmt_str_lengths(strings)


def show(frame: pl.DataFrame) -> None:
    """A table: rendered in Jupyter, printed when the notebook runs as a script."""
    try:
        from IPython.display import display
    except ImportError:
        print(frame)
    else:
        display(frame)
