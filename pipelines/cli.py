"""The ``reab`` command line. Each verb calls the same library code as the Dagster assets.

Exit codes: 0 success; 1 the work ran but something needs attention (a file
rejected whole, a failed check); 2 the command itself was wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.warehouse import default_db_path, default_landing_path


def _say(message: str) -> None:
    """Print a line; terminal control characters in it (from a file name or a stored
    value) are shown escaped, never obeyed."""
    from pipelines.safe_text import for_terminal

    print(for_terminal(message), flush=True)


def _db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help=f"DuckDB warehouse file (default: $REAB_DB or {default_db_path()})",
    )


def _existing_warehouse(verb: str, args: argparse.Namespace, hint: str) -> Path | None:
    """``--db`` (or the default) when the file exists; else None, after saying what to do."""
    db = args.db or default_db_path()
    if db.exists():
        return db
    _say(f"reab {verb}: no warehouse at {db}: {hint}")
    return None


def _limit(text: str) -> int:
    """``--limit N``: a count of rows to list, 0 for all (argparse exits 2 otherwise)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all) or more, not {value}")
    return value


def _month_argument(verb: str, text: str | None):
    """``--month YYYY-MM`` as the first day of that month; None when not given; False
    (after saying why) when it is not a month."""
    from pipelines.calendar import parse_month

    if not text:
        return None
    try:
        return parse_month(text)
    except ValueError as exc:
        _say(f"reab {verb}: --{exc}")
        return False


