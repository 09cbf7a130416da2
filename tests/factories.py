"""Valid extract rows as raw text, and writers for the dialects real exports use."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from data_contracts.row_checks import MONEY_DTYPE
from data_contracts.row_model import COLUMNS, ExtractRow, Kind, field_specs

POLARS_TYPES = {
    Kind.TEXT: pl.String,
    Kind.CHOICE: pl.String,
    Kind.COUNTRY: pl.String,
    Kind.WHOLE_NUMBER: pl.Int16,
    Kind.DATE: pl.Date,
    Kind.BOOL: pl.Boolean,
    Kind.FLAG: pl.Boolean,
    Kind.MONEY: MONEY_DTYPE,
}
# Typed rows as the warehouse holds them.
PERSONS_SCHEMA = {spec.name: POLARS_TYPES[spec.kind] for spec in field_specs()}


def person(**cells: str) -> dict[str, str]:
    """A valid principal: a Georgian adult in irregular stay who departed."""
    row = {column: "" for column in COLUMNS}
    row.update(
        dossier_id="D0001",
        person_id="P0001",
        role="principal",
        age_at_registration="34",
        sex="M",
        nationality="GEO",
        return_country="GEO",
        registration_date="2025-03-10",
        departure_date="2025-04-02",
        dossier_status="departed",
        residence_status="irregular",
        paid_return_premium_eur="50.00",
        ticket_cost_eur="180.50",
    )
    row.update(cells)
    return row


def household(dossier: str = "D0001", first_person: int = 1, **shared: str) -> list[dict]:
    """Principal (applicant, first application at the CGVS), partner, child on the annex."""
    ids = [f"P{first_person + i:04d}" for i in range(3)]
    common = dict(
        dossier_id=dossier,
        nationality="SYR",
        return_country="SYR",
        registration_date="2026-02-10",
        departure_date="2026-03-01",
        residence_status="applicant",
    )
    common.update(shared)
    applicant = dict(application_type="first", procedure_phase="cgvs_pending")
    return [
        person(person_id=ids[0], role="principal", **applicant, **common),
        person(
            person_id=ids[1],
            role="partner",
            sex="F",
            age_at_registration="31",
            **applicant,
            **common,
        ),
        person(
            person_id=ids[2],
            role="child",
            annex_parent_id=ids[0],
            age_at_registration="6",
            sex="F",
            **common,
        ),
    ]


def typed_row(row: dict) -> dict:
    """A text row (blank = empty) as the contract's pydantic model reads it; raises
    ``pydantic.ValidationError`` on an invalid row."""
    return ExtractRow.model_validate({k: v for k, v in row.items() if v != ""}).model_dump()


def csv_text(rows: list[dict], delimiter: str = ",", columns=COLUMNS) -> str:
    buffer = io.StringIO()
    frame = pl.DataFrame(
        [{c: r.get(c, "") for c in columns} for r in rows], schema={c: pl.String for c in columns}
    )
    frame.write_csv(buffer, separator=delimiter)
    return buffer.getvalue()


def write_csv(
    path: Path,
    rows: list[dict],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    columns=COLUMNS,
) -> Path:
    data = csv_text(rows, delimiter, columns).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def rows_between(first: date, last: date, every: int = 2, start: int = 0) -> list[dict]:
    """Single-person dossiers (registered, not departed) every ``every`` days from
    ``first``, and one on ``last``; ids numbered from ``start + 1``."""
    days = [first + timedelta(days=d) for d in range(0, (last - first).days, every)] + [last]
    return [
        person(
            dossier_id=f"D{n:05d}",
            person_id=f"P{n:05d}",
            nationality="MNG" if n % 3 else "GEO",
            return_country="MNG" if n % 3 else "GEO",
            registration_date=f"{day}",
            departure_date="",
            dossier_status="registered",
            paid_return_premium_eur="",
            ticket_cost_eur="",
        )
        for n, day in enumerate(days, start=start + 1)
    ]


def monthly_extracts(folder: Path, months: list[tuple[date, date]]) -> list[Path]:
    """One CSV extract per (first, last) day pair, ids running on across files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, start = [], 0
    for first, last in months:
        rows = rows_between(first, last, start=start)
        start += len(rows)
        paths.append(write_csv(folder / f"extract_{first:%Y-%m}.csv", rows))
    return paths
