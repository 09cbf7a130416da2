"""The report's HTML page in headless Chromium: it renders (charts drawn, tables laid
out) from the file alone, without a single network request."""

from __future__ import annotations

import pytest

from pipelines.report import write_report
from pipelines.warehouse import connect
from tests.browser import artefact_path


@pytest.fixture(scope="module")
def report_page(built_warehouse, tmp_path_factory):
    with connect(built_warehouse, read_only=True) as con:
        (files,) = write_report(con, tmp_path_factory.mktemp("html"), languages=["fr"])
    return files


def test_the_report_renders_offline_in_chromium(chromium, report_page):
    context = chromium.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    failures: list[str] = []
    page.on("requestfailed", lambda request: failures.append(request.url))
    url = report_page.html.as_uri()
    page.goto(url, wait_until="load")
    try:
        assert requests == [url], f"the page asked for more than itself: {requests}"
        assert not failures
        assert page.title().startswith("Retour volontaire (REAB)")
        charts = page.locator("figure svg")
        assert charts.count() == 3
        for i in range(3):
            box = charts.nth(i).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 100
        tables = {t.get_attribute("data-table") for t in page.locator("table").all()}
        assert {"spend", "budget", "countries", "comparison", "alarms", "backtest"} <= tables
        # no table needs a horizontal scroll at 1280 px (the budget table's nine money
        # columns: one spanning header per table over short "mean / 80 % / 95 %" ones)
        too_wide = page.evaluate(
            """() => [...document.querySelectorAll('table')]
                .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
                .map(t => t.dataset.table + ': ' + t.scrollWidth + ' > '
                          + t.parentElement.clientWidth)"""
        )
        assert too_wide == [], too_wide
        groups = page.locator('table[data-table="budget"] th.group').all_inner_texts()
        assert groups == ["Barème 2025", "Barème 2026", "2026 − 2025"], groups
        # the budget total row as the reader sees it: the 2026 mean in French format
        total = page.locator('table[data-table="budget"] tr.emphasis td').all_inner_texts()
        assert total[0].startswith("Total") and total[4].endswith("€")
    finally:
        page.screenshot(path=artefact_path("report-fr.png"), full_page=True)
        context.close()
