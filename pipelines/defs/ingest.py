"""Ingest: landing folder → ingested_files / dossier_persons / quarantine.

Thin wrappers over ``pipelines.ingest``; the checks read the warehouse with SQL.
"""

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from data_contracts.dataset_expectations import DatasetValidation
from data_contracts.row_model import COLUMNS
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import WarehouseResource
from pipelines.ingest import FileOutcome, extract_files, ingest_paths, row_accounting_problems
from pipelines.warehouse import default_landing_path, fetch_one, query_frame, scalar

GROUP = "ingest"
INGESTED_FILES = dg.AssetKey("ingested_files")
DOSSIER_PERSONS = dg.AssetKey("dossier_persons")
QUARANTINE = dg.AssetKey("quarantine")

# Asset check names, as constants so schedules, tests and the UI agree.
ROW_ACCOUNTING = "row_accounting"
DATASET_EXPECTATIONS = "dataset_expectations"
DOSSIER_INTEGRITY = "dossier_integrity"
NO_REJECTED_FILES = "no_rejected_files"


class IngestConfig(dg.Config):
    """Where to look for extracts (files or folders); default: the landing folder."""

    paths: list[str] = []


def _landing_paths(config: IngestConfig) -> list[str]:
    return config.paths or [str(default_landing_path())]


@dg.multi_asset(
    name="ingest_extracts",
    specs=[
        dg.AssetSpec(INGESTED_FILES, group_name=GROUP, description="One row per extract file."),
        dg.AssetSpec(
            DOSSIER_PERSONS,
            group_name=GROUP,
            description="Latest valid version of every (dossier_id, person_id).",
        ),
        dg.AssetSpec(QUARANTINE, group_name=GROUP, description="Every rejected row, with why."),
    ],
    check_specs=[
        dg.AssetCheckSpec(ROW_ACCOUNTING, asset=INGESTED_FILES),
        dg.AssetCheckSpec(DATASET_EXPECTATIONS, asset=DOSSIER_PERSONS),
        dg.AssetCheckSpec(DOSSIER_INTEGRITY, asset=DOSSIER_PERSONS),
        dg.AssetCheckSpec(NO_REJECTED_FILES, asset=INGESTED_FILES),
    ],
    pool="warehouse",
)
def ingest_extracts(
    context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource
):
    paths = _landing_paths(config)
    great_expectations = GreatExpectationsRun()
    with warehouse.get_connection() as con:
        outcomes = ingest_paths(
            con, paths, progress=context.log.info, on_accepted=great_expectations
        )
        yield from _materializations(con, outcomes)
        yield from _checks(con, great_expectations)


@dataclass
class GreatExpectationsRun:
    """The great-expectations suite on the accepted rows of each file of one run.

    The ingest stores the vectorised verdict of the dataset expectations with every
    file; this runs the same expectations with GX (its pandas in-memory batch, the
    context started once per process, only when a run ingests a file) and records
    where GX fails a file or disagrees with the stored verdict.
    """

    files: int = 0
    seconds: float = 0.0
    failed: list[dict] = field(default_factory=list)
    disagreements: list[dict] = field(default_factory=list)

    def __call__(self, outcome: FileOutcome, accepted: pl.DataFrame) -> None:
        from data_contracts.dataset_suite import validate_extract_dataset

        start = time.perf_counter()
        by_gx = validate_extract_dataset(accepted.select(COLUMNS))
        self.seconds += time.perf_counter() - start
        self.files += 1
        stored = DatasetValidation.from_json(outcome.dataset_validation)
        if not by_gx.success:
            self.failed.append({"file": outcome.file_name, "failures": by_gx.summary()})
        if by_gx.outcomes != stored.outcomes:
            self.disagreements.append(
                {
                    "file": outcome.file_name,
                    "great_expectations": by_gx.summary(),
                    "vectorised": stored.summary(),
                }
            )


