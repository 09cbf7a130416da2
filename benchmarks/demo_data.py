"""Benchmark the demo-extract generator: time, rows, rows/s and peak RSS.

    .venv/bin/python benchmarks/demo_data.py --scale 100
    .venv/bin/python benchmarks/demo_data.py --scale 1000 --out /tmp/reab_demo_1000

Writes into a temporary directory (deleted afterwards) unless ``--out`` is given and
``--keep`` is set.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_contracts.demo import write_demo_extracts  # noqa: E402


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default: temporary)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the files written to --out")
    parser.add_argument("--verbose", action="store_true", help="print one line per file")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="reab_demo_bench_"))
    rows = 0
    rss_before = peak_rss_mib()

    def progress(line: str) -> None:
        nonlocal rows
        rows += int(re.search(r": (\d+) rows", line).group(1))
        if args.verbose:
            print(f"  {line}  (peak RSS {peak_rss_mib():,.0f} MiB)", flush=True)

    start = time.perf_counter()
    try:
        paths = write_demo_extracts(
            out, seed=args.seed, scale=args.scale, file_format=args.format, progress=progress
        )
        elapsed = time.perf_counter() - start
        size = sum(p.stat().st_size for p in paths)
    finally:
        if args.out is None or not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    print(f"scale            {args.scale:g} ({args.format}, seed {args.seed})")
    print(f"files            {len(paths)} ({size / 2**20:,.1f} MiB)")
    print(f"rows             {rows:,}")
    print(f"time             {elapsed:,.1f} s")
    print(f"rows/s           {rows / elapsed:,.0f}")
    print(f"peak RSS         {peak_rss_mib():,.0f} MiB (after imports: {rss_before:,.0f} MiB)")


if __name__ == "__main__":
    main()
