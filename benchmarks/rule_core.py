"""Rule core throughput: the vectorised engine against the plain-Python reference.

    .venv/bin/python benchmarks/rule_core.py                 # 1 M and 10 M persons
    .venv/bin/python benchmarks/rule_core.py --sizes 1000000

    .venv/bin/python benchmarks/rule_core.py --worst-case    # every person distinct

The population is the demo extracts (seed 0, the columns the engine reads, as
``pipelines.entitlements.load_persons`` takes them from the warehouse) repeated with
suffixed ids until it has the asked size, so households, repeat returners and every
country mix stay as in the demo. It is written to Parquet by one process and read by
a fresh one, whose peak RSS is reported (so building it does not count). The engine
evaluates each distinct (profile, date facts) once; a repeated demo has few
profiles, so ``--worst-case`` gives every person a profile of their own. Figures:

- prepare: table-independent facts, once for all tables (households, five-year rule,
  profiles); the population is released after it;
- engine: ``evaluate_cents`` per table, best of 3 after a first run (also shown: the
  first run pays for fresh memory pages) — person-evaluations/s;
- output: rules text and the exact EUR Decimal conversion (edges, not the engine);
- reference: ``rules.reference.entitle`` on a sample of whole dossiers, persons/s;
- ratio: engine rate / reference rate, per table, in the same run;
- warehouse run: what the ``entitlements`` asset does (``build_entitlements``: dossier
  chunks read from DuckDB, every table and the default scenarios, each written back
  before the next) on a warehouse holding the population, in a fresh process: wall
  time and peak RSS. This is the memory figure the target is about; the in-memory
  figures above hold the whole population at once (about 0.5 KiB per person).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

POPULATION = r"""
import sys
from pathlib import Path
import polars as pl
from data_contracts.demo import write_demo_extracts
from pipelines.entitlements import load_persons
from pipelines.ingest import ingest_paths
from pipelines.warehouse import connect

size, work, worst = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "worst"
db = work / "demo.duckdb"
if not db.exists():
    write_demo_extracts(work / "extracts", seed=0)
    with connect(db) as con:
        ingest_paths(con, [work / "extracts"])
with connect(db, read_only=True) as con:
    base = load_persons(con)
ids = ("dossier_id", "person_id", "annex_parent_id")
population = pl.concat(
    [base.with_columns(pl.col(c) + f"~{i}" for c in ids) for i in range(size // base.height + 1)]
).head(size)
if worst:  # every person a profile of their own: a distinct AMAAR estimate each
    population = population.with_columns(
        (pl.int_range(1, pl.len() + 1) / 100).cast(pl.Decimal(14, 2))
        .alias("amaar_estimated_cost_eur")
    )
population.write_parquet(work / f"population-{size}-{sys.argv[3]}.parquet")
"""

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import polars as pl
from rules.engine import prepare, evaluate_cents, with_rules_text, to_eur
from rules.parameters import load_table
from rules.reference import entitle

path = Path(sys.argv[1])
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
population = pl.read_parquet(path)
out = {"persons": population.height, "rss_population_mib": rss()}
first_dossiers = population["dossier_id"].unique(maintain_order=True).head(12000)
sample_rows = population.filter(pl.col("dossier_id").is_in(first_dossiers.implode())).to_dicts()
start = time.perf_counter()
prepared = prepare(population)
out["prepare_s"] = time.perf_counter() - start
out["profiles"] = prepared.profiles.height
del population  # the prepared rows keep what the tables need
for name in ("2025", "2026"):
    table = load_table(name)
    start = time.perf_counter()
    evaluate_cents(prepared, table)
    first_s = time.perf_counter() - start
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
        "first_s": first_s,
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


WAREHOUSE = r"""
import sys
from pipelines.warehouse import connect
with connect(sys.argv[2]) as con:
    con.execute(
        "INSERT INTO dossier_persons BY NAME SELECT *, 0 AS file_id, 'benchmark' AS source_file,"
        f" 0 AS source_row FROM read_parquet('{sys.argv[1]}')"
    )
"""

WAREHOUSE_RUN = r"""
import json, resource, sys, time
from pipelines.entitlements import CHUNK_PERSONS, build_entitlements
from pipelines.warehouse import connect, memory_limit, scalar
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
with connect(sys.argv[1]) as con:
    rows = build_entitlements(con)
    persons = scalar(con, "SELECT count(*) FROM dossier_persons")
print(json.dumps({
    "persons": persons, "rows": rows, "seconds": time.perf_counter() - start,
    "peak_rss_mib": rss(), "chunk_persons": CHUNK_PERSONS, "duckdb_memory_limit": memory_limit(),
}))
"""


def _python(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def run_size(size: int, work: Path, mode: str) -> dict:
    """Write the population in one process, measure the engine in a fresh one."""
    _python(POPULATION, str(size), str(work), mode)
    path = work / f"population-{size}-{mode}.parquet"
    result = json.loads(_python(CHILD, str(path)).strip().splitlines()[-1])
    db = work / f"warehouse-{size}-{mode}.duckdb"
    _python(WAREHOUSE, str(path), str(db))
    path.unlink()
    result["warehouse"] = json.loads(_python(WAREHOUSE_RUN, str(db)).strip().splitlines()[-1])
    db.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--worst-case",
        action="store_true",
        help="give every person a profile of their own (a distinct AMAAR estimate)",
    )
    args = parser.parse_args()
    mode = "worst" if args.worst_case else "demo"
    with tempfile.TemporaryDirectory(prefix="reab-rules-") as tmp:
        work = Path(tmp)
        for size in args.sizes:
            r = run_size(size, work, mode)
            print(
                f"{r['persons']:>11,} persons ({mode}): prepare {r['prepare_s']:.2f} s "
                f"(once, all tables), {r['profiles']:,} distinct profiles; "
                f"peak RSS {r['peak_rss_mib']:,.0f} MiB "
                f"(population alone {r['rss_population_mib']:,.0f} MiB)"
            )
            for name in ("2025", "2026"):
                t = r[name]
                ratio = t["engine_per_s"] / t["reference_per_s"]
                print(
                    f"    table {name}: engine {t['engine_s']:.2f} s = "
                    f"{t['engine_per_s'] / 1e6:,.1f} M person-evaluations/s "
                    f"(first run {t['first_s']:.2f} s); "
                    f"reference {t['reference_per_s']:,.0f} persons/s "
                    f"(sample of {t['reference_persons']:,}); ratio {ratio:,.0f}x; "
                    f"output: rules text {t['rules_text_s']:.2f} s, "
                    f"EUR decimals {t['to_eur_s']:.2f} s"
                )
            w = r["warehouse"]
            print(
                f"    warehouse run (the entitlements asset): {w['rows']:,} rows "
                f"({w['persons']:,} persons x {w['rows'] // w['persons']} tables) in "
                f"{w['seconds']:.1f} s; peak RSS {w['peak_rss_mib']:,.0f} MiB "
                f"(chunks of {w['chunk_persons']:,} persons, DuckDB memory limit "
                f"{w['duckdb_memory_limit']})"
            )


if __name__ == "__main__":
    main()
