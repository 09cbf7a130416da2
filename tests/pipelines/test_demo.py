"""The demo warehouse loader (tests and benchmarks build on it)."""

from __future__ import annotations

import pytest

from pipelines.demo import build_demo_warehouse
from pipelines.warehouse import connect


def test_building_twice_into_one_folder_is_refused_and_loses_nothing(tmp_path):
    """A second build would append every person again (each dossier counted twice, and
    more in joins): refused, naming the file, with the first warehouse unchanged."""
    db = build_demo_warehouse(tmp_path, seed=1, scale=0.01)
    with connect(db, read_only=True) as con:
        before = con.execute("SELECT count(*) FROM dossier_persons").fetchone()[0]
    with pytest.raises(FileExistsError, match="demo.duckdb exists"):
        build_demo_warehouse(tmp_path, seed=1, scale=0.01)
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dossier_persons").fetchone()[0] == before > 0
