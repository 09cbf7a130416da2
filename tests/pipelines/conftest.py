"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

import pytest

from pipelines.demo import build_demo_warehouse


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory):
    """A small demo warehouse (households, repeat returners, every table's period),
    loaded straight from the typed demo files: the ingest path is tested elsewhere."""
    return build_demo_warehouse(tmp_path_factory.mktemp("demo"), seed=5, scale=0.03)


@pytest.fixture
def demo_copy(demo_warehouse, tmp_path):
    """A writable copy of the shared demo warehouse."""
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_warehouse.read_bytes())
    return db
