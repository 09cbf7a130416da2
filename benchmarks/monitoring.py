"""Misuse detectors: false alarms on clean data, detection of injected surges.

1. Trials on the demo generator's plan (its expected registering dossiers per return
   country and month, surges left out) with Poisson and over-dispersed noise: clean,
   x2 and x3 from a random month (2024-01 .. 2026-06) in a mid-sized country (4-15
   dossiers a month, no policy change of its own). Done-when: false alarms ≤ 5 % of
   tested country-months, x3 detected within 2 months in ≥ 90 % of trials.
2. The whole monitoring (every indicator, both groupings, BH across all of them) on
   demo warehouses written by the generator itself: clean (``surges=()``) and with the
   built-in Mongolian surge.

Usage: .venv/bin/python benchmarks/monitoring.py [--trials 200] [--warehouses 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_contracts.demo import DEFAULT_SURGES  # noqa: E402
from models.monitoring.evaluation import evaluate  # noqa: E402
from pipelines.demo import build_demo_warehouse  # noqa: E402
from pipelines.entitlements import build_entitlements  # noqa: E402
from pipelines.monitoring import build_monitoring, demo_trials  # noqa: E402
from pipelines.warehouse import connect, scalar  # noqa: E402


def whole_monitoring(folder: Path, seed: int, surges) -> dict:
    with connect(build_demo_warehouse(folder, seed=seed, surges=surges)) as con:
        build_entitlements(con, scenario_files=[])
        started = time.perf_counter()
        build_monitoring(con)
        seconds = time.perf_counter() - started
        tested = scalar(
            con,
            "SELECT count(DISTINCT (grouping, country, month)) FROM misuse_alarms "
            "WHERE q_value IS NOT NULL AND month >= '2024-01-01'",
        )
        alarms = scalar(
            con,
            "SELECT count(DISTINCT (grouping, country, month)) FROM misuse_alarms "
            "WHERE alarm AND month >= '2024-01-01'",
        )
        mng = scalar(
            con,
            "SELECT string_agg(DISTINCT strftime(month, '%Y-%m'), ', ') FROM misuse_alarms "
            "WHERE alarm AND country = 'MNG' AND month >= '2026-01-01'",
        )
    return {"seed": seed, "seconds": seconds, "tested": tested, "alarms": alarms, "mng": mng}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--warehouses", type=int, default=2)
    args = parser.parse_args()
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_cols(12)

    setup, candidates = demo_trials()
    print(f"surge candidates (mid-sized): {', '.join(candidates)}")
    started = time.perf_counter()
    frame = evaluate(setup, args.trials, progress=lambda m: print("  " + m, flush=True))
    seconds = time.perf_counter() - started
    print(frame)
    n = len(frame)
    print(f"{n * args.trials} trials in {seconds:.0f} s ({seconds / (n * args.trials):.2f} s each)")
    worst = frame["false_alarm_rate"].max()
    x3 = frame.filter(pl.col("factor") == 3.0)["detected_within_2_months"].min()
    print(f"highest false-alarm rate {worst:.2%} (target ≤ 5 %): ratio {worst / 0.05:.2f}")
    print(f"lowest x3 detection within 2 months {x3:.1%} (target ≥ 90 %): ratio {x3 / 0.9:.2f}")

    print("\nwhole monitoring on generated demo warehouses (months from 2024-01):")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.warehouses):
            for label, surges in (("clean", ()), ("MNG x2.5", DEFAULT_SURGES)):
                folder = Path(tmp) / f"{label[:3]}{seed}"
                r = whole_monitoring(folder, seed, surges)
                rate = r["alarms"] / max(r["tested"], 1)
                print(
                    f"  seed {seed} {label:<9} country-months with an alarm {r['alarms']:>4} "
                    f"of {r['tested']:>5} tested ({rate:.2%}); MNG 2026 alarms: "
                    f"{r['mng'] or 'none'}; monitoring {r['seconds']:.1f} s"
                )


if __name__ == "__main__":
    main()
