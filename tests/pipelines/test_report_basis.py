"""Every comparison in the report on one basis: the countries' registrations against
their forecast, the budget's lines against its total, the year against its budget."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelines.report import build_report
from pipelines.report.labels import Labels
from pipelines.warehouse import connect, query_frame, scalar


@pytest.fixture(scope="module")
def report(built_warehouse):
    with connect(built_warehouse, read_only=True) as con:
        return build_report(con, lang="en")


def test_top_countries_compare_registering_dossiers_with_their_forecast(report, built_warehouse):
    table = report.table("countries")
    total = table.rows[-1]
    recent = table.column("dossiers_12m")[-1]
    m = report.month
    start = date(m.year - 1, m.month, 1) if m.month == 12 else date(m.year - 1, m.month + 1, 1)
    with connect(built_warehouse, read_only=True) as con:
        every_status = scalar(
            con,
            """SELECT count(*) FROM (SELECT dossier_id, min(registration_date) AS r
                                     FROM dossier_persons GROUP BY 1)
               WHERE r >= $a AND r < $b""",
            {"a": start, "b": date(m.year + (m.month == 12), m.month % 12 + 1, 1)},
        )
        costing_only = scalar(
            con,
            """SELECT count(DISTINCT dossier_id) FROM dossier_persons
               WHERE dossier_status IN ('departed', 'registered')
                 AND registration_date >= $a AND registration_date < $b""",
            {"a": start, "b": date(m.year + (m.month == 12), m.month % 12 + 1, 1)},
        )
    assert recent == every_status, total
    assert every_status > costing_only  # the old basis would have been different
    assert "Registering" in table.columns[2].label


def test_pap_and_prp_follow_the_total_as_of_which_rows(report):
    lines = [row[0] for row in report.table("budget").rows]
    total = lines.index("Total (without tickets)")
    assert lines[total + 1].startswith("of which") and lines[total + 2].startswith("of which")
    assert lines[-1] == "Tickets"
    assert not any(line.startswith("of which") for line in lines[:total])


def test_the_year_stands_next_to_the_budget_it_was_built_on(report, built_warehouse):
    year = report.month.year
    rows = {str(r[0]): r for r in report.table("spend").rows}
    budgeted = next(r for label, r in rows.items() if label.startswith(f"{year} budgeted"))
    with connect(built_warehouse, read_only=True) as con:
        archived = query_frame(
            con,
            """SELECT mean FROM budget_forecast_archive WHERE origin = $o AND "table" = '2026'
               AND level = 'total' AND period = 'year' AND year = $y
               AND budget_line = 'total'""",
            {"o": date(year - 1, 12, 1), "y": year},
        )["mean"].item()
    assert budgeted[6] == archived and isinstance(archived, Decimal)
    assert f"forecast of {year - 1}-12" in str(budgeted[0])


def test_next_year_month_by_month_and_per_category_add_up_to_the_year(report):
    for key in ("phasing", "categories"):
        table = report.table(key)
        parts, whole = table.rows[:-1], table.rows[-1]
        for column in (1, 3, 5):  # the means of 2025, 2026 and the difference
            summed = sum(row[column] for row in parts if row[column] is not None)
            assert abs(summed - whole[column]) <= Decimal("0.01") * len(parts), key
    months = [row[0] for row in report.table("phasing").rows[:-1]]
    assert len(months) == 12 and all(m.year == months[0].year for m in months)
    # the partner split is on the cash basis, and says so
    partners = report.table("partners")
    assert "cash" in partners.title and "cash basis" in partners.note


def test_page_one_has_both_tables_the_tickets_and_why_they_differ(report, built_warehouse):
    facts = dict(report.facts)
    year = max(int(k.split()[1].rstrip(",")) for k in facts if k.startswith("Budget "))
    with connect(built_warehouse, read_only=True) as con:
        totals = dict(
            query_frame(
                con,
                """SELECT "table" || ':' || budget_line, mean FROM budget_forecast
                   WHERE level = 'total' AND period = 'year' AND year = $y""",
                {"y": year},
            ).rows()
        )
    L = Labels("en")
    assert facts[f"Budget {year}, 2025 table (80 %)"].startswith(L.eur(totals["2025:total"]))
    tickets = facts[f"Tickets {year}, outside the totals (80 %)"]
    assert tickets.startswith(L.eur(totals["2026:ticket"]))
    label, why = next((k, v) for k, v in facts.items() if k.endswith("volume / mix / price"))
    assert why.count("€") == 3 and label.startswith("From ")


def test_every_table_and_scenario_row_says_what_it_is(report):
    from rules.parameters import built_in_table

    rows = {row[0]: row for row in report.table("tables").rows}
    assert rows["2026"][1] == built_in_table("2026").label
    assert rows["degressive_1500"][1].startswith("2026 table with the early degressive")
    assert all(row[1] for row in rows.values())