def _materializations(con, outcomes):
    rejected = [o.file_name for o in outcomes if o.rejected]
    totals = fetch_one(
        con,
        "SELECT count(*), count(DISTINCT dossier_id), min(registration_date), "
        "max(registration_date) FROM dossier_persons",
    )
    files = scalar(con, "SELECT count(*) FROM ingested_files")
    quarantined = scalar(con, "SELECT count(*) FROM quarantine")
    reasons = query_frame(
        con,
        "SELECT split_part(reason, ':', 1) AS rule, count(*) AS n FROM quarantine "
        "GROUP BY 1 ORDER BY n DESC LIMIT 10",
    )
    preview = query_frame(
        con,
        "SELECT file_name, status, rows_read, rows_accepted, rows_quarantined, message "
        "FROM ingested_files ORDER BY file_id DESC LIMIT 10",
    )
    yield dg.MaterializeResult(
        asset_key=INGESTED_FILES,
        metadata={
            "files_in_this_run": len(outcomes),
            "files_new": sum(o.status != "already_ingested" for o in outcomes),
            "files_rejected": dg.MetadataValue.json(rejected),
            "files_total": files,
            "dagster/row_count": files,
            "preview": dg.MetadataValue.md(markdown_table(preview)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=DOSSIER_PERSONS,
        metadata={
            "dagster/row_count": totals[0],
            "dossiers": totals[1],
            "first_registration": str(totals[2]),
            "last_registration": str(totals[3]),
            "rows_accepted_this_run": sum(o.rows_accepted for o in outcomes),
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE,
        metadata={
            "dagster/row_count": quarantined,
            "rows_quarantined_this_run": sum(o.rows_quarantined for o in outcomes),
            "top_reasons": dg.MetadataValue.md(markdown_table(reasons)),
        },
    )


def _checks(con, great_expectations: GreatExpectationsRun):
    problems = row_accounting_problems(con)
    yield dg.AssetCheckResult(
        asset_key=INGESTED_FILES,
        check_name=ROW_ACCOUNTING,
        passed=not problems,
        description="rows read = rows accepted + rows quarantined, per file; "
        "every stored row accounted for",
        metadata={"problems": dg.MetadataValue.json(problems[:50])},
    )
    failed = []
    for file_name, validation in con.execute(
        "SELECT file_name, dataset_validation FROM ingested_files "
        "WHERE dataset_validation IS NOT NULL"
    ).fetchall():
        result = json.loads(validation)
        if not result.get("success", False):
            failed.append({"file": file_name, "failures": result.get("summary", "")})
    gx = great_expectations
    yield dg.AssetCheckResult(
        asset_key=DOSSIER_PERSONS,
        check_name=DATASET_EXPECTATIONS,
        passed=not failed and not gx.failed and not gx.disagreements,
        description="dataset expectations met by the accepted rows of every file (the "
        "verdict stored with each file); great-expectations, run on this run's files, "
        "gives the same verdicts",
        metadata={
            "failed_files": dg.MetadataValue.json(failed[:50]),
            "gx_files_this_run": gx.files,
            "gx_seconds": round(gx.seconds, 2),
            "gx_failed_files": dg.MetadataValue.json(gx.failed[:50]),
            "gx_disagreements": dg.MetadataValue.json(gx.disagreements[:50]),
        },
    )
    integrity = dossier_integrity_problems(con)
    yield dg.AssetCheckResult(
        asset_key=DOSSIER_PERSONS,
        check_name=DOSSIER_INTEGRITY,
        passed=not integrity,
        description="every stored dossier has one principal; every child's annex parent is in it",
        metadata={"problems": dg.MetadataValue.json(integrity)},
    )
    rejected = con.execute(
        "SELECT file_name, message FROM ingested_files WHERE status = 'rejected'"
    ).fetchall()
    yield dg.AssetCheckResult(
        asset_key=INGESTED_FILES,
        check_name=NO_REJECTED_FILES,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN,
        description="no extract file was rejected whole",
        metadata={"rejected": dg.MetadataValue.json([f"{n}: {m}" for n, m in rejected][:50])},
    )


def dossier_integrity_problems(con) -> list[str]:
    problems = []
    principals = scalar(
        con,
        "SELECT count(*) FROM (SELECT dossier_id FROM dossier_persons GROUP BY dossier_id "
        "HAVING count(*) FILTER (WHERE role = 'principal') <> 1)",
    )
    if principals:
        problems.append(f"{principals} dossiers without exactly one principal")
    orphans = scalar(
        con,
        "SELECT count(*) FROM dossier_persons c WHERE c.role = 'child' AND NOT EXISTS "
        "(SELECT 1 FROM dossier_persons p WHERE p.dossier_id = c.dossier_id "
        "AND p.person_id = c.annex_parent_id)",
    )
    if orphans:
        problems.append(f"{orphans} children whose annex parent is not in their dossier")
    return problems


ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.groups(GROUP), description="Ingest new extracts."
)


def _landing_state(landing: Path) -> dict[str, list[float]]:
    return {
        str(p): [p.stat().st_size, p.stat().st_mtime]
        for p in extract_files([landing])
        if p.exists()
    }


@dg.sensor(
    job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def landing_folder_sensor(context: dg.SensorEvaluationContext):
    """Start an ingest run when a file lands (or changes) in the landing folder."""
    landing = default_landing_path()
    if not landing.exists():
        return dg.SkipReason(f"landing folder {landing} does not exist yet")
    state = _landing_state(landing)
    seen = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(path for path, stamp in state.items() if seen.get(path) != stamp)
    if not changed:
        return dg.SkipReason(f"no new file in {landing}")
    context.update_cursor(json.dumps(state))
    run_key = hashlib.sha256(json.dumps({p: state[p] for p in changed}).encode()).hexdigest()
    return dg.RunRequest(
        run_key=run_key,
        run_config={"ops": {"ingest_extracts": {"config": {"paths": changed}}}},
        tags={"reab/files": str(len(changed))},
    )
