"""Swagger UI (/docs) and ReDoc (/redoc) of a live grau, driven in headless Chromium.

Each page must render the whole committed spec with no request leaving grau's origin and no
error in the page; in Swagger UI, Authorize + Try it out must reach the API with a real token.
Screenshots go to build/browser/ for a human to look at.
"""

from __future__ import annotations

import json
import re
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


def try_it_out(
    page: Page,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    path_params: dict[str, str] | None = None,
    file: Path | None = None,
) -> Any:
    """Opens an operation in Swagger UI, clicks Try it out, replaces the pre-filled body if
    `body` is given (else sends the documented example), puts ids into path parameters and
    a file into a file field, executes, and returns (status, response body as shown)."""
    operation = page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").first.wait_for()
    start = operation.locator("button.try-out__btn").filter(has_text="Try it out")
    if start.count():  # else still in Try it out from an earlier call
        start.click()
    for name, value in (path_params or {}).items():
        operation.locator(f'tr[data-param-name="{name}"][data-param-in="path"] input').fill(value)
    if body is not None:
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
    if file is not None:
        operation.locator('input[type="file"]').set_input_files(file)
    clear = operation.locator("button.btn-clear")
    if clear.count():  # an earlier call's response, still shown: not this one's
        clear.click()
        expect(operation.locator(".live-responses-table")).to_have_count(0)
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table tr.response")
    status = live.locator("td.response-col_status")
    expect(status).to_have_text(re.compile(r"^\d{3}$"))
    shown = live.locator(".highlight-code pre")  # none for a download (the export)
    answer = int(status.text_content() or "0"), shown.first.text_content() if shown.count() else ""
    operation.locator(".opblock-summary").click()  # fold it again
    return answer


def authorize(page: Page, token: str) -> None:
    """Swagger UI's Authorize dialog, with `token` as the bearer token (replacing one)."""
    page.locator("button.btn.authorize").click()
    page.locator(".auth-container").first.wait_for()
    logout = page.locator(".auth-container button").filter(has_text="Logout")
    if logout.count():
        logout.click()
    page.locator(".auth-container input").fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator("button.btn-done").click()


def sign_up_and_create_in_swagger_ui(page: Page, name: str) -> tuple[int, int, int]:
    """A visitor registers, logs in, authorizes and records a body stat, all through Try it
    out, editing only the email and password (the key field stays as Swagger UI shows it)."""
    credentials = {"email": f"{name}-{secrets.token_hex(6)}@example.com", "password": PASSWORD}
    page.goto("/docs")
    registered, _ = try_it_out(page, "post", "/v1/users", credentials)
    logged_in, tokens = try_it_out(page, "post", "/v1/auth/login", credentials)
    authorize(page, json.loads(tokens)["access_token"])
    created, _ = try_it_out(page, "post", "/v1/body-stats")  # the documented example
    return registered, logged_in, created


def test_two_visitors_sign_up_and_create_through_try_it_out(browser: Any) -> None:
    """No shared pre-filled Idempotency-Key: the second visitor is not answered with the
    first one's response or refused with a 422 (issue 15)."""
    answers = []
    for name in ("first", "second"):
        context = browser.new_context(base_url=BASE_URL, viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            answers.append(sign_up_and_create_in_swagger_ui(page, name))
            screenshot(page, f"docs-visitor-{name}.png")
        finally:
            context.close()

    assert answers == [(201, 200, 201), (201, 200, 201)]


# What ends a visit: done last, deletes in reverse spec order, then logging out, logging in
# again, and deleting the account.
LAST = [("post", "/v1/auth/logout"), ("post", "/v1/auth/login"), ("delete", "/v1/users/me")]
STRONG_EXPORT = ROOT / "test" / "samples" / "strong_comma.csv"


def visit_order() -> list[tuple[str, str]]:
    """Every operation once in spec order, but registering first, then logging in, and
    deletes and LAST at the end: the order a visitor trying each one would take."""
    first = [("post", "/v1/users"), ("post", "/v1/auth/login")]
    ordered = [(m, p) for m, p, _ in OPERATIONS if (m, p) not in first + LAST]
    deletes = [(m, p) for m, p in ordered if m == "delete"]
    return first + [o for o in ordered if o not in deletes] + deletes[::-1] + LAST


def item_params() -> dict[str, str]:
    """A collection's path -> the parameter its items are named by (`/v1/body-stats` ->
    `stat_id`), from the spec's item paths."""
    return {
        path.rsplit("/", 1)[0]: path.rsplit("{", 1)[1].rstrip("}")
        for _, path, _ in OPERATIONS
        if path.endswith("}")
    }


def test_every_operation_answers_a_documented_2xx_through_try_it_out(guarded: GuardedPage) -> None:
    """A new visitor executes every operation's Try it out, with what Swagger UI pre-fills:
    their own email and password where they sign up and in, the refresh token login gave,
    the ids their creates answered with in path parameters, and a Strong export to import.
    Each answers one of its documented 2xx statuses."""
    page = guarded.page
    page.goto("/docs")
    credentials = {"email": f"visitor-{secrets.token_hex(6)}@example.com", "password": PASSWORD}
    collections, ids, tokens = item_params(), {}, {}
    answered = []
    for method, path in visit_order():
        body = {"refresh_token": tokens.get("refresh_token")} if path.endswith("/refresh") else None
        if path in ("/v1/users", "/v1/auth/login") and method == "post":
            body = credentials
        names = re.findall(r"{(\w+)}", path)
        status, text = try_it_out(
            page,
            method,
            path,
            body,
            path_params={name: ids[name] for name in names},
            file=STRONG_EXPORT if path == "/v1/imports" else None,
        )
        answered.append((method, path))
        documented = [
            int(code) for code in SPEC["paths"][path][method]["responses"] if code[0] == "2"
        ]
        assert status in documented, (method, path, status, (text or "")[:500])
        if path in ("/v1/auth/login", "/v1/auth/refresh"):
            tokens = json.loads(text)
            authorize(page, tokens["access_token"])
        if method == "post" and status == 201 and path in collections:
            ids[collections[path]] = json.loads(text)["id"]
    screenshot(page, "docs-every-operation.png")
    assert sorted(set(answered)) == sorted((m, p) for m, p, _ in OPERATIONS)
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


def test_redoc_names_each_case_of_a_body_and_shows_a_sample_that_fits(
    guarded: GuardedPage,
) -> None:
    """A body documented case by case shows each case by its name (not "case 1"), and
    the request sample is the body's example: a weight in kg, not a made-up mix."""
    page = guarded.page
    page.goto("/redoc#operation/createBodyStat")
    section = page.locator('[id$="/operation/createBodyStat"]')
    expect(section.get_by_text("BodyStatWeightCreate").first).to_be_visible(timeout=TIMEOUT_MS)
    text = section.inner_text()
    assert "case 1" not in text.lower()
    assert '"unit": "kg"' in text and '"value": 72.4' in text
    screenshot(section, "redoc-cases.png")
    guarded.assert_clean()
