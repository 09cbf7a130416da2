"""Which derived tables are missing or stale, so that ``reab update`` rebuilds only those.

Every build of a derived table records, in ``asset_builds``, what it was built from:
the version of the dossiers (how many person rows, the newest file among them) and the
version of the rules (a hash of the parameter and scenario files). A table is *stale*
when either moved since, or when a table it is built from was rebuilt after it; it is
*missing* when it or its build record does not exist. (Code changes are not tracked:
after changing the code, rebuild with ``reab run`` or the Dagster UI.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.warehouse import fetch_one

RULE_FOLDERS = (
    Path(__file__).resolve().parents[1] / "rules" / "parameters",
    Path(__file__).resolve().parents[1] / "rules" / "scenarios",
)

# The derived tables and the tables each is built from (the Dagster asset graph below
# the ingest; a test keeps the two equal). ``dossier_persons`` is the ingest's.
DERIVED_TABLES: dict[str, tuple[str, ...]] = {
    "entitlements": ("dossier_persons",),
    "table_comparison": ("entitlements",),
    "volume_forecast": ("dossier_persons",),
    "budget_forecast": ("entitlements", "volume_forecast"),
    "budget_forecast_cash": ("budget_forecast",),
    "forecast_backtest": ("dossier_persons",),
    "misuse_indicators": ("entitlements",),
    "misuse_alarms": ("misuse_indicators",),
}

BUILDS_SQL = """
CREATE TABLE IF NOT EXISTS asset_builds (
    asset VARCHAR PRIMARY KEY,
    built_at TIMESTAMP NOT NULL,
    data_version VARCHAR NOT NULL,
    rules_version VARCHAR NOT NULL,
    skipped VARCHAR  -- why the asset could not be built from this data (else NULL)
)
"""


def rules_version() -> str:
    """A hash of every parameter and scenario file (name and bytes)."""
    digest = hashlib.sha256()
    for folder in RULE_FOLDERS:
        for path in sorted(folder.glob("*.yaml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """The dossiers' version: person rows and the newest file among them (every accepted
    row of a new file carries its file id, so any change moves one of the two)."""
    rows, newest = fetch_one(con, "SELECT count(*), coalesce(max(file_id), 0) FROM dossier_persons")
    return f"{rows} rows, file {newest}"


def record_build(con: duckdb.DuckDBPyConnection, *assets: str, skipped: str | None = None) -> None:
    """Note that ``assets`` were just built from the warehouse as it stands, or could
    not be (``skipped`` says why, e.g. too little history): either way they are up to
    date until the dossiers or the rules change."""
    con.execute(BUILDS_SQL)
    data, rules, now = data_version(con), rules_version(), datetime.now()
    for asset in assets:
        con.execute(
            "INSERT OR REPLACE INTO asset_builds VALUES (?, ?, ?, ?, ?)",
            [asset, now, data, rules, skipped],
        )


@dataclass(frozen=True)
class Build:
    built_at: datetime
    data_version: str
    rules_version: str
    skipped: str | None = None


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        fetch_one(
            con,
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?",
            [name],
        )[0]
    )


def builds(con: duckdb.DuckDBPyConnection) -> dict[str, Build]:
    if not _table_exists(con, "asset_builds"):
        return {}
    rows = con.execute(
        "SELECT asset, built_at, data_version, rules_version, skipped FROM asset_builds"
    ).fetchall()
    return {row[0]: Build(*row[1:]) for row in rows}


def skipped_assets(
    con: duckdb.DuckDBPyConnection, upstream: Mapping[str, tuple[str, ...]] = DERIVED_TABLES
) -> dict[str, str]:
    """The assets that cannot be built from the current data (their last run said why,
    e.g. too little history), and those built from them."""
    data, rules = data_version(con), rules_version()
    skipped = {
        asset: build.skipped
        for asset, build in builds(con).items()
        if build.skipped and build.data_version == data and build.rules_version == rules
    }
    grew = True
    while grew:
        grew = False
        for asset, sources in upstream.items():
            blocked = [s for s in sources if s in skipped]
            if asset not in skipped and blocked:
                skipped[asset] = f"it is built from {blocked[0]}, which is not possible yet"
                grew = True
    return {asset: skipped[asset] for asset in upstream if asset in skipped}


def stale_assets(
    con: duckdb.DuckDBPyConnection, upstream: Mapping[str, tuple[str, ...]] = DERIVED_TABLES
) -> dict[str, str]:
    """Each derived table (keys of ``upstream``, which names the tables each is built
    from) that is missing or stale, with the reason in words; up-to-date ones are left
    out. A table stale for its own reasons makes everything built from it stale too."""
    recorded = builds(con)
    data, rules = data_version(con), rules_version()
    reasons: dict[str, str] = {}
    not_yet = skipped_assets(con, upstream)

    def reason_of(asset: str) -> str | None:
        if asset in reasons:
            return reasons[asset]
        if asset in not_yet:
            return None
        build = recorded.get(asset)
        if build is None or (build.skipped is None and not _table_exists(con, asset)):
            why = "missing"
        elif build.data_version != data:
            why = f"the dossiers changed (built from {build.data_version}, now {data})"
        elif build.rules_version != rules:
            why = "the rule tables or scenarios changed since it was built"
        else:
            why = None
            for source in upstream[asset]:
                if source in upstream and reason_of(source):
                    why = f"{source} is {'missing' if source not in recorded else 'stale'}"
                    break
                source_build = recorded.get(source)
                if source_build and source_build.built_at > build.built_at:
                    why = f"{source} was rebuilt after it"
                    break
        if why:
            reasons[asset] = why
        return why

    for asset in upstream:
        reason_of(asset)
    return {asset: reasons[asset] for asset in upstream if asset in reasons}
