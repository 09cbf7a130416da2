"""The warehouse resource: DuckDB through dagster-duckdb, with explicit SQL only.

(dagster-duckdb-polars calls ``.arrow()``, which duckdb 2.0 removed; we read and
write with SQL and ``.pl()`` instead.)
"""

from contextlib import contextmanager
from pathlib import Path

from dagster_duckdb import DuckDBResource

from pipelines.warehouse import default_db_path, ensure_schema, memory_limit


class WarehouseResource(DuckDBResource):
    """DuckDB warehouse file; creates its folder and tables on first use."""

    @contextmanager
    def get_connection(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as con:
            ensure_schema(con)
            yield con


def default_warehouse() -> WarehouseResource:
    return WarehouseResource(
        database=str(default_db_path().resolve()),
        connection_config={"memory_limit": memory_limit()},
    )
