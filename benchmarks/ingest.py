"""Ingest throughput and peak memory on the demo extracts.

    .venv/bin/python benchmarks/ingest.py --scale 1
    .venv/bin/python benchmarks/ingest.py --scale 100 --keep /tmp/reab-bench

Writes the demo extracts at the given scale (unless --extracts names a folder that
already holds them), ingests them into a fresh warehouse in a child process, and
prints rows, seconds, rows/s and the child's peak RSS. A second ingest of the same
files measures the cost of recognising files already ingested.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from pipelines.ingest import ingest_paths
from pipelines.warehouse import connect, scalar
start = time.perf_counter()
with connect(sys.argv[1]) as con:
    outcomes = ingest_paths(con, [sys.argv[2]])
    persons = scalar(con, "SELECT count(*) FROM dossier_persons")
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "files": len(outcomes),
    "rows_read": sum(o.rows_read for o in outcomes),
    "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
    "persons_stored": persons,
}))
"""


def ingest_in_child(db: Path, extracts: Path) -> tuple[dict, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(extracts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extracts", type=Path, help="use extracts already in this folder")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="reab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    extracts = args.extracts or work / "extracts"
    try:
        if not args.extracts:
            sys.path.insert(0, str(ROOT))
            from data_contracts.demo import write_demo_extracts

            start = time.perf_counter()
            write_demo_extracts(extracts, seed=args.seed, scale=args.scale)
            print(
                f"demo extracts (scale {args.scale:g}) written in "
                f"{time.perf_counter() - start:.1f} s"
            )
        size_mb = sum(p.stat().st_size for p in extracts.iterdir()) / 2**20
        db = work / "bench.duckdb"
        db.unlink(missing_ok=True)
        first, peak_mb = ingest_in_child(db, extracts)
        rate = first["rows_read"] / first["seconds"]
        print(
            f"ingest: {first['files']} files, {size_mb:.0f} MiB, {first['rows_read']:,} rows "
            f"in {first['seconds']:.1f} s = {rate:,.0f} rows/s; "
            f"{first['persons_stored']:,} persons stored, "
            f"{first['rows_quarantined']:,} quarantined; peak RSS {peak_mb:,.0f} MiB"
        )
        again, _ = ingest_in_child(db, extracts)
        print(f"re-ingest of the same files (all recognised): {again['seconds']:.1f} s")
        print(f"warehouse file: {db.stat().st_size / 2**20:,.0f} MiB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
