"""The management report: files written, workbook values against the warehouse, the
small-cell rule on a crafted warehouse, the language, and the Dagster asset/schedules."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import dagster as dg
import openpyxl
import polars as pl
import pytest

from models.forecast import month_index, month_of
from pipelines.calendar import easter_sunday, first_working_day, is_working_day
from pipelines.cli import main
from pipelines.defs.report import REPORT_MONTH_TAG, management_report, monthly_report_schedule
from pipelines.defs.resources import WarehouseResource
from pipelines.demo import insert_typed_persons
from pipelines.entitlements import build_entitlements, build_table_comparison
from pipelines.report import ReportError, build_report, write_report
from pipelines.report.render_xlsx import sheet_names
from pipelines.warehouse import connect, fetch_one, query_frame, registered, scalar
from tests.factories import PERSONS_SCHEMA, person, typed_row


@pytest.fixture(scope="module")
def english(built_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with connect(built_warehouse, read_only=True) as con:
        (files,) = write_report(con, out, languages=["en"])
    return files


def _rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def _by_first_cell(rows: list[tuple]) -> dict:
    return {row[0]: row for row in rows[1:]}


def test_reab_report_writes_html_pdf_and_xlsx_per_language(built_warehouse, tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["report", "--db", str(built_warehouse), "--out", str(out), "--lang", "nl"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and all(n.startswith("reab-report-") for n in names)
    assert {n.rsplit(".", 1)[1] for n in names} == {"html", "pdf", "xlsx"}
    pdf = next(out.glob("*.pdf")).read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 8
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "Begrotingslijn" in html and "Budget line" not in html
    printed = capsys.readouterr().out
    assert "Management report" in printed and str(next(out.glob("*.xlsx"))) in printed


def test_a_month_outside_the_data_is_refused_with_the_range(built_warehouse, tmp_path, capsys):
    assert (
        main(["report", "--db", str(built_warehouse), "--out", str(tmp_path), "--month", "2031-01"])
        == 2
    )
    assert "holds registrations from 2019-01" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def test_workbook_sheets_formats_and_headers(english):
    book = openpyxl.load_workbook(english.xlsx, data_only=True)
    expected = ["Summary", *sheet_names(english.report).values()]
    assert book.sheetnames == expected
    for name in expected[1:]:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        header = [cell for cell in sheet[1] if cell.value is not None]
        assert header and all(cell.font.bold for cell in header), (name, header)
    budget = book[sheet_names(english.report)["budget"]]
    total = _by_first_cell(_rows(budget))["Total (without tickets)"]
    assert all(isinstance(v, int | float) for v in total[1:])  # numbers, not text
    assert "€" in budget.cell(row=2, column=2).number_format
    spend = book[sheet_names(english.report)["spend"]]
    assert spend.cell(row=2, column=1).number_format == "yyyy-mm"  # a month, as a date
    assert spend.cell(row=2, column=2).number_format == "#,##0"  # dossiers
    backtest = book[sheet_names(english.report)["backtest"]]
    assert backtest.cell(row=2, column=6).number_format == "0.0%"  # 80 % coverage
    assert 0 <= backtest.cell(row=2, column=6).value <= 1


def test_workbook_values_match_the_warehouse(english, built_warehouse):
    book = openpyxl.load_workbook(english.xlsx, data_only=True)
    names = sheet_names(english.report)
    report = english.report
    with connect(built_warehouse, read_only=True) as con:
        year = scalar(con, "SELECT max(year) FROM budget_forecast")
        totals = query_frame(
            con,
            """SELECT "table", mean, lo80, hi80 FROM budget_forecast WHERE level = 'total'
               AND period = 'year' AND year = $y AND budget_line = 'total'""",
            {"y": year},
        )
        commitments = query_frame(
            con,
            """SELECT date_trunc('month', p.registration_date)::DATE AS month,
                      sum(e.total) AS commitments
               FROM dossier_persons p JOIN entitlements e USING (dossier_id, person_id)
               WHERE e."table" = 'applicable' AND p.dossier_status IN ('departed', 'registered')
                 AND year(p.registration_date) = $y GROUP BY 1""",
            {"y": report.month.year},
        )
        backtest = dict(
            query_frame(con, "SELECT country_group, mase_model FROM forecast_backtest").rows()
        )
        alarms = scalar(
            con,
            "SELECT count(*) FROM misuse_alarms WHERE alarm AND month BETWEEN $a AND $b",
            {"a": month_of(month_index(report.month) - 11), "b": report.month},
        )
    budget = _by_first_cell(_rows(book[names["budget"]]))["Total (without tickets)"]
    mean = dict(totals.select("table", "mean").rows())
    # 2025 mean, 80 % low/high, 95 % low/high, then 2026 ...
    assert Decimal(str(budget[1])) == mean["2025"]
    assert Decimal(str(budget[6])) == mean["2026"]
    assert Decimal(str(budget[11])) == mean["2026 - 2025"]
    assert Decimal(str(budget[7])) == totals.filter(table="2026")["lo80"].item()

    spend = _rows(book[names["spend"]])
    actual = {r[0].date(): r[3] for r in spend[1:] if hasattr(r[0], "date") and r[3] is not None}
    expected = {m: float(c) for m, c in commitments.rows() if m <= report.month}
    assert actual.keys() >= expected.keys()
    assert all(abs(actual[m] - expected[m]) < 0.005 for m in expected)
    to_date = next(r for r in spend if str(r[0]).endswith("to date"))
    assert abs(to_date[3] - sum(expected.values())) < 0.01

    groups = _by_first_cell(_rows(book[names["backtest"]]))
    assert {g: round(r[2], 9) for g, r in groups.items()} == {
        g: round(v, 9) for g, v in backtest.items()
    }
    listed = [r for r in _rows(book[names["alarms"]])[1:] if hasattr(r[0], "date")]
    assert len(listed) == alarms


def test_the_comparison_sheet_adds_up_and_shows_no_small_count(english, built_warehouse):
    year = english.report.month.year
    with connect(built_warehouse, read_only=True) as con:
        persons, better, difference = fetch_one(
            con,
            """SELECT sum(persons), sum(persons_better_off), sum(difference)
               FROM table_comparison WHERE registration_year = $y AND budget_line = 'total'""",
            {"y": year},
        )
    rows = _rows(
        openpyxl.load_workbook(english.xlsx, data_only=True)[
            sheet_names(english.report)["comparison"]
        ]
    )
    body, total = rows[1:-1], rows[-1]
    assert total[0] == "Total" and total[2] == persons and total[6] == better
    assert abs(Decimal(str(total[5])) - difference) < Decimal("0.01")
    for column in (2, 6, 7):  # persons, better off, worse off
        numbers = [r[column] for r in body if isinstance(r[column], int | float)]
        assert all(n == 0 or n >= 5 for n in numbers)
        assert sum(numbers) == total[column]  # the pool makes the rows add up
    assert any(r[2] == "<5" for r in body)  # the demo has small countries


# --- the small-cell rule on a crafted warehouse ---------------------------------------

CRAFTED = [  # country, persons, of whom better off, worse off (the rest unchanged)
    ("SYR", 40, 30, 10),
    ("GEO", 25, 2, 23),  # 2 better off: a small part hides the row
    ("MNG", 3, 3, 0),  # a small country
    ("COL", 12, 12, 0),
    ("PER", 9, 0, 9),
    ("TUR", 20, 10, 9),  # 1 unchanged (persons - better - worse): hidden too
    ("AFG", 10, 0, 0),
]


def crafted_warehouse(path) -> None:
    """One person per dossier, March 2026; the 2026 totals set against the 2025 ones so
    that each country has exactly the better/worse/unchanged counts of ``CRAFTED``."""
    rows, changes = [], {}
    for country, persons, better, worse in CRAFTED:
        for i in range(persons):
            key = f"{len(rows) + 1:04d}"
            rows.append(
                person(
                    dossier_id=f"D{key}",
                    person_id=f"P{key}",
                    nationality=country,
                    return_country=country,
                    registration_date=f"2026-03-{25 + len(rows) % 4}",
                    departure_date="2026-04-02",
                )
            )
            changes[f"P{key}"] = 100 if i < better else (-100 if i < better + worse else 0)
    persons = pl.DataFrame([typed_row(r) for r in rows], schema=PERSONS_SCHEMA)
    change = pl.DataFrame({"person_id": list(changes), "change": list(changes.values())})
    with connect(path) as con:
        insert_typed_persons(con, persons, "crafted")
        build_entitlements(con)
        build_table_comparison(con)
        with registered(con, changes=change):
            con.execute(
                """UPDATE entitlements e SET total = e2.total + c.change
                   FROM changes c, entitlements e2
                   WHERE e.person_id = c.person_id AND e."table" = '2026'
                     AND e2.person_id = c.person_id AND e2."table" = '2025'"""
            )


def test_small_cells_on_a_crafted_warehouse(tmp_path):
    """Counts below 5 (and what would reveal them) are hidden in the workbook and the page;
    the rows shown and the pool add up to the totals."""
    db = tmp_path / "crafted.duckdb"
    crafted_warehouse(db)
    with connect(db, read_only=True) as con:
        (files,) = write_report(con, tmp_path / "out", month=date(2026, 3, 1), languages=["en"])
    rows = _rows(
        openpyxl.load_workbook(files.xlsx, data_only=True)[sheet_names(files.report)["comparison"]]
    )
    shown = {r[0]: r for r in rows[1:]}
    assert shown["MNG"][2] == "<5" and shown["MNG"][3] == "x"  # count and its money hidden
    assert shown["GEO"][2] == "x" and shown["GEO"][6] == "x"  # a small part hides the row
    assert shown["TUR"][2] == "x"  # its 1 unchanged would be 20 - 10 - 9
    # the pool: MNG, GEO, TUR (small); PER (complement, the smallest shown) and AFG
    # (its 10 unchanged lift the pool's 1 unchanged to 11)
    assert shown["PER"][2] == "x" and shown["AFG"][2] == "x"
    assert shown["other countries"][2] == 3 + 25 + 20 + 9 + 10
    assert shown["COL"][2:3] == (12,) and shown["SYR"][6:8] == (30, 10)
    total = shown["Total"]
    assert total[2] == sum(p for _, p, _, _ in CRAFTED)
    assert total[6] == sum(b for _, _, b, _ in CRAFTED)
    for column in (2, 6, 7):  # persons, better off, worse off
        numbers = [r[column] for r in rows[1:-1] if isinstance(r[column], int | float)]
        assert all(n == 0 or n >= 5 for n in numbers)
        assert sum(numbers) == total[column]  # the pool makes the rows add up
    hidden_parts = [r[6] for r in rows[1:-1] if r[2] in ("x", "<5")]
    assert set(hidden_parts) == {"x"}  # a hidden row's parts never say <5 (0 vs 5+)
    html = files.html.read_text(encoding="utf-8")
    assert ">MNG</td>" in html and ">&lt;5</td>" in html


def test_a_small_alarm_hides_its_figures(built_warehouse, tmp_path):
    db = tmp_path / "alarm.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    with connect(db) as con:
        con.execute(
            """UPDATE misuse_alarms SET observed = 3, alarm = true
               WHERE month = (SELECT max(month) FROM misuse_alarms) AND country =
                 (SELECT min(country) FROM misuse_alarms)"""
        )
    with connect(db, read_only=True) as con:
        (files,) = write_report(con, tmp_path / "out", languages=["en"])
    alarms = _rows(
        openpyxl.load_workbook(files.xlsx, data_only=True)[sheet_names(files.report)["alarms"]]
    )
    small = [r for r in alarms[1:] if r[5] == "<5"]
    # the reason would show the count, and expected/bound/q would narrow it down
    assert small and all(r[6:10] == ("x", "x", "x", "x") for r in small)


# --- labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title", "number"),
    [("nl", "Vrijwillige terugkeer", "€ 1.234"), ("fr", "Retour volontaire", "1\u202f234 €")],
)
def test_languages(built_warehouse, lang, title, number):
    with connect(built_warehouse, read_only=True) as con:
        report = build_report(con, lang=lang)
    assert report.title.startswith(title)
    from pipelines.report.labels import Labels

    assert Labels(lang).eur(1234) == number


# --- Dagster ---------------------------------------------------------------------------


def test_the_asset_writes_the_report_with_metadata(built_warehouse, tmp_path):
    db = tmp_path / "copy.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    result = dg.materialize(
        [management_report],
        resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={
            "ops": {
                "management_report": {
                    "config": {"languages": ["en"], "out_dir": str(tmp_path / "out")}
                }
            }
        },
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("management_report")
    metadata = materialization.metadata
    files = metadata["files"].value
    assert len(files) == 3 and all((tmp_path / "out" / f.rsplit("/", 1)[1]).exists() for f in files)
    assert "Budget" in metadata["budget_preview"].value


def _evaluate(day: datetime, instance=None):
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=day)
    return monthly_report_schedule.evaluate_tick(context)


def test_the_report_runs_on_the_first_working_day_for_the_month_before():
    brussels = ZoneInfo("Europe/Brussels")
    with dg.instance_for_test() as instance:
        # 1 January 2026 is a holiday: the report runs on Friday 2 January, for December.
        skipped = _evaluate(datetime(2026, 1, 1, 7, tzinfo=brussels), instance)
        assert not skipped.run_requests and "first: 2026-01-02" in skipped.skip_message
        (request,) = _evaluate(datetime(2026, 1, 2, 7, tzinfo=brussels), instance).run_requests
        assert request.tags[REPORT_MONTH_TAG] == "2025-12"
        config = request.run_config["ops"]["management_report"]["config"]
        assert config == {"month": "2025-12", "fail_on_warnings": True}
        # Saturday 3 January is no working day
        assert not _evaluate(datetime(2026, 1, 3, 7, tzinfo=brussels), instance).run_requests
        # 1 November 2026 is a Sunday (and All Saints): Monday 2 November.
        assert not _evaluate(datetime(2026, 11, 1, 7, tzinfo=brussels), instance).run_requests
        assert _evaluate(datetime(2026, 11, 2, 7, tzinfo=brussels), instance).run_requests


def test_a_failed_report_is_tried_again_the_next_working_day_until_it_succeeds():
    brussels = ZoneInfo("Europe/Brussels")
    with dg.instance_for_test() as instance:
        tags = {REPORT_MONTH_TAG: "2026-10"}
        instance.add_run(_run(tags, dg.DagsterRunStatus.FAILURE))
        (retry,) = _evaluate(datetime(2026, 11, 3, 7, tzinfo=brussels), instance).run_requests
        assert retry.run_key == "report-2026-10-2026-11-03"
        instance.add_run(_run(tags, dg.DagsterRunStatus.SUCCESS))
        done = _evaluate(datetime(2026, 11, 4, 7, tzinfo=brussels), instance)
        assert not done.run_requests and "was written by run" in done.skip_message


def _run(tags: dict, status):
    return dg.DagsterRun(job_name="report_job", run_id=str(uuid.uuid4()), tags=tags, status=status)


def test_belgian_working_days():
    assert [easter_sunday(y) for y in (2024, 2025, 2026)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
    ]
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 5, 14))  # Ascension
    assert not is_working_day(date(2026, 7, 21))  # National Day
    assert first_working_day(2027, 5) == date(2027, 5, 3)  # Sat 1 May (Labour Day)
    assert first_working_day(2026, 6) == date(2026, 6, 1)


def test_definitions_have_the_schedules_and_the_sensor():
    from pipelines.definitions import defs

    assert {s.name for s in defs.schedules} >= {
        "nightly_pipeline_schedule",
        "monthly_report_schedule",
    }
    assert "landing_folder_sensor" in {s.name for s in defs.sensors}
    assert defs.resolve_job_def("report_job") is not None


def test_actual_months_stand_next_to_the_forecast_made_before_the_year(english, built_warehouse):
    year = english.report.month.year
    with connect(built_warehouse, read_only=True) as con:
        baseline = dict(
            query_frame(
                con,
                """SELECT month, mean FROM budget_forecast_archive
                   WHERE origin = $o AND "table" = '2026' AND period = 'month'
                     AND budget_line = 'total'""",
                {"o": date(year - 1, 12, 1)},
            ).rows()
        )
    assert baseline, "the fixture archives a forecast as of December before the last year"
    spend = _rows(
        openpyxl.load_workbook(english.xlsx, data_only=True)[sheet_names(english.report)["spend"]]
    )
    months = [r for r in spend[1:] if hasattr(r[0], "date") and r[3] is not None]
    assert months and all(Decimal(str(r[6])) == baseline[r[0].date()] for r in months)
    to_date = next(r for r in spend if str(r[0]).endswith("to date"))
    shown = [m for m in months if m[0].date() <= english.report.month]
    assert abs(Decimal(str(to_date[6])) - sum(baseline[m[0].date()] for m in shown)) < 0.01
    labels = dict(english.report.facts)
    assert f"To date against the forecast of {year - 1}-12" in labels
    assert english.html.read_text().count(f"Forecast of {year - 1}-12") >= 1


def test_no_english_in_the_dutch_report_and_no_ids_in_quarantine_reasons(built_warehouse, tmp_path):
    db = tmp_path / "q.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    with connect(db) as con:
        rows = [
            "annex_parent_id 'Pdeadbeef01' is not a person in the same dossier",
            "age_at_registration: '130' is above the maximum 120; "
            "dossier has 0 principals (exactly one required)",
        ]
        for i, reason in enumerate(rows):
            con.execute(
                "INSERT INTO quarantine VALUES (1, 'f.csv', $row, $reason, '{}')",
                {"row": i + 3, "reason": reason},
            )
        # the fixture has no alarm: plant one (a tested GLM value of the last months)
        con.execute(
            """UPDATE misuse_alarms SET alarm = true, observed = 12
               WHERE rowid = (SELECT rowid FROM misuse_alarms
                              WHERE method = 'negbin_glm' AND q_value IS NOT NULL
                              ORDER BY month DESC LIMIT 1)"""
        )
    with connect(db, read_only=True) as con:
        report = build_report(con, lang="nl")
    reasons = dict(report.table("quarantine").rows)
    assert reasons == {
        "annex_parent_id '…' is not a person in the same dossier": 1,
        "age_at_registration": 1,
        "dossier has 0 principals (exactly one required)": 1,
    }
    names = dict((r[0], r[1]) for r in report.table("comparison").rows)
    assert names.get("SYR") == "Syrië"
    groups = [r[0] for r in report.table("backtest").rows]
    assert "totaal" in groups and "total" not in groups
    assert report.table("alarms").rows  # the planted alarm
    for alarm in report.table("alarms").rows:
        assert "GLM" not in str(alarm[9]) or "eigen geschiedenis" in str(alarm[9])


def test_warnings_when_the_tables_are_behind_the_dossiers(built_warehouse, tmp_path):
    db = tmp_path / "behind.duckdb"
    db.write_bytes(built_warehouse.read_bytes())
    with connect(db) as con:
        con.execute(
            """DELETE FROM entitlements WHERE dossier_id IN
               (SELECT dossier_id FROM dossier_persons LIMIT 2)"""
        )
        origin = scalar(con, "SELECT max(origin) FROM budget_forecast")
    with connect(db, read_only=True) as con:
        fresh = build_report(con)
        earlier = build_report(con, month=month_of(month_index(origin) - 3))
    assert any("not in entitlements yet" in w for w in fresh.warnings)
    assert any("earlier month" in w for w in earlier.warnings)
    # a report on an earlier month shows nothing after it: no later actual, no projection
    months = [r[0] for r in earlier.table("spend").rows if isinstance(r[0], date)]
    assert max(months) <= earlier.month
    assert not any(str(r[0]).startswith("Projected") for r in earlier.table("spend").rows)
    assert any(str(r[0]).startswith("Projected") for r in fresh.table("spend").rows)
    # scheduled reports are strict: a report behind its data is refused, nothing written
    with connect(db, read_only=True) as con, pytest.raises(ReportError, match="behind"):
        write_report(con, tmp_path / "strict", languages=["en"], strict=True)
    assert not (tmp_path / "strict").exists() or not list((tmp_path / "strict").iterdir())


def test_the_pdf_is_the_same_report(english):
    from pypdf import PdfReader

    pdf = PdfReader(english.pdf)
    text = " ".join(page.extract_text() for page in pdf.pages)
    flat = " ".join(text.split())
    assert [item.title for item in pdf.outline] == [s.title for s in english.report.sections]
    for label, value in english.report.facts:
        assert " ".join(value.split()) in flat, (label, value)
    comparison = english.report.table("comparison")
    total = comparison.rows[-1]
    assert f"{total[2]:,}" in flat  # the persons total, as on the page
    if any(cell == "<5" for row in comparison.rows for cell in row):
        assert "<5" in flat


def test_the_pooled_top_countries_row_says_how_many_countries_it_holds(english, built_warehouse):
    """The "other countries" row names its size in words ("85 countries"), not a bare
    number in the name column that reads like a count of dossiers: every forecast
    country is either shown or in the pool."""
    table = english.report.table("countries")
    pooled = next(r for r in table.rows if r[0] == "other countries")
    shown = [r for r in table.rows if r[0] not in ("other countries", "Total")]
    with connect(built_warehouse, read_only=True) as con:
        forecast = scalar(
            con,
            """SELECT count(DISTINCT key) FROM budget_forecast WHERE level = 'country'
               AND year = (SELECT max(year) FROM budget_forecast)""",
        )
    count, word = pooled[1].split()
    assert word == "countries", pooled
    assert int(count) == forecast - len(shown) > 0
