"""The Dagster UI serves the code location, draws every asset in the global lineage,
and shows the runs the CLI recorded.

Starts ``dagster dev`` (webserver and daemon, as the README does) on a free local port
with an empty ``DAGSTER_HOME`` and no warehouse, opens the global asset lineage in
headless Chromium and saves a screenshot to ``test-artefacts/dagster-asset-graph.png``;
then runs ``reab update`` on a small warehouse recorded into the same instance and asks
the UI's GraphQL API for that run and the assets it materialised.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.definitions import defs
from tests.browser import (
    artefact_path,
    block_external_requests,
)

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "pipelines.definitions"
START_TIMEOUT_S = 90
UI_TIMEOUT_MS = 60_000  # for the UI to draw, once the code location is loaded
LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


@dataclass
class DagsterUI:
    url: str
    log: Path
    warehouse: Path
    home: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, data: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


def wait_until_loaded(ui: DagsterUI, server: subprocess.Popen) -> None:
    """Wait for the webserver to answer and the code location to be loaded."""
    deadline = time.monotonic() + START_TIMEOUT_S
    state = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"dagster dev exited with {server.returncode}:\n{ui.log_tail()}",
                pytrace=False,
            )
        try:
            get(f"{ui.url}/server_info")
            answer = json.loads(
                get(f"{ui.url}/graphql", json.dumps({"query": LOCATIONS_QUERY}).encode())
            )
            entries = answer["data"]["workspaceOrError"]["locationEntries"]
            state = repr(entries)
            entry = next(e for e in entries if e["name"] == LOCATION)
            if entry["loadStatus"] == "LOADED":
                error = entry["locationOrLoadError"]
                if error and error["__typename"] == "PythonError":
                    pytest.fail(
                        f"code location {LOCATION} failed to load: {error['message']}\n"
                        f"{ui.log_tail()}",
                        pytrace=False,
                    )
                return
        except (OSError, urllib.error.URLError, KeyError, StopIteration, ValueError) as exc:
            state = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    pytest.fail(
        f"dagster dev not ready after {START_TIMEOUT_S} s (last: {state}):\n{ui.log_tail()}",
        pytrace=False,
    )


def stop(server: subprocess.Popen) -> None:
    """Terminate the webserver and its code server (its whole process group)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
    # The code server may outlive the webserver: kill what is left of the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory) -> Iterator[DagsterUI]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    work = tmp_path_factory.mktemp("dagster_ui")
    ui = DagsterUI(
        url=f"http://127.0.0.1:{free_port()}",
        log=work / "webserver.log",
        warehouse=work / "warehouse" / "reab.duckdb",
        home=home,
    )
    env = dict(
        os.environ,
        DAGSTER_HOME=str(home),
        REAB_DB=str(ui.warehouse),
        REAB_LANDING=str(work / "landing"),
        PYTHONUNBUFFERED="1",
    )
    port = ui.url.rsplit(":", 1)[1]
    command = [str(Path(sys.executable).parent / "dagster"), "dev"]
    command += ["-m", LOCATION, "-h", "127.0.0.1", "-p", port]
    with ui.log.open("wb") as log:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        wait_until_loaded(ui, server)
        yield ui
    finally:
        stop(server)


def asset_names_and_groups() -> tuple[list[str], list[str]]:
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    names = sorted(key.path[-1] for key in keys)  # the graph labels a node by its last part
    groups = sorted({graph.get(key).group_name for key in keys})
    return names, groups


def label_pattern(name: str) -> re.Pattern[str]:
    """A node's label: the name, or (when the graph is zoomed out) the name cut in the
    middle, e.g. ``monito…_evaluation``."""
    cuts = [
        f"{re.escape(name[:i])}…{re.escape(name[j:])}"
        for i in range(1, len(name))
        for j in range(i + 1, len(name))
    ]
    return re.compile("^(?:" + "|".join([re.escape(name), *cuts]) + ")$")


