"""Budget forecast run time on the demo data: the target is 1,000 draws × 24 months in
under 60 s.

    .venv/bin/python benchmarks/forecast.py
    .venv/bin/python benchmarks/forecast.py --draws 1000 --months 24 --scale 1

Builds a demo warehouse (seed 0) in a temporary folder (not timed), then times what
the ``budget_forecast`` and ``volume_forecast`` assets do, step by step (each step's
time is taken from the progress messages): the volume model fit and the joint draws,
choosing and sampling the templates, pricing them under every table and scenario,
summing the draws per level/period/line and writing ``budget_forecast``, the
working-parameter weights, then ``volume_forecast`` from the same simulation.
Prints wall time, the ratio to the target and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.demo import build_demo_warehouse  # noqa: E402
from pipelines.forecast import build_budget_forecast, build_volume_forecast, simulate  # noqa: E402
from pipelines.warehouse import connect, scalar  # noqa: E402

TARGET_SECONDS = 60.0


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reab_forecast_bench_") as work:
        print(f"building the demo warehouse (seed 0, scale {args.scale}) ...", flush=True)
        db = build_demo_warehouse(Path(work), seed=0, scale=args.scale)
        with connect(db) as con:
            dossiers = scalar(con, "SELECT count(DISTINCT dossier_id) FROM dossier_persons")
            print(f"warehouse: {dossiers:,} dossiers")
            start = time.perf_counter()
            last = [start]

            def step(message: str) -> None:
                now = time.perf_counter()
                print(
                    f"  {now - start:7.2f} s  (+{now - last[0]:6.2f})  "
                    f"{peak_rss_mib():6.0f} MiB peak  {message}",
                    flush=True,
                )
                last[0] = now

            sim = simulate(con, args.draws, seed=0, progress=step, horizon=args.months)
            build_budget_forecast(con, simulation=sim, progress=step)
            step("budget_forecast and budget_assumptions written")
            budget_seconds = time.perf_counter() - start
            build_volume_forecast(con, simulation=sim)
            step("volume_forecast written")
            rows = scalar(con, "SELECT count(*) FROM budget_forecast")
    print()
    print(f"draws × months:           {args.draws:,} × {args.months}")
    print(f"budget_forecast rows:     {rows:,}")
    print(
        f"budget forecast wall time: {budget_seconds:.1f} s "
        f"(target {TARGET_SECONDS:.0f} s: ratio {budget_seconds / TARGET_SECONDS:.2f})"
    )
    print(f"peak RSS:                 {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
