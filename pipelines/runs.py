"""Running the Dagster jobs from the command line, recorded where the UI can see them.

``reab update`` and ``reab run`` execute the main job in process, limited to what is
missing or stale (``pipelines.freshness``), and record the run in a persistent Dagster
instance: ``$DAGSTER_HOME``, default ``data/dagster_home`` under the working directory
(the folder the README's ``dagster dev`` command uses), so the UI shows every CLI run
and every materialisation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.freshness import skipped_assets, stale_assets
from pipelines.warehouse import connect

DEFAULT_DAGSTER_HOME = Path("data") / "dagster_home"
# Runs stay on this machine: no telemetry (the machines have no network but PyPI).
INSTANCE_YAML = "telemetry:\n  enabled: false\n"

INGEST_OP = "ingest_extracts"
Progress = Callable[[str], None]


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()


def persistent_instance() -> dg.DagsterInstance:
    """The instance at ``dagster_home()``, created (with telemetry off) on first use."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
    return dg.DagsterInstance.from_config(str(home))


def _defs():
    from pipelines.definitions import defs

    return defs


def main_job():
    from pipelines.defs.jobs import MAIN_JOB

    return _defs().resolve_job_def(MAIN_JOB)


def derived_assets() -> dict[dg.AssetKey, tuple[dg.AssetKey, ...]]:
    """The main job's assets below the ingest, each with the assets it is built from
    (what ``freshness.DERIVED_TABLES`` states without Dagster)."""
    from pipelines.defs.ingest import GROUP as INGEST_GROUP

    graph = _defs().resolve_asset_graph()
    selected = main_job().asset_layer.selected_asset_keys
    derived = {}
    for key in sorted(selected, key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if node.group_name != INGEST_GROUP:
            derived[key] = tuple(sorted(node.parent_keys, key=lambda k: k.to_user_string()))
    return derived


def ingest_assets() -> list[dg.AssetKey]:
    from pipelines.defs.ingest import DOSSIER_PERSONS, INGESTED_FILES, QUARANTINE

    return [INGESTED_FILES, DOSSIER_PERSONS, QUARANTINE]


def stale(db: Path) -> dict[dg.AssetKey, str]:
    """The derived assets missing or stale in warehouse ``db``, with why."""
    with connect(db) as con:
        reasons = stale_assets(con)
    return {dg.AssetKey(name): why for name, why in reasons.items()}


def skipped(db: Path) -> dict[str, str]:
    """The assets the last run could not build from this data (too little history)."""
    with connect(db, read_only=True) as con:
        return skipped_assets(con)


@dataclass
class RunOutcome:
    success: bool
    run_id: str | None = None
    materialised: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # name, passed, severity

    @property
    def failed_error_checks(self) -> list[str]:
        return [
            name for name, passed, severity in self.checks if not passed and severity == "ERROR"
        ]


def execute(
    db: Path,
    assets: list[dg.AssetKey],
    landing: Path | None = None,
    instance: dg.DagsterInstance | None = None,
) -> RunOutcome:
    """Materialise ``assets`` of the main job (the ingest of ``landing`` among them when
    given) against warehouse ``db``, in process, recorded in ``instance`` (default the
    persistent one)."""
    run_config: dict = {
        "resources": {"warehouse": {"config": {"database": str(db)}}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    if landing is not None:
        run_config["ops"] = {INGEST_OP: {"config": {"paths": [str(landing)]}}}
    result = main_job().execute_in_process(
        run_config=run_config,
        instance=instance or persistent_instance(),
        asset_selection=assets,
        raise_on_error=False,
        tags={"reab/source": "cli", "reab/warehouse": str(db)},
    )
    outcome = RunOutcome(result.success, result.run_id)
    outcome.materialised = sorted(
        {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
        if hasattr(result, "get_asset_materialization_events")
        else set()
    )
    for evaluation in result.get_asset_check_evaluations():
        outcome.checks.append(
            (
                f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}",
                evaluation.passed,
                evaluation.severity.value,
            )
        )
    return outcome