def cmd_demo_data(args: argparse.Namespace) -> int:
    from data_contracts.demo import write_demo_extracts

    if args.scale <= 0:
        raise SystemExit("reab demo-data: --scale must be positive")
    files = write_demo_extracts(
        args.out, seed=args.seed, scale=args.scale, file_format=args.format, progress=_say
    )
    _say(f"wrote {len(files)} extract files to {args.out}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipelines.ingest import extract_files, ingest_paths
    from pipelines.warehouse import connect

    missing = [str(p) for p in args.paths if not Path(p).exists()]
    if missing:
        _say(f"reab ingest: no such file or folder: {', '.join(missing)}")
        return 2
    if not extract_files(args.paths):
        _say("reab ingest: no extract files (.csv, .parquet) found in the given paths")
        return 2
    with connect(args.db) as con:
        outcomes = ingest_paths(con, args.paths, progress=_say)
    rejected = [o for o in outcomes if o.rejected]
    new = [o for o in outcomes if o.status != "already_ingested"]
    _say(
        f"\n{len(outcomes)} files: {len(new) - len(rejected)} ingested, {len(rejected)} rejected, "
        f"{len(outcomes) - len(new)} already ingested; "
        f"{sum(o.rows_accepted for o in outcomes)} rows accepted, "
        f"{sum(o.rows_quarantined for o in outcomes)} quarantined "
        f"(warehouse: {args.db or default_db_path()})"
    )
    return 1 if rejected else 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.ingest import row_accounting_problems
    from pipelines.warehouse import connect, fetch_one

    try:
        with connect(args.db, read_only=True) as con:
            files = con.execute(
                "SELECT status, count(*), sum(rows_read), sum(rows_accepted), "
                "sum(rows_quarantined) FROM ingested_files GROUP BY 1 ORDER BY 1"
            ).fetchall()
            persons, dossiers = fetch_one(
                con, "SELECT count(*), count(DISTINCT dossier_id) FROM dossier_persons"
            )
            reasons = con.execute(
                "SELECT reason, count(*) AS n FROM quarantine GROUP BY 1 ORDER BY n DESC LIMIT 8"
            ).fetchall()
            problems = row_accounting_problems(con)
    except FileNotFoundError as exc:
        _say(str(exc))
        return 2
    _say(f"warehouse {args.db or default_db_path()}")
    for status, count, read, accepted, quarantined in files:
        _say(
            f"  {count:5d} files {status}: {read} rows read, {accepted} accepted, "
            f"{quarantined} quarantined"
        )
    _say(f"  dossier_persons: {persons} persons in {dossiers} dossiers")
    for reason, count in reasons:
        _say(f"  quarantine {count:6d} × {reason[:110]}")
    _say("  row accounting: " + ("OK" if not problems else "; ".join(problems)))
    return 1 if problems else 0


DEMO_MARKER = ".reab-demo-extracts"  # written beside demo extracts by `reab run --demo`


def _update_command(args: argparse.Namespace) -> str:
    """The exact command that brings this warehouse up to date."""
    import shlex

    return "reab update" + (f" --db {shlex.quote(str(args.db))}" if args.db else "")


def _is_default_demo_warehouse(args: argparse.Namespace) -> bool:
    """No warehouse named (neither --db nor $REAB_DB): the embedded demo default."""
    import os

    return args.db is None and not os.environ.get("REAB_DB")


def _landing_for_run(args: argparse.Namespace, db: Path) -> Path | None:
    """The landing folder ``reab run`` ingests, filled with the demo extracts only when
    asked (--demo) or for the default demo warehouse; None (after saying why) when the
    run must not go on."""
    from pipelines.ingest import extract_files

    landing = args.landing or default_landing_path()
    has_extracts = landing.exists() and bool(extract_files([landing]))
    demo_allowed = args.demo or _is_default_demo_warehouse(args)
    if not has_extracts:
        if not demo_allowed:
            _say(
                f"reab run: the landing folder {landing} holds no extracts. Give the folder of "
                f"your extracts with --landing DIR (or ingest files with `reab ingest PATH "
                f"--db {db}`, then `{_update_command(args)}`); --demo fills {landing} with "
                "the demo extracts on purpose"
            )
            return None
        from data_contracts.demo import write_demo_extracts

        _say(f"landing folder {landing} has no extracts: writing the demo extracts (seed 0)")
        write_demo_extracts(landing, seed=0, scale=1.0, progress=_say)
        (landing / DEMO_MARKER).write_text("demo extracts written by reab run (seed 0)\n")
    elif (landing / DEMO_MARKER).exists() and not demo_allowed:
        _say(
            f"reab run: {landing} holds the demo extracts (written by an earlier demo run): "
            f"they are not loaded into the named warehouse {db}. Give --landing DIR with your "
            "own extracts, or --demo to load the demo data into it on purpose"
        )
        return None
    return landing


def cmd_run(args: argparse.Namespace) -> int:
    db = (args.db or default_db_path()).resolve()
    landing = _landing_for_run(args, db)
    if landing is None:
        return 2
    return _bring_up_to_date(args, db, landing)


def cmd_update(args: argparse.Namespace) -> int:
    db = (args.db or default_db_path()).resolve()
    if args.landing is None and not db.exists():
        _say(
            f"reab update: no warehouse at {db}: ingest extracts first "
            f"(reab ingest PATH --db {db}), or give --landing DIR"
        )
        return 2
    if args.landing is not None and not args.landing.is_dir():
        _say(f"reab update: --landing {args.landing} is not a folder")
        return 2
    return _bring_up_to_date(args, db, args.landing)


def _bring_up_to_date(args: argparse.Namespace, db: Path, landing: Path | None) -> int:
    """Ingest ``landing`` (when given), then materialise every derived table that is
    missing or stale, in one Dagster run each, recorded in the persistent instance."""
    from pipelines import runs

    instance = runs.persistent_instance()
    _say(f"Dagster runs are recorded in {runs.dagster_home()} (the UI: see README, Dagster)")
    outcomes = []
    if landing is not None:
        _say(f"ingesting {landing} → {db}")
        outcomes.append(runs.execute(db, runs.ingest_assets(), landing, instance))
    stale = runs.stale(db)
    if not stale:
        _say(f"{db}: every table is up to date; nothing to run")
    else:
        _say(f"{len(stale)} tables to build in {db}:")
        for key, why in stale.items():
            _say(f"  {key.to_user_string():<20} {why}")
        outcomes.append(runs.execute(db, list(stale), instance=instance))
    for outcome in outcomes:
        for name, passed, severity in outcome.checks:
            _say(f"  check {name}: {'passed' if passed else f'FAILED ({severity})'}")
    if not all(o.success for o in outcomes):
        _say("the run failed; see the log above (and the run in the Dagster UI)")
        return 1
    for key, why in runs.stale(db).items():
        _say(f"  not built: {key.to_user_string()} ({why}; see the log above)")
    for asset, why in runs.skipped(db).items():
        _say(f"  not possible yet: {asset} ({why})")
    failed = [name for o in outcomes for name in o.failed_error_checks]
    _say("up to date" + (f"; failed checks: {failed}" if failed else ""))
    return 1 if failed else 0


QUARANTINE_SQL = """
SELECT q.file_id, q.source_file, q.source_row, q.reason,
       CASE WHEN p.file_id > q.file_id THEN 'superseded by file ' || p.file_id
            WHEN p.file_id < q.file_id THEN 'earlier version kept (file ' || p.file_id || ')'
            ELSE 'open' END AS state
FROM quarantine q
LEFT JOIN dossier_persons p
  ON p.dossier_id = json_extract_string(q.raw_values, '$.dossier_id')
 AND p.person_id = json_extract_string(q.raw_values, '$.person_id')
{where}
ORDER BY q.file_id, q.source_row
"""


def cmd_quarantine(args: argparse.Namespace) -> int:
    """The rejected rows with their file, row number and reason; whether a later file
    has since brought a valid version of the same person (superseded)."""
    from pipelines.warehouse import connect, query_frame

    db = _existing_warehouse("quarantine", args, "ingest extracts first (reab ingest)")
    if db is None:
        return 2
    with connect(db, read_only=True) as con:
        where, params = "", {}
        if args.file:
            files = query_frame(
                con,
                "SELECT file_id, file_name FROM ingested_files WHERE file_name = $f "
                "OR CAST(file_id AS VARCHAR) = $f ORDER BY file_id",
                {"f": args.file},
            )
            if files.is_empty():
                known = query_frame(
                    con,
                    "SELECT DISTINCT source_file FROM quarantine ORDER BY 1 LIMIT 10",
                )["source_file"].to_list()
                _say(
                    f"reab quarantine: no file {args.file!r} in {db} (a file name or file id); "
                    + (
                        f"files with quarantined rows: {', '.join(known)}"
                        if known
                        else "no file has quarantined rows"
                    )
                )
                return 2
            where, params = (
                "WHERE q.file_id IN (SELECT unnest($ids))",
                {"ids": files["file_id"].to_list()},
            )
        rows = query_frame(con, QUARANTINE_SQL.format(where=where), params)
    if rows.is_empty():
        _say("no quarantined rows" + (f" in {args.file}" if args.file else f" in {db}"))
        return 0
    shown = rows if args.limit == 0 else rows.head(args.limit)
    open_rows = rows.filter(state="open").height
    _say(
        f"{rows.height} quarantined rows ({open_rows} open, {rows.height - open_rows} "
        f"superseded or kept from an earlier file) in {db}"
    )
    _say("  row = record number in the file (1 = the first line under the header)")
    for row in shown.iter_rows(named=True):
        _say(f"  {row['source_file']} row {row['source_row']} [{row['state']}]: {row['reason']}")
    if shown.height < rows.height:
        _say(f"  … {rows.height - shown.height} more (--limit 0 lists all)")
    return 0


def cmd_persons(args: argparse.Namespace) -> int:
    """Person ids for ``reab explain``, by dossier or country."""
    from pipelines.warehouse import connect, query_frame

    db = _existing_warehouse("persons", args, "ingest extracts first (reab ingest)")
    if db is None:
        return 2
    conditions, params = [], {}
    if args.dossier:
        conditions.append("dossier_id = $dossier")
        params["dossier"] = args.dossier
    if args.country:
        conditions.append("(upper(nationality) = $country OR upper(return_country) = $country)")
        params["country"] = args.country.strip().upper()
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    with connect(db, read_only=True) as con:
        matching = query_frame(con, f"SELECT count(*) AS n FROM dossier_persons {where}", params)
        limit = f"LIMIT {args.limit}" if args.limit else ""
        rows = query_frame(
            con,
            f"""SELECT person_id, dossier_id, role, nationality, return_country,
                       registration_date, dossier_status
                FROM dossier_persons {where}
                ORDER BY registration_date DESC, dossier_id, person_id {limit}""",
            params,
        )
    total = matching["n"][0]
    if not total:
        asked = ", ".join(f"{k} {v}" for k, v in params.items()) or "any"
        _say(f"reab persons: no person in {db} for {asked}")
        return 1
    _say(
        f"{total} persons"
        + (f" (the {rows.height} registered last)" if rows.height < total else "")
    )
    _say(f"  {'person_id':<16} {'dossier_id':<16} {'role':<10} nat. ret. registered  status")
    for r in rows.iter_rows(named=True):
        _say(
            f"  {r['person_id']:<16} {r['dossier_id']:<16} {r['role']:<10} "
            f"{r['nationality']:<4} {r['return_country']:<4} {r['registration_date']} "
            f"{r['dossier_status']}"
        )
    _say("Explain one: reab explain PERSON_ID" + (f" --db {args.db}" if args.db else ""))
    return 0


def cmd_entitlements(args: argparse.Namespace) -> int:
    import polars as pl

    from data_contracts.errors import ExtractError
    from data_contracts.readers import SOURCE_ROW, read_extract
    from data_contracts.row_checks import REASON, check_dossiers, check_rows
    from pipelines.warehouse import connect, query_frame, registered
    from rules.engine import AMOUNT_COLUMNS, evaluate, evaluate_applicable
    from rules.parameters import ParameterDateError, ParameterFileError, load_table

    try:
        table = None if args.table == "applicable" else load_table(args.table)
    except ParameterFileError as exc:
        _say(f"reab entitlements: {exc}")
        return 2
    try:
        raw = read_extract(args.input)
    except ExtractError as exc:
        _say(f"reab entitlements: {args.input}: {exc}")
        return 1
    checked = check_rows(raw.frame, decimal_comma=raw.decimal_comma)
    valid = checked.filter(pl.col(REASON).is_null())
    valid = valid.with_columns(check_dossiers(valid).alias(REASON))
    rejected = pl.concat(
        [checked.filter(pl.col(REASON).is_not_null()), valid.filter(pl.col(REASON).is_not_null())]
    )
    persons = valid.filter(pl.col(REASON).is_null()).drop(REASON, SOURCE_ROW)
    if rejected.height or raw.malformed:
        _say(
            f"{rejected.height + len(raw.malformed)} rows break the extract contract and are "
            "left out (`reab ingest` quarantines them with their raw values):"
        )
        for row in rejected.head(5).iter_rows(named=True):
            _say(f"  record {row[SOURCE_ROW]}: {row[REASON]}")
    history = None
    db = args.db or default_db_path()
    if db.exists():
        with (
            connect(db, read_only=True) as con,
            registered(con, extract_persons=persons.select("person_id").unique()),
        ):
            history = query_frame(
                con,
                "SELECT person_id, dossier_id, dossier_status, departure_date FROM dossier_persons"
                " WHERE person_id IN (SELECT person_id FROM extract_persons)",
            )
        _say(f"five-year rule: earlier dossiers from the warehouse {db} ({history.height} rows)")
    else:
        _say(f"five-year rule: no warehouse at {db}; only previous_return_support_date is used")
    try:
        result = (
            evaluate_applicable(persons, history)
            if table is None
            else evaluate(persons, table, history)
        )
    except ParameterDateError as exc:
        _say(f"reab entitlements: {exc}")
        return 1
    _write_csv_safely(result, args.output)
    _say(f"{result.height} persons under table {args.table} → {args.output}")
    totals = result.select(pl.col(c).sum() for c in AMOUNT_COLUMNS).row(0, named=True)
    for column, amount in totals.items():
        _say(f"  {column:22s} {amount:>16,.2f} EUR")
    return 0


def _write_csv_safely(frame, output: Path) -> None:
    """The CSV export: text cells that a spreadsheet would run as a formula get a
    leading ``'`` (numbers stay numbers); written to a temporary name and renamed, so a
    failed write (a full disk) leaves the previous file, not half of one."""
    from pipelines.safe_text import spreadsheet_safe

    output.parent.mkdir(parents=True, exist_ok=True)
    safe = spreadsheet_safe(frame)
    if output.exists() and not output.is_file():  # /dev/stdout, a named pipe
        safe.write_csv(output)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        safe.write_csv(partial)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def cmd_explain(args: argparse.Namespace) -> int:
    from data_contracts.row_model import COLUMNS
    from pipelines.warehouse import connect, query_frame
    from rules.engine import evaluate, evaluate_applicable
    from rules.parameters import ParameterFileError, load_table
    from rules.reference import entitle, entitle_applicable, explain

    try:
        with connect(args.db, read_only=True) as con:
            rows = query_frame(
                con,
                f"""SELECT {", ".join(COLUMNS)} FROM dossier_persons WHERE dossier_id IN
                    (SELECT dossier_id FROM dossier_persons WHERE person_id = ?)
                    ORDER BY registration_date, dossier_id, person_id""",
                [args.person_id],
            )
    except FileNotFoundError as exc:
        _say(str(exc))
        return 2
    if rows.is_empty():
        _say(f"reab explain: no person {args.person_id!r} in the warehouse")
        return 1
    persons = rows.to_dicts()
    for name in args.table or ["2025", "2026", "applicable"]:
        try:
            table = None if name == "applicable" else load_table(name)
        except ParameterFileError as exc:
            _say(f"reab explain: {exc}")
            return 2
        reference = entitle_applicable(persons) if table is None else entitle(persons, table)
        engine = evaluate_applicable(rows) if table is None else evaluate(rows, table)
        for index, entitlement in enumerate(reference):
            if entitlement.person_id != args.person_id:
                continue
            _say(explain(entitlement))
            engine_row = engine.row(index, named=True)
            differ = [c for c, v in entitlement.amounts.items() if engine_row[c] != v]
            _say(
                "  (the vectorised engine gives the same amounts)"
                if not differ
                else f"  WARNING: the vectorised engine differs on {differ}"
            )
            _say("")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from pipelines.forecast import (
        build_budget_forecast,
        build_volume_forecast,
        ensure_year_baseline,
        simulate,
    )
    from pipelines.warehouse import connect, query_frame
    from rules.parameters import ParameterFileError

    db = _existing_warehouse("forecast", args, "ingest extracts first (reab ingest)")
    if db is None:
        return 2
    if args.draws < 1:
        _say(f"reab forecast: --draws must be at least 1, not {args.draws}")
        return 2
    as_of = _month_argument("forecast", args.as_of)
    if as_of is False:
        return 2
    cash = getattr(args, "basis", "commitment") == "cash"
    if as_of is not None and cash:
        _say("reab forecast: --as-of archives commitments only; leave out --basis cash")
        return 2
    if as_of is not None:
        return _forecast_as_of(db, as_of, args)
    try:
        with connect(db) as con:
            sim = simulate(con, args.draws, args.seed, progress=_say)
            build_volume_forecast(con, simulation=sim)
            yearly = build_budget_forecast(
                con, scenario_files=args.scenario, simulation=sim, progress=_say
            )
            ensure_year_baseline(
                con, sim.origin, args.draws, args.seed, args.scenario, progress=_say
            )
            if cash:
                from pipelines.cash import build_cash_forecast

                forecast = build_cash_forecast(
                    con, simulation=sim, scenario_files=args.scenario, progress=_say
                )
                partners = query_frame(
                    con,
                    """SELECT "key", mean, lo80, hi80 FROM budget_forecast_cash
                       WHERE level = 'partner' AND period = 'year' AND budget_line = 'total'
                         AND "table" = '2026' AND "year" = $year ORDER BY "key" """,
                    {"year": int(forecast.yearly["year"].max())},
                )
            assumptions = query_frame(
                con,
                """SELECT "table", parameter, rule, "values", unit, resting_cents,
                          resting_share FROM budget_assumptions
                   ORDER BY "table", resting_cents DESC NULLS LAST, parameter""",
            )
            uncertainty = _uncertainty_tables(con, int(yearly["year"].max()))
    except FileNotFoundError as exc:
        _say(str(exc))
        return 2
    except ParameterFileError as exc:
        _say(f"reab forecast: {exc}")
        return 2
    except ValueError as exc:
        _say(f"reab forecast: {exc}")
        return 1
    if cash:
        _print_cash(forecast, partners, sim, args)
        return 0
    year = int(yearly["year"].max())
    next_year = yearly.filter(year=year)
    _say("")
    _say(
        f"Budget {year}: dossiers registering in {year}, by table (commitments; "
        f"{args.draws:,} draws, history to {sim.origin // 12}-{sim.origin % 12 + 1:02d})"
    )
    _say(f"  {'table':<26} {'mean EUR':>16}   80 % interval EUR")
    for row in next_year.iter_rows(named=True):
        _say(
            f"  {row['table']:<26} {row['mean']:>16,.2f}   {row['lo80']:,.2f} – {row['hi80']:,.2f}"
        )
    _say("")
    _say(f"Working (not yet confirmed) parameter values and the part of the {year} total")
    _say("resting on each (the total minus the total with that value at 0):")
    for row in assumptions.iter_rows(named=True):
        if row["resting_cents"] is None:
            resting = f"not a money value ({row['unit']})"
        else:
            resting = f"{row['resting_cents'] / 100:>14,.2f} EUR ({row['resting_share']:.1%})"
        value = row["values"].split("; ")[-1]  # the value in force last
        _say(f"  {row['table']:<16} {row['rule']:<17} {row['parameter']:<31} {value:<25} {resting}")
    _print_uncertainty(year, *uncertainty)
    _say(
        "Tables: volume_forecast, budget_forecast, budget_assumptions, budget_bands, "
        "budget_bridge, volume_response (and _events, _support) in the warehouse."
    )
    return 0


def _uncertainty_tables(con, year: int):
    """The bands of ``year``, the volume response and the bridge (empty when absent)."""
    from pipelines.warehouse import query_frame, table_exists

    tables = {
        t for t in ("budget_bands", "volume_response", "budget_bridge") if table_exists(con, t)
    }
    bands = (
        query_frame(
            con,
            """SELECT "table", basis, uncertainty, mean, lo80, hi80 FROM budget_bands
               WHERE year = $y ORDER BY "table" LIKE '% - %', "table",
                     basis = 'with volume response',
                     uncertainty""",
            {"y": year},
        )
        if "budget_bands" in tables
        else None
    )
    response = (
        query_frame(con, "SELECT * FROM volume_response").row(0, named=True)
        if "volume_response" in tables
        else None
    )
    bridge = (
        query_frame(con, 'SELECT * FROM budget_bridge ORDER BY "order"')
        if "budget_bridge" in tables
        else None
    )
    return bands, response, bridge


def _print_uncertainty(year: int, bands, response, bridge) -> None:
    if response is not None:
        _say("")
        if response["identified"]:
            _say(
                f"Volume response to support (from the history): elasticity "
                f"{response['elasticity']:.2f}, 80 % {response['lo80']:.2f} – "
                f"{response['hi80']:.2f}, 95 % {response['lo95']:.2f} – {response['hi95']:.2f} "
                f"({response['countries_changed']} countries whose support changed, in "
                f"{response['months_changed']} months; the events: table "
                "volume_response_events)"
            )
            if response["note"]:
                _say(f"  note: {response['note']}")
        else:
            _say(f"No volume response could be estimated: {response['note']}")
    if bands is not None and bands.height:
        _say("")
        _say(f"Budget {year} with every uncertainty added in turn (80 % interval EUR):")
        for row in bands.iter_rows(named=True):
            _say(
                f"  {row['table']:<24} {row['basis']:<21} {row['uncertainty']:<41} "
                f"{row['mean']:>15,.2f}   {row['lo80']:,.2f} – {row['hi80']:,.2f}"
            )
    if bridge is not None and bridge.height:
        first = bridge.row(0, named=True)
        _say("")
        _say(
            f"Bridge {first['this_year']} → {first['next_year']} (tables "
            f"{first['this_year_table']} → {first['next_year_table']}; dossiers "
            f"{first['this_year_dossiers']:,.0f} → {first['next_year_dossiers']:,.0f}):"
        )
        for row in bridge.iter_rows(named=True):
            _say(f"  {row['step']:<24} {row['amount']:>16,.2f} EUR")


def _print_cash(forecast, partners, sim, args: argparse.Namespace) -> None:
    """The cash basis: next year's cash per table, after the horizon, per partner, the
    delays and the (working) payment lags."""
    from models.cash import load_payment_lags

    yearly = forecast.yearly
    year = int(yearly["year"].max())
    origin = f"{sim.origin // 12}-{sim.origin % 12 + 1:02d}"
    _say("")
    _say(
        f"Cash {year}: money paid in {year}, by table (cash basis; dossiers registering "
        f"after {origin} and {forecast.open_dossiers:,} open dossiers registered by then; "
        f"{args.draws:,} draws)"
    )
    _say(f"  {'table':<26} {'mean EUR':>16}   80 % interval EUR")
    for row in yearly.filter(year=year).iter_rows(named=True):
        _say(
            f"  {row['table']:<26} {row['mean']:>16,.2f}   {row['lo80']:,.2f} – {row['hi80']:,.2f}"
        )
    _say(f"Paid after the horizon (after {year}-12), not lost:")
    for row in yearly.filter(period="after horizon").iter_rows(named=True):
        _say(f"  {row['table']:<26} {row['mean']:>16,.2f}")
    _say(f"Cash {year} under table 2026 per reintegration partner:")
    for row in partners.iter_rows(named=True):
        _say(f"  {row['key']:<26} {row['mean']:>16,.2f}   {row['lo80']:,.2f} – {row['hi80']:,.2f}")
    _say("Registration → departure delay (months; from the departed dossiers):")
    for group, delay in forecast.delays.items():
        shares = ", ".join(f"{m}: {s:.0%}" for m, s in enumerate(delay.pmf) if s >= 0.005)
        _say(f"  {group:<26} {delay.source} ({delay.departures} departures): {shares}")
    lags = load_payment_lags()
    _say("Working parameters: months after departure each line is paid (payment_lags.yaml):")
    for line, value in lags.profiles.items():
        shares = value.values[max(value.values)]
        text = ", ".join(f"{m}: {s:g}" for m, s in enumerate(shares) if s)
        _say(f"  {value.rule:<14} {line:<22} {text}")
    _say("Tables: budget_forecast_cash (and the commitment tables) in the warehouse.")


def _forecast_as_of(db: Path, as_of, args: argparse.Namespace) -> int:
    """A forecast as it could have been made at the end of month ``as_of`` (history to
    that month only), kept in ``budget_forecast_archive``; the current tables stay."""
    from models.forecast import month_index
    from models.volume import MIN_HISTORY_MONTHS
    from pipelines.forecast import (
        build_budget_forecast,
        last_complete_month,
        months_of_history,
        simulate,
    )
    from pipelines.warehouse import connect

    with connect(db) as con:
        too_early = months_of_history(con, as_of) < MIN_HISTORY_MONTHS
        if too_early or month_index(as_of) >= last_complete_month(con):
            _say(
                f"reab forecast: --as-of {as_of:%Y-%m} must be a complete month before the "
                f"last one with at least {MIN_HISTORY_MONTHS} months of history before it"
            )
            return 2
        sim = simulate(con, args.draws, args.seed, progress=_say, until=as_of)
        yearly = build_budget_forecast(
            con, scenario_files=args.scenario, simulation=sim, progress=_say, current=False
        )
    _say("")
    _say(f"Forecast as of {as_of:%Y-%m} (history to that month), kept in budget_forecast_archive:")
    for row in yearly.iter_rows(named=True):
        _say(
            f"  {row['year']} {row['table']:<26} {row['mean']:>16,.2f}   "
            f"{row['lo80']:,.2f} – {row['hi80']:,.2f}"
        )
    return 0


def _behind(con, args: argparse.Namespace, verb: str, needed: tuple[str, ...]) -> bool:
    """True (after naming the command that fixes it) when a table ``verb`` reads is
    missing or behind the dossiers."""
    from pipelines.freshness import stale_assets

    stale = {t: why for t, why in stale_assets(con).items() if t in needed}
    for table, why in stale.items():
        _say(f"reab {verb}: table {table} is not up to date ({why})")
    if stale:
        _say(f"bring the warehouse up to date first: {_update_command(args)}")
    return bool(stale)


def cmd_monitor(args: argparse.Namespace) -> int:
    from pipelines.coverage import coverage
    from pipelines.monitoring import alarms_of_month, build_monitoring
    from pipelines.warehouse import connect, query_frame

    hint = "ingest extracts first (reab ingest PATH), then " + _update_command(args)
    db = _existing_warehouse("monitor", args, hint)
    if db is None:
        return 2
    month = _month_argument("monitor", args.month)
    if month is False:
        return 2
    try:
        with connect(db) as con:
            covered = coverage(con)
            if covered is None:
                _say(f"reab monitor: the warehouse {db} holds no dossiers: {hint}")
                return 1
            if covered.last_complete is None:
                _say(f"reab monitor: nothing to test yet: the warehouse holds {covered.describe()}")
                return 1
            problem = month and covered.month_problem(month, complete=True)
            if problem:
                _say(f"reab monitor: {problem}")
                return 2
            if _behind(con, args, "monitor", ("entitlements",)):
                return 1
            result = build_monitoring(con, progress=_say)
            month = month or result.last_month
            alarms = alarms_of_month(con, month)
            tested = query_frame(
                con,
                "SELECT count(*) AS n FROM misuse_alarms WHERE month = $m AND q_value IS NOT NULL",
                {"m": month},
            )["n"][0]
    except ValueError as exc:
        _say(f"reab monitor: {exc}")
        return 1
    _say("")
    _say(
        f"Misuse alarms {month:%Y-%m}: {alarms.height} of {tested} tests "
        f"(Benjamini-Hochberg, FDR 5 %, at least 5 dossiers)"
    )
    for row in alarms.iter_rows(named=True):
        _say(f"  - {row['reason']}")
    if result.new_alarms.height:
        _say(f"{result.new_alarms.height} alarm(s) in all months not seen before this run.")
    if covered.latest_is_partial:
        _say(
            f"{covered.latest_month:%Y-%m} is partial (registrations to {covered.latest}): "
            "it is tested once its extract covers the whole month."
        )
    _say("Tables: misuse_indicators, misuse_alarms, misuse_focus, misuse_alarm_log.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.report import ReportError, write_report
    from pipelines.warehouse import connect

    hint = "ingest extracts first (reab ingest PATH), then " + _update_command(args)
    db = _existing_warehouse("report", args, hint)
    if db is None:
        return 2
    month = _month_argument("report", args.month)
    if month is False:
        return 2
    languages = args.lang or ["nl", "fr", "en"]
    try:
        with connect(db, read_only=True) as con:
            if _behind(con, args, "report", ("entitlements", "table_comparison")):
                return 2
            written = write_report(con, args.out, month, languages, source=db.name, progress=_say)
    except ReportError as exc:
        _say(f"reab report: {exc}")
        return 2
    first = written[0].report
    _say("")
    _say(f"Management report {first.month:%Y-%m}:")
    for warning in first.warnings:
        _say(f"  ! {warning}")
    for label, value in first.facts:
        _say(f"  {label}: {value}")
    for files in written:
        _say(f"  [{files.report.lang}] " + "  ".join(str(p) for p in files.paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reab", description="Budget and monitoring pipeline for voluntary returns (REAB)."
    )
    verbs = parser.add_subparsers(dest="verb", required=True)

    demo = verbs.add_parser("demo-data", help="write synthetic anonymised monthly extracts")
    demo.add_argument("--out", type=Path, required=True, help="folder to write the extracts to")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1)")
    demo.add_argument("--format", choices=("csv", "parquet"), default="csv")
    demo.set_defaults(func=cmd_demo_data)

    ingest = verbs.add_parser("ingest", help="ingest extract files or folders into the warehouse")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _db_argument(ingest)
    ingest.set_defaults(func=cmd_ingest)

    status = verbs.add_parser("status", help="what the warehouse holds, and whether it adds up")
    _db_argument(status)
    status.set_defaults(func=cmd_status)

    entitlements = verbs.add_parser(
        "entitlements", help="every person of an extract under a table, with rule ids"
    )
    entitlements.add_argument(
        "--table",
        required=True,
        metavar="{2025,2026,applicable,SCENARIO.yaml}",
        help="a table, the table that applies per dossier, or a scenario file",
    )
    entitlements.add_argument("input", type=Path, metavar="INPUT", help="extract (CSV or Parquet)")
    entitlements.add_argument("--output", type=Path, required=True, help="CSV to write")
    _db_argument(entitlements)
    entitlements.set_defaults(func=cmd_entitlements)

    explain = verbs.add_parser("explain", help="each amount of one person with its rule and source")
    explain.add_argument("person_id", metavar="PERSON_ID")
    explain.add_argument(
        "--table",
        action="append",
        metavar="TABLE",
        help="2025, 2026, applicable or a scenario file (repeatable; default: all three)",
    )
    _db_argument(explain)
    explain.set_defaults(func=cmd_explain)

    forecast = verbs.add_parser(
        "forecast",
        help="volumes and budget for the rest of the year and the next, under every table",
    )
    forecast.add_argument("--draws", type=int, default=1000, help="joint draws (default 1000)")
    forecast.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    forecast.add_argument(
        "--scenario",
        action="append",
        type=Path,
        default=None,
        metavar="FILE",
        help="scenario file to price as well (repeatable; default: rules/scenarios/*.yaml)",
    )
    forecast.add_argument(
        "--as-of",
        default=None,
        metavar="YYYY-MM",
        help="forecast from the history to this month only, as it could have been made then "
        "(kept in budget_forecast_archive for the report's spend against forecast; the "
        "current forecast tables are left as they are)",
    )
    forecast.add_argument(
        "--basis",
        choices=("commitment", "cash"),
        default="commitment",
        help="commitment (default): a dossier's cost in its registration month; cash: "
        "in the months it is paid (also writes budget_forecast_cash and prints it)",
    )
    _db_argument(forecast)
    forecast.set_defaults(func=cmd_forecast)

    monitor = verbs.add_parser(
        "monitor", help="misuse indicators and alarms per country; prints a month's alarms"
    )
    monitor.add_argument(
        "--month",
        default=None,
        help="month to print, YYYY-MM (default: the latest complete month)",
    )
    _db_argument(monitor)
    monitor.set_defaults(func=cmd_monitor)

    report = verbs.add_parser(
        "report", help="the monthly management report: HTML, PDF and XLSX per language"
    )
    report.add_argument(
        "--month",
        default=None,
        help="month reported on, YYYY-MM (default: the latest month with data; a month "
        "the extracts do not cover to its end is shown as partial, to date)",
    )
    report.add_argument(
        "--lang",
        action="append",
        choices=["nl", "fr", "en"],
        help="language (repeat for several; default: nl, fr and en)",
    )
    report.add_argument(
        "--out", type=Path, default=Path("reports"), help="output folder (default: reports/)"
    )
    _db_argument(report)
    report.set_defaults(func=cmd_report)

    update = verbs.add_parser(
        "update",
        help="bring a warehouse up to date: build every table that is missing or stale",
    )
    _db_argument(update)
    update.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="also ingest the new extracts of this folder first (default: ingest nothing)",
    )
    update.set_defaults(func=cmd_update)

    run = verbs.add_parser(
        "run", help="ingest the landing folder, then build what is missing or stale"
    )
    _db_argument(run)
    run.add_argument(
        "--landing",
        type=Path,
        default=None,
        help=f"folder of extracts (default: $REAB_LANDING or {default_landing_path()})",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="fill an empty landing folder with the demo extracts (done without asking "
        "only for the default demo warehouse)",
    )
    run.set_defaults(func=cmd_run)

    quarantine = verbs.add_parser(
        "quarantine", help="the rejected rows: file, row number, reason, superseded or not"
    )
    quarantine.add_argument("--file", default=None, help="one file (its name or file id)")
    quarantine.add_argument(
        "--limit", type=_limit, default=50, help="rows to list (default 50; 0 lists all)"
    )
    _db_argument(quarantine)
    quarantine.set_defaults(func=cmd_quarantine)

    persons = verbs.add_parser(
        "persons", help="person ids (for reab explain) by dossier or country"
    )
    persons.add_argument("--dossier", default=None, help="a dossier id")
    persons.add_argument(
        "--country", default=None, help="nationality or return country (ISO alpha-3, e.g. MNG)"
    )
    persons.add_argument(
        "--limit", type=_limit, default=20, help="persons to list (default 20; 0 lists all)"
    )
    _db_argument(persons)
    persons.set_defaults(func=cmd_persons)
    return parser


_DAMAGED = (
    "not a valid duckdb database file",
    "corrupt",
    "could not read enough bytes",
    "checksum",
)
_DISK_FULL = ("no space left on device", "disk quota exceeded", "disk is full")


def _failed_file(args: argparse.Namespace, text: str) -> tuple[str, bool]:
    """The file an error names (in quotes), else the warehouse; and whether it is the
    warehouse (or one of its own files: ``.wal``, ``.tmp``)."""
    import re

    db = str(getattr(args, "db", None) or default_db_path())
    named = re.search(r'"([^"]+)"', text)
    if not named:
        return db, True
    path = named.group(1)
    return path, Path(path).name.startswith(Path(db).name)


def _fault(args: argparse.Namespace, exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for a full disk or a damaged warehouse;
    None for any other error (a bug: its traceback is shown)."""
    import errno

    import duckdb

    verb = f"reab {args.verb}"
    if isinstance(exc, OSError) and not isinstance(exc, duckdb.Error):
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        where = exc.filename or getattr(args, "db", None) or default_db_path()
        return (
            f"{verb}: the disk is full while writing {where}; nothing of the failed step "
            "was kept: free some space and run it again",
            1,
        )
    text = str(exc)
    lower = text.lower()
    if any(sign in lower for sign in _DISK_FULL):
        where, _ = _failed_file(args, text)
        return (
            f"{verb}: the disk is full while writing {where}; nothing of the failed step "
            "was kept: free some space and run it again",
            1,
        )
    detail = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    damaged = isinstance(exc, duckdb.SerializationException | duckdb.InternalException)
    if damaged or any(sign in lower for sign in _DAMAGED):
        path, warehouse = _failed_file(args, text)
        what = "the warehouse file" if warehouse else "the file"
        return (
            f"{verb}: {what} {path} cannot be read (it is damaged or not a DuckDB file): "
            f"restore it from a backup or remove it (DuckDB: {detail})",
            2,
        )
    if isinstance(exc, duckdb.IOException):
        lock = "lock" in lower
        hint = " (another process is writing to it; wait for it to finish and try again)"
        return f"{verb}: cannot open the warehouse: {detail}{hint if lock else ''}", 2
    return None


def main(argv: list[str] | None = None) -> int:
    import duckdb

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except (duckdb.Error, OSError) as exc:
        fault = _fault(args, exc)
        if fault is None:
            raise
        message, code = fault
        _say(message)
        return code


if __name__ == "__main__":
    sys.exit(main())
