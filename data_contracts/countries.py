"""Country reference data: a versioned copy of ``shared/domain/countries.csv``.

The product never reads ``shared/`` at run time; this copy is the one it uses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

COUNTRIES_CSV = Path(__file__).parent / "reference" / "countries.csv"
ATTRIBUTE_COLUMNS = ("eu_member", "eu15", "eea_or_ch", "visa_required", "latin_america", "balkans")


@cache
def countries() -> pl.DataFrame:
    """One row per ISO 3166-1 alpha-3 code (plus XKX Kosovo and STA stateless)."""
    frame = pl.read_csv(COUNTRIES_CSV, infer_schema=False)
    return frame.with_columns(pl.col(c) == "True" for c in ATTRIBUTE_COLUMNS)


@cache
def country_codes() -> frozenset[str]:
    return frozenset(countries()["iso3"].to_list())
