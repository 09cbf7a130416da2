"""Forecast run time on the demo data, stage by stage: the target is the budget forecast
(1,000 draws × 24 months, every table and scenario) in under 60 s.

    .venv/bin/python benchmarks/forecast.py                # demo scale 1
    .venv/bin/python benchmarks/forecast.py --scale 20     # 20 times the dossiers
    .venv/bin/python benchmarks/forecast.py --draws 1000 --months 24 --no-backtest

Builds a demo warehouse (seed 0, ``--scale``) in a temporary folder (not timed), then
times what the forecast assets do, from their progress messages:

- fit: the volume model on the whole history (``simulate``);
- simulate: the joint draws, choosing the templates and sampling them;
- price: the templates under every table and scenario;
- summarise: the draws summed per level, period and line, and ``budget_forecast``
  written;
- weights: the working-parameter weights (``budget_assumptions``);
- volume table: ``volume_forecast`` from the same simulation;
- backtest: ``forecast_backtest`` (6 origins: a fit and the draws each).

Prints every step, then the stages, the budget forecast's wall time against the
target, and the peak RSS.
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
from pipelines.forecast import (  # noqa: E402
    build_budget_forecast,
    build_forecast_backtest,
    build_volume_forecast,
    simulate,
)
from pipelines.warehouse import connect, scalar  # noqa: E402

TARGET_SECONDS = 60.0
STAGES = ("fit", "simulate", "price", "summarise", "weights", "volume table", "backtest")
# Progress message (its start) → the stage that begins with it.
STAGE_OF_MESSAGE = {
    "fitting the volume model": "fit",
    "drawing": "simulate",
    "filling": "simulate",
    "pricing": "price",
    "summing": "summarise",
    "writing budget_forecast": "summarise",
    "weighing": "weights",
    "backtest origin": "backtest",
}


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


class Stopwatch:
    """Each step's time goes to the stage its progress message began."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.stage = "fit"
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def __call__(self, message: str, stage: str | None = None) -> None:
        now = time.perf_counter()
        self.seconds[self.stage] += now - self.last
        print(
            f"  {now - self.start:7.2f} s  (+{now - self.last:6.2f})  "
            f"{peak_rss_mib():6.0f} MiB peak  {message}",
            flush=True,
        )
        self.last = now
        self.stage = stage or next(
            (s for prefix, s in STAGE_OF_MESSAGE.items() if message.startswith(prefix)),
            self.stage,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-backtest", action="store_true", help="skip the backtest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reab_forecast_bench_") as work:
        print(f"building the demo warehouse (seed 0, scale {args.scale:g}) ...", flush=True)
        db = build_demo_warehouse(Path(work), seed=0, scale=args.scale)
        with connect(db) as con:
            dossiers = scalar(con, "SELECT count(DISTINCT dossier_id) FROM dossier_persons")
            print(f"warehouse: {dossiers:,} dossiers")
            watch = Stopwatch()
            sim = simulate(con, args.draws, seed=0, progress=watch, horizon=args.months)
            build_budget_forecast(con, simulation=sim, progress=watch)
            watch("budget_forecast and budget_assumptions written", "volume table")
            budget_seconds = watch.last - watch.start
            build_volume_forecast(con, simulation=sim)
            watch("volume_forecast written", "backtest")
            if not args.no_backtest:
                build_forecast_backtest(con, progress=watch)
                watch("forecast_backtest written")
            rows = scalar(con, "SELECT count(*) FROM budget_forecast")
    print()
    print(f"draws × months:            {args.draws:,} × {args.months}")
    print(f"budget_forecast rows:      {rows:,}")
    for stage in STAGES:
        if stage != "backtest" or not args.no_backtest:
            print(f"  {stage:<13} {watch.seconds[stage]:7.1f} s")
    print(
        f"budget forecast wall time: {budget_seconds:.1f} s "
        f"(target {TARGET_SECONDS:.0f} s: ratio {budget_seconds / TARGET_SECONDS:.2f})"
    )
    print(f"all stages:                {sum(watch.seconds.values()):.1f} s")
    print(f"peak RSS:                  {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
