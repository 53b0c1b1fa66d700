"""The API docs pages work offline: every asset they load is served by grau itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

DOCS_PAGES = ["/docs", "/redoc"]
CONTENT_TYPES = {".js": "javascript", ".css": "text/css"}


class _AssetCollector(HTMLParser):
    """Collects the URLs a page makes the browser fetch: scripts, stylesheets, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {"script": "src", "link": "href", "img": "src", "iframe": "src"}
        wanted = names.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def _assets(html: str) -> list[str]:
    collector = _AssetCollector()
    collector.feed(html)
    return collector.urls


def _fetch(client: FlaskClient, url: str) -> tuple[int, str, bytes]:
    with client.get(url) as response:
        return response.status_code, response.content_type, response.get_data()


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_docs_page_loads_assets_only_from_static(client: FlaskClient, path: str) -> None:
    html = _page(client, path)
    assets = _assets(html)
    assert assets, f"{path} references no script or stylesheet"
    assert [url for url in assets if not url.startswith("/static/")] == []
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I), (
        f"{path} loads something from another origin"
    )


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_every_asset_of_a_docs_page_is_served(client: FlaskClient, path: str) -> None:
    for url in _assets(_page(client, path)):
        status, content_type, body = _fetch(client, url)
        assert status == 200, (url, status)
        assert body, f"{url} is empty"
        suffix = url[url.rfind(".") :]
        if suffix in CONTENT_TYPES:
            assert CONTENT_TYPES[suffix] in content_type, (url, content_type)


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_docs_page_loads_the_served_spec(client: FlaskClient, path: str) -> None:
    html = _page(client, path)
    assert "/openapi.json" in html
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_bundle_is_version_5(client: FlaskClient) -> None:
    bundles = [
        url for url in _assets(_page(client, "/docs")) if url.endswith("swagger-ui-bundle.js")
    ]
    assert len(bundles) == 1, bundles
    status, _, body = _fetch(client, bundles[0])
    assert status == 200
    versions = re.findall(rb'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', body)
    assert versions, "no PACKAGE_VERSION in the Swagger UI bundle"
    # Swagger UI 4 cannot render OpenAPI 3.1 ("Unable to render this definition").
    assert {major for major, _, _ in versions} == {b"5"}, versions


def test_the_root_sends_a_visitor_to_the_docs(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "docs"  # relative: right behind any path prefix
    assert client.get("/" + response.headers["Location"]).status_code == 200


def test_the_api_description_names_every_resource(app):
    described = app.extensions["grau.api"].spec.to_dict()["info"]["description"].lower()
    for tag in app.extensions["grau.api"].spec.to_dict()["tags"]:
        if tag["name"] in ("Health", "Auth", "Users"):
            continue  # the service itself, and the account the Auth paragraph explains
        assert tag["name"].lower() in described, tag["name"]
