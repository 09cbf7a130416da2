"""Does a forecast anticipate a table change? An as-of forecast against what happened.

    .venv/bin/python benchmarks/policy_forecast.py               # the demo warehouse
    .venv/bin/python benchmarks/policy_forecast.py --db W.duckdb --as-of 2025-12

Fits the volume model on the history to the end of ``--as-of`` only (default 2025-12,
the month before the 2026 table), forecasts the following months to the warehouse's
last complete month, prices them under the table that applied then, and compares the
commitments (entitlement total under the applicable table, registration month) with
the actual ones of those months:

- static: the volumes as the history to the origin says, priced under the new table;
- with volume response: the volumes scaled per country by
  ``(support under the new table / support under the old) ** elasticity``, the
  elasticity estimated from the history to the origin (``models.response``);
- both with the working-parameter ranges drawn (``models.uncertainty``).

Prints the forecast mean and 80 %/95 % bounds, the actual, and the error in % (target:
within ±20 %), plus the elasticity the origin's history gave.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.budget import TemplatePricer  # noqa: E402
from models.forecast import interval_ranks, month_index, month_of  # noqa: E402
from models.response import draw_elasticities  # noqa: E402
from models.uncertainty import (  # noqa: E402
    log_support,
    parameter_multipliers,
    support_by_month,
    table_draws,
)
from pipelines.bands import (  # noqa: E402
    ACTUAL_YEAR_SQL,
    estimate_volume_response,
    table_in_force,
)
from pipelines.forecast import last_complete_month, load_panel, simulate  # noqa: E402
from pipelines.warehouse import connect, default_db_path  # noqa: E402
from rules.parameters import built_in_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--as-of", default="2025-12", help="origin month YYYY-MM")
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    year, month = map(int, args.as_of.split("-"))
    origin_day = date(year, month, 1)
    start = time.perf_counter()
    with connect(args.db or default_db_path(), read_only=True) as con:
        origin = month_index(origin_day)
        last = last_complete_month(con)
        if last <= origin:
            sys.exit(f"the warehouse ends at {month_of(last):%Y-%m}: nothing after the origin")
        horizon = last - origin
        sim = simulate(con, args.draws, 0, None, horizon=horizon, until=origin_day)
        panel = load_panel(con, origin_day)
        old = built_in_table(table_in_force(origin))
        new = built_in_table(table_in_force(origin + 1))
        pricer = TemplatePricer(sim.templates, sim.months, new)
        chosen = np.ones(len(sim.months), bool)
        estimate, why = estimate_volume_response(
            panel.countries, panel.first_month, panel.dossiers, sim.templates
        )
        rng = np.random.default_rng(16)
        multipliers = parameter_multipliers([new], sim.sampling.draws, rng)
        change = log_support(support_by_month(pricer, new).mean(1)) - log_support(
            support_by_month(pricer, old).mean(1)
        )
        elasticities = draw_elasticities(estimate, sim.sampling.draws, rng) if estimate else None
        drawn = table_draws(
            sim.sampling,
            pricer,
            new,
            pricer.price(new),
            chosen,
            multipliers,
            change if estimate else None,
            elasticities,
        )
        (cents, _dossiers), *_ = con.execute(
            ACTUAL_YEAR_SQL, {"start": month_of(origin + 1), "stop": month_of(last + 1)}
        ).fetchall()
        actual = float(cents) / 100
    print(
        f"as of {origin_day:%Y-%m} (history to then only), forecast "
        f"{month_of(origin + 1):%Y-%m}..{month_of(last):%Y-%m} under table {new.name} "
        f"(table {old.name} in force at the origin); {time.perf_counter() - start:.1f} s"
    )
    if estimate:
        lo, hi = estimate.interval80
        print(
            f"elasticity from the history to the origin: {estimate.elasticity:.2f} "
            f"(80 % {lo:.2f}..{hi:.2f}; {estimate.countries_changed} countries with a change)"
        )
    else:
        print(f"no elasticity from the history to the origin: {why}")
    print(f"actual commitments: {actual:,.0f} EUR")
    ranks = interval_ranks(sim.sampling.draws, (80, 95))
    variants = [("static, volumes only", drawn.static), ("static + parameters", drawn.parameters)]
    if drawn.responding is not None:
        variants.append(("with volume response + parameters", drawn.responding))
    for label, values in variants:
        ordered = np.sort(values) / 100
        mean = values.mean() / 100
        inside = ordered[ranks["lo80"]] <= actual <= ordered[ranks["hi80"]]
        print(
            f"{label:36s} mean {mean:>14,.0f}  80 % {ordered[ranks['lo80']]:>12,.0f}.."
            f"{ordered[ranks['hi80']]:<12,.0f} 95 % {ordered[ranks['lo95']]:>12,.0f}.."
            f"{ordered[ranks['hi95']]:<12,.0f} error {100 * (mean - actual) / actual:+6.1f} % "
            f"actual {'inside' if inside else 'OUTSIDE'} the 80 % band"
        )


if __name__ == "__main__":
    main()
