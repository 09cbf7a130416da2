"""Synthetic demo extracts of the REAB programme (``reab demo-data``).

``write_demo_extracts`` writes one anonymised extract per month, 2019-01 to 2026-10
(94 files, ``reab_extract_YYYY-MM.csv`` or ``.parquet``), each holding the person rows
of the dossiers *registered* in that month plus a few correction rows. Nothing in
them is real: volumes are calibrated to the published figures of
``docs/domain/public-facts.md`` (see ``plan``), amounts follow a simple
approximation of the support rules (``payments.approximate_paid_amounts``).

How the files behave, so that the pipeline can be tested on them:

* **Streaming**: one month is generated, written and dropped at a time (vectorised
  numpy/polars); ``scale`` multiplies the volumes (1 ~ 30,000 rows in all,
  1000 ~ 30 M rows).
* **Deterministic**: every month has its own random streams seeded from
  ``(seed, month, purpose)``; the same arguments give byte-identical files. The
  defects have their own stream, so ``defect_rate`` changes the defect rows only.
* **Pseudonymous ids**: ``D`` + 10 hex and ``P`` + 12 hex, a keyed bijection of a
  (month, counter) pair: unique within a run at any scale. A few persons come back
  in a later dossier (repeat returners, sometimes with
  ``previous_return_support_date``).
* **Corrections** (~1.5% of rows): a later extract repeats a whole dossier with its
  corrected state - a dossier shown ``registered`` (planned departure, no amounts)
  re-appears two months later as ``departed``, or a medical/pregnancy flag missing in
  the first extract is added 1-3 months later. The latest extract wins.
* **Defects** (``defect_rate``, default 0.1% of rows): an unknown country code, age
  130, a departure before registration, a malformed date (``2024-13-05``; CSV only)
  or an unknown enum spelling. They are row-level only: no duplicate keys, every
  dossier keeps one principal.
* **Dialects** per month: mostly ``,`` UTF-8; some ``;`` with decimal comma; some with
  a BOM; 2019 as ``;``/decimal comma/Latin-1/``DD/MM/YYYY`` (old spreadsheet exports);
  booleans as true/false, 1/0, ja/nee, oui/non or yes/no; false vulnerability flags
  sometimes left empty; a few files with ``DD/MM/YYYY`` dates. Parquet files are
  typed: dates ``Date``, bools ``Boolean``, age ``Int16``, money ``Decimal(12, 2)``.
* **Surges**: ``DEFAULT_SURGES`` plants one plausible misuse pattern (Mongolia x2.5
  from May 2026, after the 2025 restriction was lifted). Pass ``surges=()`` for a
  set without it, or add your own ``Surge`` to evaluate detectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from data_contracts.demo.extracts import (
    add_defects,
    dialect_for,
    split_corrections,
    write_csv,
    write_parquet,
)
from data_contracts.demo.payments import approximate_paid_amounts
from data_contracts.demo.plan import (
    DEFAULT_SURGES,
    N_MONTHS,
    Surge,
    dossier_counts,
    month_label,
)
from data_contracts.demo.plan import plan as _volume_plan
from data_contracts.demo.population import WEYL_STEPS, Repeaters, generate_month

__all__ = [
    "DEFAULT_SURGES",
    "Surge",
    "approximate_paid_amounts",
    "extract_name",
    "write_demo_extracts",
]

_PLAN_STREAM = 0x504C414E


def extract_name(m: int, file_format: str = "csv") -> str:
    return f"reab_extract_{month_label(m)}.{file_format}"


def write_demo_extracts(
    out_dir: Path,
    *,
    seed: int = 0,
    scale: float = 1.0,
    file_format: Literal["csv", "parquet"] = "csv",
    surges: Sequence[Surge] = DEFAULT_SURGES,
    defect_rate: float = 0.001,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the 94 monthly demo extracts into ``out_dir`` and return their paths."""
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', not {file_format!r}")
    if not scale > 0:
        raise ValueError("scale must be positive")
    if not 0 <= defect_rate <= 1:
        raise ValueError("defect_rate must lie between 0 and 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_countries = len(_volume_plan().iso3)
    phase = np.random.default_rng([seed, _PLAN_STREAM]).random(n_countries)
    counts = dossier_counts(scale, tuple(surges), phase)
    offsets = np.cumsum(counts, axis=0) - counts
    phases = {
        purpose: np.random.default_rng([seed, _PLAN_STREAM, i]).random(n_countries)
        for i, purpose in enumerate(WEYL_STEPS)
    }
    returning: dict[int, list[Repeaters]] = {}
    pending: dict[int, list] = {}
    written = []
    for m in range(N_MONTHS):
        repeaters = Repeaters.concat(returning.pop(m)) if m in returning else None
        rng = np.random.default_rng([seed, m, 1])
        truth, comeback = generate_month(m, counts[m], offsets[m], phases, repeaters, rng, seed)
        for later, persons in comeback.items():
            if later < N_MONTHS:
                returning.setdefault(later, []).append(persons)
        shown, corrections = split_corrections(truth, m, seed)
        del truth
        for later, rows in corrections.items():
            pending.setdefault(later, []).append(rows)
        shown = shown.sort("registration_date", "_dossier", maintain_order=True)
        frame = add_defects(shown, m, seed, defect_rate, typed=file_format == "parquet")
        del shown
        if m in pending:
            fixes = pl.concat(pending.pop(m)).with_columns(pl.lit(False).alias("_bad_date"))
            frame = pl.concat([frame, fixes.select(frame.columns)])
        path = out_dir / extract_name(m, file_format)
        if file_format == "csv":
            write_csv(frame, dialect_for(seed, m), path)
        else:
            write_parquet(frame, path)
        written.append(path)
        if progress is not None:
            progress(f"{month_label(m)}: {frame.height} rows → {path.name}")
        del frame
    return written