def choose_graph_setting(page, item: str) -> None:
    """Open the graph's settings menu (the gear by the zoom buttons), choose ``item``."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(re.escape(item))).click()
    page.keyboard.press("Escape")  # the menu may stay open
    expect(page.get_by_role("menu")).to_have_count(0, timeout=UI_TIMEOUT_MS)


def test_asset_names_come_from_the_code_location():
    names, groups = asset_names_and_groups()
    assert {
        "ingested_files",
        "dossier_persons",
        "quarantine",
        "entitlements",
        "table_comparison",
        "volume_forecast",
        "budget_forecast",
        "misuse_alarms",
    } <= set(names)
    assert {"ingest", "entitlements", "forecast", "monitoring"} <= set(groups)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_global_asset_lineage_draws_every_asset(dagster_ui, chromium):
    names, groups = asset_names_and_groups()
    screenshot = artefact_path("dagster-asset-graph.png")
    page_text = artefact_path("dagster-asset-graph.txt")
    screenshot.unlink(missing_ok=True)
    page_text.unlink(missing_ok=True)

    from playwright.sync_api import Error, expect

    context = chromium.new_context(viewport={"width": 2560, "height": 1600})
    block_external_requests(context)
    # Dismiss the "Join the Dagster community" dialog before it appears.
    context.add_init_script("window.localStorage.setItem('communityNux', '1')")
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page.goto(f"{dagster_ui.url}/asset-groups")
        expect(page.get_by_text("Global asset lineage")).to_be_visible(timeout=UI_TIMEOUT_MS)
        # In the graph's settings menu: expand every group and lay the graph out
        # top-down (it is fitted to the window's width, so wide fits best). The UI
        # keeps both in the browser's storage; the reload draws the graph fitted anew.
        choose_graph_setting(page, "Expand all groups")
        choose_graph_setting(page, "vertical orientation")
        page.reload()

        graph = page.locator("svg foreignObject")
        for name in [*names, *groups]:
            label = graph.get_by_text(label_pattern(name)).first
            expect(label, f"no node labelled {name}").to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.get_by_text("Loading...")).to_have_count(0, timeout=UI_TIMEOUT_MS)  # details
        page.screenshot(path=screenshot, full_page=True)
    except (AssertionError, Error):
        try:
            page.screenshot(path=screenshot, full_page=True)
            page_text.write_text(page.inner_text("body"))
        except Error:
            pass
        print(f"page text: {page_text}\nscreenshot: {screenshot}\nserver log:")
        print(dagster_ui.log_tail())
        raise
    finally:
        context.close()
    assert not dagster_ui.warehouse.exists(), "showing the UI must not create the warehouse"


RUNS_QUERY = """{ runsOrError { __typename ... on Runs { results { runId status
  tags { key value } } } } }"""
MATERIALISED_QUERY = """{ assetNodes { assetKey { path }
  assetMaterializations(limit: 1) { runId } } }"""


def graphql(ui: DagsterUI, query: str) -> dict:
    return json.loads(get(f"{ui.url}/graphql", json.dumps({"query": query}).encode()))["data"]


@pytest.mark.slow
def test_cli_runs_show_in_the_ui(dagster_ui, tmp_path, monkeypatch):
    """What `reab update` ran is in the UI: the run (succeeded, tagged as from the CLI)
    and, per asset, its latest materialisation from that run."""
    from datetime import date

    from pipelines.cli import main as reab
    from tests.factories import monthly_extracts

    monkeypatch.setenv("DAGSTER_HOME", str(dagster_ui.home))
    extracts = tmp_path / "extracts"
    monthly_extracts(extracts, [(date(2026, 9, 1), date(2026, 9, 30))])
    db = tmp_path / "cli.duckdb"
    assert reab(["update", "--db", str(db), "--landing", str(extracts)]) == 0

    runs = graphql(dagster_ui, RUNS_QUERY)["runsOrError"]["results"]
    cli_runs = [r for r in runs if {"key": "reab/source", "value": "cli"} in r["tags"]]
    assert len(cli_runs) == 2, runs  # the ingest, then what it made stale
    assert {r["status"] for r in cli_runs} == {"SUCCESS"}
    nodes = graphql(dagster_ui, MATERIALISED_QUERY)["assetNodes"]
    latest = {
        "/".join(n["assetKey"]["path"]): n["assetMaterializations"][0]["runId"]
        for n in nodes
        if n["assetMaterializations"]
    }
    run_ids = {r["runId"] for r in cli_runs}
    for asset in ("dossier_persons", "entitlements", "table_comparison", "misuse_alarms"):
        assert latest.get(asset) in run_ids, f"{asset} not shown as materialised by the CLI"
