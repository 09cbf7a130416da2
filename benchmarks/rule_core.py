"""Rule core throughput: the vectorised engine against the plain-Python reference.

    .venv/bin/python benchmarks/rule_core.py                 # 1 M and 10 M persons
    .venv/bin/python benchmarks/rule_core.py --sizes 1000000

The population is the demo extracts (seed 0, all persons as the warehouse keeps
them) repeated with suffixed ids until it has the asked size, so households, repeat
returners and every country mix stay as in the demo. Each size runs in a child
process, whose peak RSS is reported. Figures:

- prepare: table-independent facts, once for all tables (households, five-year rule);
- engine: ``evaluate_cents`` per table, best of 3 after a warm-up — person-evaluations/s;
- output: rules text and the exact EUR Decimal conversion (edges, not the engine);
- reference: ``rules.reference.entitle`` on a sample of whole dossiers, persons/s;
- ratio: engine rate / reference rate, per table, in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import polars as pl
from data_contracts.demo import write_demo_extracts
from pipelines.ingest import ingest_paths
from pipelines.warehouse import connect, query_frame
from data_contracts.row_model import COLUMNS
from rules.engine import prepare, evaluate_cents, with_rules_text, to_eur
from rules.parameters import load_table
from rules.reference import entitle

size, work = int(sys.argv[1]), Path(sys.argv[2])
db = work / "demo.duckdb"
if not db.exists():
    write_demo_extracts(work / "extracts", seed=0)
    with connect(db) as con:
        ingest_paths(con, [work / "extracts"])
with connect(db, read_only=True) as con:
    base = query_frame(con, f"SELECT {', '.join(COLUMNS)} FROM dossier_persons")
copies = size // base.height + 1
population = pl.concat(
    [base.with_columns(pl.col(c) + f"~{i}" for c in ("dossier_id", "person_id", "annex_parent_id"))
     for i in range(copies)]
).head(size)
del base
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"persons": population.height, "rss_population_mib": rss()}
start = time.perf_counter()
prepared = prepare(population)
out["prepare_s"] = time.perf_counter() - start
first_dossiers = population["dossier_id"].unique().head(12000)
sample = population.filter(pl.col("dossier_id").is_in(first_dossiers))
sample_rows = sample.to_dicts()
del population
for name in ("2025", "2026"):
    table = load_table(name)
    evaluate_cents(prepared, table)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        cents = evaluate_cents(prepared, table)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    text = with_rules_text(cents)
    rules_s = time.perf_counter() - start
    start = time.perf_counter()
    to_eur(text)
    eur_s = time.perf_counter() - start
    del cents, text
    start = time.perf_counter()
    by_dossier = {}
    for row in sample_rows:
        by_dossier.setdefault(row["dossier_id"], []).append(row)
    for rows in by_dossier.values():
        entitle(rows, table)
    reference_s = time.perf_counter() - start
    out[name] = {
        "engine_s": min(times),
        "engine_per_s": out["persons"] / min(times),
        "rules_text_s": rules_s,
        "to_eur_s": eur_s,
        "reference_persons": len(sample_rows),
        "reference_per_s": len(sample_rows) / reference_s,
    }
out["peak_rss_mib"] = rss()
print(json.dumps(out))
"""


def run_size(size: int, work: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"size {size} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reab-rules-") as tmp:
        work = Path(tmp)
        for size in args.sizes:
            r = run_size(size, work)
            print(
                f"{r['persons']:>11,} persons: prepare {r['prepare_s']:.2f} s (once, all tables); "
                f"peak RSS {r['peak_rss_mib']:,.0f} MiB "
                f"(population alone {r['rss_population_mib']:,.0f} MiB)"
            )
            for name in ("2025", "2026"):
                t = r[name]
                ratio = t["engine_per_s"] / t["reference_per_s"]
                print(
                    f"    table {name}: engine {t['engine_s']:.2f} s = "
                    f"{t['engine_per_s'] / 1e6:,.1f} M person-evaluations/s; "
                    f"reference {t['reference_per_s']:,.0f} persons/s "
                    f"(sample of {t['reference_persons']:,}); ratio {ratio:,.0f}x; "
                    f"output: rules text {t['rules_text_s']:.2f} s, "
                    f"EUR decimals {t['to_eur_s']:.2f} s"
                )


if __name__ == "__main__":
    main()
