"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.warehouse import connect


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory):
    """A small demo warehouse (households, repeat returners, every table's period),
    loaded straight from the typed demo files: the ingest path is tested elsewhere."""
    from data_contracts.demo import write_demo_extracts

    folder = tmp_path_factory.mktemp("demo")
    paths = write_demo_extracts(
        folder / "extracts", seed=5, scale=0.03, file_format="parquet", defect_rate=0.0
    )
    persons = pl.concat([pl.read_parquet(p) for p in paths], how="vertical_relaxed").unique(
        ["dossier_id", "person_id"], keep="last", maintain_order=True
    )  # a later extract supersedes a person's row, as in ingest
    db = folder / "demo.duckdb"
    with connect(db) as con:
        con.register("persons", persons)
        con.execute(
            "INSERT INTO dossier_persons BY NAME "
            "SELECT *, 0 AS file_id, 'demo' AS source_file, 0 AS source_row FROM persons"
        )
    return db
