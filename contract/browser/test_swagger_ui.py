"""Swagger UI (/docs) and ReDoc (/redoc) of a live grau, driven in headless Chromium.

Each page must render the whole committed spec with no request leaving grau's origin and no
error in the page; in Swagger UI, Authorize + Try it out must reach the API with a real token.
Screenshots go to build/browser/ for a human to look at.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import BASE_URL, TIMEOUT_MS, GuardedPage
from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "browser"
SPEC: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (method, path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method in HTTP_METHODS
]
PASSWORD = "correct horse battery staple"
# operationId -> heading of each ReDoc operation section (ids end in "/operation/<operationId>").
REDOC_SECTIONS = r"""() => Object.fromEntries(
    [...document.querySelectorAll('[id*="/operation/"]')]
        .filter(section => /\/operation\/[^/]+$/.test(section.id))
        .map(section => [
            section.id.split('/operation/').pop(),
            section.querySelector('h2')?.textContent.trim(),
        ])
)"""


def api(method: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    """One JSON request to grau over plain HTTP, outside the browser."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        BASE_URL + path, data=json.dumps(body).encode(), headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def token() -> str:
    email = f"browser-{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    api("POST", "/v1/users", credentials)
    return str(api("POST", "/v1/auth/login", credentials)["access_token"])


def screenshot(target: Page | Locator, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if isinstance(target, Page):
        target.screenshot(path=SCREENSHOTS / name, full_page=full_page)
    else:
        target.screenshot(path=SCREENSHOTS / name)


def test_swagger_ui_renders_every_operation_of_the_spec(guarded: GuardedPage) -> None:
    page = guarded.page
    page.goto("/docs")
    # Swagger UI renders all operations in one pass, so once one is there they all are.
    page.locator(".opblock").first.wait_for()
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
            block.querySelector('.opblock-summary-path').dataset.path,
        ])""",
    )
    screenshot(page, "docs.png", full_page=True)
    assert sorted(map(tuple, rendered)) == sorted((m, p) for m, p, _ in OPERATIONS)
    guarded.assert_clean()


def test_try_it_out_lists_my_body_stats_with_a_real_token(guarded: GuardedPage, token: str) -> None:
    stat = api(
        "POST",
        "/v1/body-stats",
        {"type": "weight", "value": 81.3, "unit": "kg", "recorded_at": "2026-11-20T07:30:00+01:00"},
        token,
    )
    page = guarded.page
    page.goto("/docs")

    page.locator("button.btn.authorize").click()
    page.locator(".auth-container input").fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator("button.btn-done").click()

    operation = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/v1/body-stats"]')
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_request(lambda r: urlsplit(r.url).path == "/v1/body-stats") as sent:
        operation.locator("button.execute").click()
    assert sent.value.headers.get("authorization") == f"Bearer {token}"

    # The live response, not the documented responses table below it.
    live = operation.locator(".live-responses-table tr.response")
    expect(live.locator("td.response-col_status")).to_have_text("200")
    body = live.locator(".highlight-code pre").first
    expect(body).to_contain_text(stat["id"])
    expect(body).to_contain_text("81.3")
    screenshot(operation.locator(".live-responses-table"), "docs-try-it-out.png")
    guarded.assert_clean()


def test_redoc_renders_every_operation_summary(guarded: GuardedPage) -> None:
    page = guarded.page
    page.goto("/redoc")
    expected = {operation["operationId"]: operation["summary"] for _, _, operation in OPERATIONS}
    # ReDoc renders lazily; poll until every operation's section (id ".../operation/<id>",
    # heading = summary) is there, then compare, so a failure shows the difference.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (rendered := page.evaluate(REDOC_SECTIONS)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    # The first screen (menu, intro, first operation); the full page is ~15,000 px tall.
    screenshot(page, "redoc.png")
    assert rendered == expected
    guarded.assert_clean()
