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
    print(message, flush=True)


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


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.ingest import extract_files

    landing = args.landing or default_landing_path()
    db = (args.db or default_db_path()).resolve()
    if not (landing.exists() and extract_files([landing])):
        from data_contracts.demo import write_demo_extracts

        _say(f"landing folder {landing} has no extracts: writing the demo extracts (seed 0)")
        write_demo_extracts(landing, seed=0, scale=1.0, progress=_say)
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.jobs import MAIN_JOB

    _say(f"running {MAIN_JOB} on {landing} → {db}")
    instance = dg.DagsterInstance.get() if _has_dagster_home() else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(MAIN_JOB).execute_in_process(
        run_config={
            "resources": {"warehouse": {"config": {"database": str(db)}}},
            "ops": {"ingest_extracts": {"config": {"paths": [str(landing)]}}},
            "loggers": {"console": {"config": {"log_level": "INFO"}}},
        },
        instance=instance,
        raise_on_error=False,
    )
    failed_checks = []
    for evaluation in result.get_asset_check_evaluations():
        mark = "passed" if evaluation.passed else f"FAILED ({evaluation.severity.value})"
        _say(f"  check {evaluation.asset_key.to_user_string()}.{evaluation.check_name}: {mark}")
        if not evaluation.passed and evaluation.severity.value == "ERROR":
            failed_checks.append(evaluation.check_name)
    if not result.success:
        _say(f"{MAIN_JOB} failed; see the log above")
        return 1
    _say(f"{MAIN_JOB} succeeded" + (f"; failed checks: {failed_checks}" if failed_checks else ""))
    return 1 if failed_checks else 0


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
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result.write_csv(args.output)
    _say(f"{result.height} persons under table {args.table} → {args.output}")
    totals = result.select(pl.col(c).sum() for c in AMOUNT_COLUMNS).row(0, named=True)
    for column, amount in totals.items():
        _say(f"  {column:22s} {amount:>16,.2f} EUR")
    return 0


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
            assumptions = query_frame(
                con,
                """SELECT "table", parameter, rule, "values", unit, resting_cents,
                          resting_share FROM budget_assumptions
                   ORDER BY "table", resting_cents DESC NULLS LAST, parameter""",
            )
    except FileNotFoundError as exc:
        _say(str(exc))
        return 2
    except ParameterFileError as exc:
        _say(f"reab forecast: {exc}")
        return 2
    except ValueError as exc:
        _say(f"reab forecast: {exc}")
        return 1
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
    _say("Tables: volume_forecast, budget_forecast, budget_assumptions in the warehouse.")
    return 0


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


def cmd_monitor(args: argparse.Namespace) -> int:
    from pipelines.monitoring import alarms_of_month, build_monitoring
    from pipelines.warehouse import connect, query_frame

    db = _existing_warehouse("monitor", args, "ingest extracts first (reab ingest)")
    if db is None:
        return 2
    month = _month_argument("monitor", args.month)
    if month is False:
        return 2
    try:
        with connect(db) as con:
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
    _say("Tables: misuse_indicators, misuse_alarms, misuse_focus, misuse_alarm_log.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.report import ReportError, write_report
    from pipelines.warehouse import connect

    db = _existing_warehouse("report", args, "run the pipeline first (reab run)")
    if db is None:
        return 2
    month = _month_argument("report", args.month)
    if month is False:
        return 2
    languages = args.lang or ["nl", "fr", "en"]
    try:
        with connect(db, read_only=True) as con:
            written = write_report(con, args.out, month, languages, source=db.name, progress=_say)
    except ReportError as exc:
        _say(f"reab report: {exc}")
        return 2
    first = written[0].report
    _say("")
    _say(f"Management report {first.month:%Y-%m}:")
    for label, value in first.facts:
        _say(f"  {label}: {value}")
    for files in written:
        _say(f"  [{files.report.lang}] " + "  ".join(str(p) for p in files.paths))
    return 0


def _has_dagster_home() -> bool:
    import os

    return bool(os.environ.get("DAGSTER_HOME"))


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
    _db_argument(forecast)
    forecast.set_defaults(func=cmd_forecast)

    monitor = verbs.add_parser(
        "monitor", help="misuse indicators and alarms per country; prints a month's alarms"
    )
    monitor.add_argument(
        "--month", default=None, help="month to print, YYYY-MM (default: the latest complete)"
    )
    _db_argument(monitor)
    monitor.set_defaults(func=cmd_monitor)

    report = verbs.add_parser(
        "report", help="the monthly management report: HTML, PDF and XLSX per language"
    )
    report.add_argument(
        "--month", default=None, help="month reported on, YYYY-MM (default: the latest complete)"
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

    run = verbs.add_parser("run", help="run the main Dagster job end to end")
    _db_argument(run)
    run.add_argument(
        "--landing",
        type=Path,
        default=None,
        help=f"folder of extracts (default: $REAB_LANDING or {default_landing_path()}); "
        "an empty one is filled with the demo extracts",
    )
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    import duckdb

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except duckdb.IOException as exc:
        _say(f"reab {args.verb}: cannot open the warehouse: {exc}")
        if "lock" in str(exc).lower():
            _say("another process is writing to it; wait for it to finish and try again")
        return 2


if __name__ == "__main__":
    sys.exit(main())
