"""The DuckDB warehouse: where it lives, its tables, and how to open it.

One file by default (``data/reab.duckdb`` under the working directory, or
``$REAB_DB``). DuckDB allows one writer per file: the writing verbs and assets open
it one at a time.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.row_checks import MONEY_DTYPE
from data_contracts.row_model import Kind, field_specs

DEFAULT_DB = Path("data") / "reab.duckdb"
DEFAULT_LANDING = Path("data") / "landing"
DEFAULT_MEMORY_LIMIT = "512MB"

SQL_TYPES = {
    Kind.TEXT: "VARCHAR",
    Kind.CHOICE: "VARCHAR",
    Kind.COUNTRY: "VARCHAR",
    Kind.WHOLE_NUMBER: "SMALLINT",
    Kind.DATE: "DATE",
    Kind.BOOL: "BOOLEAN",
    Kind.FLAG: "BOOLEAN",
    Kind.MONEY: f"DECIMAL({MONEY_DTYPE.precision}, {MONEY_DTYPE.scale})",
}


def default_db_path() -> Path:
    return Path(os.environ.get("REAB_DB") or DEFAULT_DB)


def memory_limit() -> str:
    """DuckDB's memory cap for our connections (``$REAB_DB_MEMORY_LIMIT``, e.g. ``4GB``).

    DuckDB's own default is 80 % of the machine; ours keeps a warehouse run (polars
    working memory included) near 2 GiB. Larger queries spill to ``<db>.tmp``.
    """
    return os.environ.get("REAB_DB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


def default_landing_path() -> Path:
    return Path(os.environ.get("REAB_LANDING") or DEFAULT_LANDING)


def _person_columns_sql() -> str:
    return ",\n    ".join(f"{spec.name} {SQL_TYPES[spec.kind]}" for spec in field_specs())


SCHEMA = f"""
CREATE SEQUENCE IF NOT EXISTS ingested_files_seq START 1;
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id INTEGER PRIMARY KEY DEFAULT nextval('ingested_files_seq'),
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL UNIQUE,
    file_format VARCHAR,
    dialect VARCHAR,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_new BIGINT NOT NULL,
    rows_superseding BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    dataset_validation VARCHAR,
    ingested_at TIMESTAMP NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS dossier_persons (
    {_person_columns_sql()},
    file_id INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    file_id INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    raw_values VARCHAR
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


@contextmanager
def connect(db_path: str | Path | None = None, *, read_only: bool = False):
    """Open the warehouse (creating its folder and tables when writing)."""
    path = Path(db_path) if db_path else default_db_path()
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; run `reab ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(path), read_only=read_only, config={"memory_limit": memory_limit()}
        )
    except (duckdb.ParserException, duckdb.InvalidInputException) as exc:
        raise ValueError(f"REAB_DB_MEMORY_LIMIT={memory_limit()!r}: {exc}") from exc
    try:
        if not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple | None:
    """First row of a query, with the result consumed.

    duckdb 2.0 leaves a result open after ``fetchone()`` and refuses further work on
    the connection until it is drained, so single-row reads go through here.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    row = fetch_one(con, sql, params)
    return row[0] if row else None


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        scalar(
            con, "SELECT count(*) FROM information_schema.tables WHERE table_name = $t", {"t": name}
        )
    )


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame):
    """The frames visible to SQL under the given names for the ``with`` block only."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield con
    finally:
        for name in frames:
            con.unregister(name)


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pl.DataFrame:
    """A query's result as polars (duckdb 2.0 has ``.pl()`` on relations only)."""
    return con.sql(sql, params=params).pl()


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Create or replace table ``name`` with the rows of ``frame``."""
    with registered(con, new_rows=frame):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM new_rows")


def cents_as_eur(column: str, alias: str | None = None, scale: str = "DECIMAL(16, 2)") -> str:
    """SQL for integer cents as exact EUR (``DECIMAL``): no float on the way."""
    return (
        f"(CAST({column} AS DECIMAL(18, 0)) * CAST(0.01 AS DECIMAL(3, 2)))::{scale}"
        f" AS {alias or column}"
    )


def forecast_money_sql(bounds) -> str:
    """The ``mean`` and interval bound columns of a forecast table, cents as EUR."""
    return ", ".join([cents_as_eur("mean_cents", "mean")] + [cents_as_eur(b) for b in bounds])
