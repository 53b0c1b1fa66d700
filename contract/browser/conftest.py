"""Fixtures for the browser checks: the live grau at GRAU_BASE_URL, headless Debian Chromium,
and pages whose network is closed to everything but that grau.

Only `make browser-test` (through `make contract`, which starts the stack) runs these.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect, sync_playwright

BASE_URL = os.environ.get("GRAU_BASE_URL", "").rstrip("/")
CHROMIUM = Path("/usr/bin/chromium")
# From TOOLING_NOTES: Debian's Chromium, headless, with nothing that phones home.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def pytest_configure(config: pytest.Config) -> None:
    if not BASE_URL:
        raise pytest.UsageError(
            "GRAU_BASE_URL is not set: the browser checks drive a running grau. "
            "Run `make contract`, or `.venv/bin/python scripts/live_stack.py -- make browser-test`."
        )
    if not CHROMIUM.exists():
        raise pytest.UsageError(f"{CHROMIUM} is missing: `apt-get install -y chromium`.")


def origin(url: str) -> str:
    """scheme://host:port of a URL; a blob: URL belongs to the origin that created it."""
    parts = urlsplit(url.removeprefix("blob:"))
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class GuardedPage:
    """A page plus what went wrong on it: requests to other origins, page and console errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == [], f"requests outside {BASE_URL} were blocked: {self.blocked}"
        assert self.errors == [], f"errors on the page: {self.errors}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def guarded(browser: Browser) -> Iterator[GuardedPage]:
    """A fresh page on BASE_URL that aborts (and records) every request to another origin."""
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=BASE_URL, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    guarded = GuardedPage(page)

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith("data:") or origin(url) == origin(BASE_URL):
            route.continue_()
        else:
            guarded.blocked.append(url)
            route.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        # Chromium fetches /favicon.ico by itself (not a page asset, invisible to routing);
        # grau has none, and that 404 is not a fault of the docs pages.
        if message.type == "error" and message.location.get("url") != f"{BASE_URL}/favicon.ico":
            guarded.errors.append(f"console: {message.text} ({message.location.get('url')})")

    context.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: guarded.errors.append(f"page error: {error}"))
    page.set_default_timeout(TIMEOUT_MS)
    yield guarded
    context.close()
