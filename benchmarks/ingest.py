"""Ingest throughput and peak memory on the demo extracts, against DuckDB's own reader.

    .venv/bin/python benchmarks/ingest.py --scale 1
    .venv/bin/python benchmarks/ingest.py --scale 20 --keep /tmp/reab-bench

Writes the demo extracts at the given scale (unless --extracts names a folder that
already holds them), then, each in a child process:

- ingests them into a fresh warehouse: rows, seconds, rows/s and the child's peak RSS;
- reads the same files with DuckDB's own ``read_csv`` (or ``read_parquet``) into a
  table of a fresh database file: seconds, and the ratio reab / DuckDB;
- appends the rows reab stored, already typed, to a fresh warehouse in reab's batches
  (DuckDB's storage cost alone, the floor under any ingest through DuckDB): the ratio
  reab / floor;
- ingests them again (every file recognised as already ingested);
- runs ``reab ingest`` on a 16-row file (the first rows of the first extract) into a
  fresh warehouse: the wall time of the whole command, imports included.
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
SMALL_ROWS = 16

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

# DuckDB's own reader on the same files: one glob, each file sniffed on its own (the
# extracts mix ',' and ';' dialects), into a table of a fresh database file.
DUCKDB_CHILD = """
import json, sys, time
import duckdb
from pipelines.warehouse import memory_limit
db, folder, reader = sys.argv[1:4]
start = time.perf_counter()
con = duckdb.connect(db, config={"memory_limit": memory_limit()})
con.execute("SET enable_progress_bar = false")
source = (
    f"read_csv('{folder}/*.csv', union_by_name = true)" if reader == "csv"
    else f"read_parquet('{folder}/*.parquet', union_by_name = true)"
)
con.execute(f"CREATE TABLE extract_rows AS SELECT * FROM {source}")
rows = con.execute("SELECT count(*) FROM extract_rows").fetchall()[0][0]
con.close()
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows}))
"""


# DuckDB's storage cost alone: the rows reab stored, already typed, appended to a fresh
# database file in reab's batches (one transaction each) and checkpointed — the floor
# under any ingest that writes them through DuckDB.
DUCKDB_WRITE_CHILD = """
import json, sys, time
from pipelines.ingest import BATCH_ROWS
from pipelines.warehouse import connect, memory_limit
source, target = sys.argv[1:3]
with connect(source, read_only=True) as ro:
    rows = ro.sql("SELECT * FROM dossier_persons").to_arrow_table()
with connect(target) as con:
    con.execute("SET checkpoint_threshold = '256MB'")
    start = time.perf_counter()
    for offset in range(0, rows.num_rows, BATCH_ROWS):
        batch = rows.slice(offset, BATCH_ROWS)
        con.begin()
        con.execute("INSERT INTO dossier_persons SELECT * FROM batch")
        con.commit()
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": rows.num_rows}))
"""


def run_child(code: str, *args: str) -> tuple[dict, float]:
    """The child's JSON figures and the peak RSS (MiB) of the children so far."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(result.stdout.strip().splitlines()[-1]), peak_kib / 1024


def small_file(extracts: Path, work: Path) -> Path:
    """The header and the first ``SMALL_ROWS`` rows of the first CSV extract."""
    first = sorted(extracts.glob("*.csv"))[0]
    lines = first.read_bytes().splitlines(keepends=True)[: SMALL_ROWS + 1]
    path = work / "small.csv"
    path.write_bytes(b"".join(lines))
    return path


def command_seconds(path: Path, db: Path) -> float:
    """Wall time of ``reab ingest PATH --db DB``, from start to exit."""
    reab = Path(sys.executable).parent / "reab"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(
        [str(reab), "ingest", str(path), "--db", str(db)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


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
        first, peak_mb = run_child(CHILD, str(db), str(extracts))
        rate = first["rows_read"] / first["seconds"]
        print(
            f"ingest: {first['files']} files, {size_mb:.0f} MiB, {first['rows_read']:,} rows "
            f"in {first['seconds']:.1f} s = {rate:,.0f} rows/s; "
            f"{first['persons_stored']:,} persons stored, "
            f"{first['rows_quarantined']:,} quarantined; peak RSS {peak_mb:,.0f} MiB"
        )
        reader = "csv" if any(extracts.glob("*.csv")) else "parquet"
        plain_db = work / "duckdb_read.duckdb"
        plain_db.unlink(missing_ok=True)
        plain, _ = run_child(DUCKDB_CHILD, str(plain_db), str(extracts), reader)
        print(
            f"DuckDB read_{reader} of the same files into a table: {plain['rows']:,} rows in "
            f"{plain['seconds']:.1f} s = {plain['rows'] / plain['seconds']:,.0f} rows/s; "
            f"reab / DuckDB = {first['seconds'] / plain['seconds']:.2f}"
        )
        floor_db = work / "duckdb_write.duckdb"
        floor_db.unlink(missing_ok=True)
        floor, _ = run_child(DUCKDB_WRITE_CHILD, str(db), str(floor_db))
        print(
            f"DuckDB appending the {floor['rows']:,} stored rows, already typed, in reab's "
            f"batches: {floor['seconds']:.1f} s = {floor['rows'] / floor['seconds']:,.0f} rows/s "
            f"(the storage floor); reab / floor = {first['seconds'] / floor['seconds']:.2f}"
        )
        again, _ = run_child(CHILD, str(db), str(extracts))
        print(f"re-ingest of the same files (all recognised): {again['seconds']:.1f} s")
        print(f"warehouse file: {db.stat().st_size / 2**20:,.0f} MiB")
        if reader == "csv":
            small = small_file(extracts, work)
            seconds = command_seconds(small, work / "small.duckdb")
            print(
                f"`reab ingest` of a {SMALL_ROWS}-row file into a fresh warehouse: "
                f"{seconds:.2f} s wall, imports included"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
