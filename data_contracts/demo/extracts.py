"""What one monthly extract shows: corrections, defects and the file's dialect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.demo.plan import FIRST_YEAR, N_MONTHS
from data_contracts.row_model import COLUMNS, Kind, columns_of

BOOL_COLUMNS = columns_of(Kind.BOOL)
FLAG_COLUMNS = columns_of(Kind.FLAG)
DATE_COLUMNS = columns_of(Kind.DATE)
MONEY_COLUMNS = columns_of(Kind.MONEY)
PAID_COLUMNS = MONEY_COLUMNS[1:]

STATUS_CORRECTION_SHARE = 0.012  # departed dossiers first shown as registered
FLAG_CORRECTION_SHARE = 0.05  # dossiers with a medical/pregnancy flag first shown without
BOOL_SPELLINGS = (
    ("true", "false"),
    ("TRUE", "FALSE"),
    ("1", "0"),
    ("ja", "nee"),
    ("Ja", "Nee"),
    ("oui", "non"),
    ("yes", "no"),
    ("Yes", "No"),
)
BAD_COUNTRY_CODES = ("KOS", "BRZ", "MOL", "UK", "XXX")
BAD_ENUMS = (
    ("dossier_status", "vertrokken"),
    ("dossier_status", "departed_ok"),
    ("residence_status", "illegaal"),
    ("residence_status", "irregulier"),
    ("sex", "V"),
)


@dataclass(frozen=True)
class Dialect:
    """How one CSV file is spelled (the way its source system exports)."""

    separator: str
    decimal_comma: bool
    encoding: str  # "utf-8" or "latin-1"
    bom: bool
    true: str
    false: str
    empty_false_flags: bool  # vulnerability flags: false written as an empty cell
    date_format: str
    fixed_decimals: bool  # 350.00 rather than 350


def dialect_for(seed: int, m: int) -> Dialect:
    """Deterministic per (seed, month). 2019: old spreadsheet exports (;, 1234,50, Latin-1)."""
    rng = np.random.default_rng([seed, m, 2])
    true, false = BOOL_SPELLINGS[int(rng.integers(len(BOOL_SPELLINGS)))]
    empty_flags = bool(rng.random() < 0.5)
    fixed = bool(rng.random() < 0.7)
    if FIRST_YEAR + m // 12 == FIRST_YEAR:
        return Dialect(";", True, "latin-1", False, "ja", "nee", empty_flags, "%d/%m/%Y", fixed)
    semicolon = bool(rng.random() < 0.25)
    bom = bool(rng.random() < 0.2)
    dmy = bool(rng.random() < 0.15)
    return Dialect(
        ";" if semicolon else ",",
        semicolon,
        "utf-8",
        bom,
        true,
        false,
        empty_flags,
        "%d/%m/%Y" if dmy else "%Y-%m-%d",
        fixed,
    )


def split_corrections(
    truth: pl.DataFrame, m: int, seed: int
) -> tuple[pl.DataFrame, dict[int, pl.DataFrame]]:
    """Decide which dossiers this month's extract shows wrongly, to be corrected later.

    Returns the frame as this extract shows it and, per later month, the true rows
    of the dossiers that a later re-extract repeats (all persons of the dossier).
    """
    rng = np.random.default_rng([seed, m, 3])
    dossier = truth["_dossier"].to_numpy()
    n_d = int(dossier.max()) + 1 if len(dossier) else 0
    departed = np.bincount(dossier, weights=truth["_departed"].to_numpy(), minlength=n_d) > 0
    flagged = (
        np.bincount(
            dossier,
            weights=(truth["medical_basic"] | truth["pregnant"]).to_numpy(),
            minlength=n_d,
        )
        > 0
    )
    u = rng.random(n_d)
    delay = rng.integers(1, 4, n_d)
    status_fix = departed & (u < STATUS_CORRECTION_SHARE) & (m + 2 < N_MONTHS)
    flag_fix = (
        flagged & ~status_fix & (rng.random(n_d) < FLAG_CORRECTION_SHARE) & (m + delay < N_MONTHS)
    )
    later: dict[int, list[pl.DataFrame]] = {}
    for fix, when in ((status_fix, np.full(n_d, 2)), (flag_fix, delay)):
        for k in np.unique(when[fix]):
            rows = pl.Series((fix & (when == k))[dossier])
            later.setdefault(m + int(k), []).append(truth.filter(rows))
    sf = pl.Series(status_fix[dossier])
    ff = pl.Series(flag_fix[dossier])
    planned = pl.Series(truth["_planned_departure"].to_numpy().astype(np.int32)).cast(pl.Date)
    shown = truth.with_columns(
        pl.when(sf)
        .then(pl.lit("registered"))
        .otherwise(pl.col("dossier_status"))
        .alias("dossier_status"),
        pl.when(sf)
        .then(pl.max_horizontal(planned, pl.col("registration_date")))
        .otherwise(pl.col("departure_date"))
        .alias("departure_date"),
        *(pl.when(sf).then(None).otherwise(pl.col(c)).alias(c) for c in PAID_COLUMNS),
        *(pl.col(c) & ~ff for c in ("medical_basic", "pregnant")),
    )
    return shown, {k: pl.concat(v) for k, v in later.items()}


def add_defects(frame: pl.DataFrame, m: int, seed: int, rate: float, typed: bool) -> pl.DataFrame:
    """Row-level errors the contract must reject; own random stream, so the rest of
    the data is the same whatever ``rate`` is. Adds ``_bad_date`` for the renderer."""
    n = frame.height
    rng = np.random.default_rng([seed, m, 4])
    hit = rng.random(n) < rate
    kind = rng.integers(0, 5, n)
    if typed:
        kind = np.where(kind == 3, 4, kind)  # a typed date cannot be malformed
    # age 130 only on adults: a child of 130 would break a cross-row rule too
    kind = np.where((kind == 1) & (frame["role"] == "child").to_numpy(), 0, kind)
    pick = rng.integers(0, 1 << 30, n)
    k = [pl.Series(hit & (kind == i)) for i in range(5)]
    enum_column = np.array([c for c, _ in BAD_ENUMS])[pick % len(BAD_ENUMS)]
    enum_value = pl.Series(np.array([v for _, v in BAD_ENUMS])[pick % len(BAD_ENUMS)])
    enum_columns = dict.fromkeys(c for c, _ in BAD_ENUMS)
    enum_hits = {c: pl.Series(hit & (kind == 4) & (enum_column == c)) for c in enum_columns}
    back = pl.duration(days=pl.Series(1 + pick % 20))
    return frame.with_columns(
        pl.when(k[0])
        .then(pl.Series(np.array(BAD_COUNTRY_CODES)[pick % len(BAD_COUNTRY_CODES)]))
        .otherwise(pl.col("return_country"))
        .alias("return_country"),
        pl.when(k[1])
        .then(130)
        .otherwise(pl.col("age_at_registration"))
        .alias("age_at_registration"),
        pl.when(k[2])
        .then(pl.col("registration_date") - back)
        .otherwise(pl.col("departure_date"))
        .cast(pl.Date)
        .alias("departure_date"),
        k[3].alias("_bad_date"),
        *(
            pl.when(hits).then(enum_value).otherwise(pl.col(c)).alias(c)
            for c, hits in enum_hits.items()
        ),
    )


def _money(column: str, d: Dialect) -> pl.Expr:
    cents = pl.col(column)
    euros = (cents // 100).cast(pl.String)
    full = pl.concat_str(
        [euros, pl.lit("," if d.decimal_comma else "."), (cents % 100).cast(pl.String).str.zfill(2)]
    )
    if not d.fixed_decimals:
        full = pl.when(cents % 100 == 0).then(euros).otherwise(full)
    return full.alias(column)


def render_csv(frame: pl.DataFrame, d: Dialect) -> pl.DataFrame:
    """All columns as the strings this file's source system writes."""

    def spelled(column: str, empty_false: bool) -> pl.Expr:
        c = pl.col(column)
        false = None if empty_false else pl.lit(d.false)
        return pl.when(c).then(pl.lit(d.true)).when(~c).then(false).alias(column)

    bad_date = pl.col("registration_date").dt.strftime(d.date_format.replace("%m", "13"))
    out = frame.with_columns(
        *(pl.col(c).dt.strftime(d.date_format) for c in DATE_COLUMNS),
        *(_money(c, d) for c in MONEY_COLUMNS),
        *(spelled(c, False) for c in BOOL_COLUMNS),
        *(spelled(c, d.empty_false_flags) for c in FLAG_COLUMNS),
        pl.col("age_at_registration").cast(pl.String),
    )
    bad = frame["_bad_date"]
    if bad.any():
        out = out.with_columns(
            pl.when(bad)
            .then(frame.select(bad_date).to_series())
            .otherwise(pl.col("registration_date"))
            .alias("registration_date")
        )
    return out.select(COLUMNS)


def write_csv(frame: pl.DataFrame, d: Dialect, path: Path) -> None:
    rendered = render_csv(frame, d)
    if d.encoding == "utf-8":
        rendered.write_csv(path, separator=d.separator, include_bom=d.bom)
    else:  # the old Latin-1 spreadsheet exports (never with a BOM)
        path.write_bytes(rendered.write_csv(separator=d.separator).encode(d.encoding))


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Typed columns: dates as Date, bools as Boolean, age as Int16, money as Decimal(12, 2)."""
    money = (
        pl.concat_str(
            [
                (pl.col(c) // 100).cast(pl.String),
                pl.lit("."),
                (pl.col(c) % 100).cast(pl.String).str.zfill(2),
            ]
        )
        .cast(pl.Decimal(12, 2))
        .alias(c)
        for c in MONEY_COLUMNS
    )
    frame.with_columns(*money, pl.col("age_at_registration").cast(pl.Int16)).select(
        COLUMNS
    ).write_parquet(path, statistics=True)
