"""Headless Chromium for browser tests, driven by playwright.

Playwright's own browser download is not used: the browser is a system Chromium
(Debian's ``chromium``), found by :func:`find_chromium`.

The fixture ``chromium`` is registered once, in ``tests/conftest.py`` (playwright's
sync API allows one instance per thread: a second registration would start a second
one). In a test module::

    def test_page(chromium):  # a playwright ``Browser``, shared by the session
        context = chromium.new_context()
        blocked = block_external_requests(context)
        ...

Without a usable browser the test is skipped with the reason; with ``CI=true`` and
``REAB_REQUIRE_BROWSER=1`` it fails instead, so CI cannot skip it silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "test-artefacts"

# Tried in this order when REAB_CHROMIUM is not set.
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")

# Headless, as root, on a closed network: without the background-networking flags
# Chromium's own connections are refused and slow it down.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

NO_CHROMIUM = (
    "no Chromium found: install Debian's chromium (apt-get install chromium) or set REAB_CHROMIUM"
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class BrowserUnavailable(RuntimeError):
    """No Chromium found, or playwright could not start it."""


def find_chromium() -> str | None:
    """The Chromium executable: ``$REAB_CHROMIUM`` (a path or a name on PATH) when set,
    with no fallback, so a wrong setting is noticed; else the first of ``CANDIDATES``."""
    configured = os.environ.get("REAB_CHROMIUM")
    if configured:
        return shutil.which(configured)
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def browser_required() -> bool:
    """CI asked for the browser tests to run (``CI=true`` and ``REAB_REQUIRE_BROWSER=1``)."""
    return os.environ.get("CI") == "true" and os.environ.get("REAB_REQUIRE_BROWSER") == "1"


def browser_unavailable(reason: str) -> NoReturn:
    """Skip the current test for ``reason``; fail it when :func:`browser_required`."""
    if browser_required():
        pytest.fail(f"{reason} (CI=true and REAB_REQUIRE_BROWSER=1: the browser is required)")
    pytest.skip(reason)


@contextmanager
def launch_chromium(executable: str | None = None) -> Iterator[Browser]:
    """A headless playwright ``Browser`` on the system Chromium (a fresh, empty profile);
    closed on exit. Raises :class:`BrowserUnavailable` with the reason when there is no
    browser or playwright cannot start it."""
    executable = executable or find_chromium()
    if executable is None:
        configured = os.environ.get("REAB_CHROMIUM")
        if configured:
            raise BrowserUnavailable(
                f"{NO_CHROMIUM} (REAB_CHROMIUM={configured} is not an executable)"
            )
        raise BrowserUnavailable(NO_CHROMIUM)
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(f"playwright is not installed ({exc})") from exc
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
            )
        except Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise BrowserUnavailable(
                f"playwright could not start Chromium at {executable}: {first_line}"
            ) from exc
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session", name="chromium")
def chromium_fixture() -> Iterator[Browser]:
    """A headless Chromium (playwright ``Browser``) shared by the session; make a
    ``chromium.new_context()`` per test. Skips (or fails, see module) without one."""
    try:
        with launch_chromium() as browser:
            yield browser
            return
    except BrowserUnavailable as exc:
        reason = str(exc)
    browser_unavailable(reason)


def block_external_requests(context: BrowserContext) -> list[str]:
    """Abort every request of ``context`` to a host other than this machine (http,
    https, ws); returns the list that collects the aborted URLs, for assertions."""
    blocked: list[str] = []

    def route(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            blocked.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    return blocked


def artefact_path(name: str) -> Path:
    """``test-artefacts/NAME`` under the repository root (the folder is created)."""
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS / name
