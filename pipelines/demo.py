"""A demo warehouse loaded straight from the typed demo files, for tests and benchmarks.

The generator's Parquet files are typed by the contract, so they go into
``dossier_persons`` directly (about 1 s at scale 1, against ~50 s through the ingest
and its checks, which are tested and benchmarked on their own). A later extract
supersedes a person's row, as in the ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.demo import DEFAULT_SURGES, Surge, write_demo_extracts
from pipelines.warehouse import connect, registered


def build_demo_warehouse(
    folder: Path, seed: int = 0, scale: float = 1.0, surges: Sequence[Surge] = DEFAULT_SURGES
) -> Path:
    """Write the demo extracts under ``folder`` and load them into a new
    ``folder / "demo.duckdb"``; returns the database path. An existing one is refused:
    loading again would append every person a second time."""
    db = folder / "demo.duckdb"
    if db.exists():
        raise FileExistsError(f"{db} exists: build the demo warehouse into a new folder")
    paths = write_demo_extracts(
        folder / "extracts",
        seed=seed,
        scale=scale,
        file_format="parquet",
        defect_rate=0.0,
        surges=surges,
    )
    persons = pl.concat([pl.read_parquet(p) for p in paths], how="vertical_relaxed").unique(
        ["dossier_id", "person_id"], keep="last", maintain_order=True
    )
    with connect(db) as con:
        insert_typed_persons(con, persons, "demo")
    return db


def insert_typed_persons(
    con: duckdb.DuckDBPyConnection, persons: pl.DataFrame, source_file: str
) -> None:
    """Append rows already typed by the contract to ``dossier_persons``, unchecked."""
    with registered(con, persons=persons):
        con.execute(
            "INSERT INTO dossier_persons BY NAME SELECT *, 0 AS file_id, "
            "$source AS source_file, 0 AS source_row FROM persons",
            {"source": source_file},
        )
