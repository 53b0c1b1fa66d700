"""OWASP API8 on the live stack: headers, no debug surface, no banner, the spec it serves."""

from __future__ import annotations

import json
import re

import pytest
from client import PROBLEM_JSON, Client
from conftest import BASE_URL, ROOT, User


@pytest.fixture(scope="module")
def anonymous(audit) -> Client:
    return Client(BASE_URL, audit, "anonymous")


def test_the_server_serves_the_committed_spec(anonymous: Client):
    served = anonymous.get("/openapi.json").json

    assert served == json.loads((ROOT / "openapi" / "openapi.json").read_text())


@pytest.mark.parametrize("path", ["/health", "/v1/users/me", "/v1/nowhere", "/docs"])
def test_no_server_version_banner(anonymous: Client, path: str):
    reply = anonymous.get(path)

    assert not re.search(r"\d", reply.headers.get("Server", "")), reply.headers.get("Server")
    assert "X-Powered-By" not in reply.headers


@pytest.mark.parametrize("path", ["/health", "/v1/users/me", "/v1/nowhere", "/openapi.json"])
def test_every_answer_says_nosniff(anonymous: Client, path: str):
    assert anonymous.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_authenticated_answers_are_not_stored(owner: User):
    reply = owner.client.get("/v1/body-stats")

    assert reply.headers["Cache-Control"] == "no-store"


def test_no_cors_for_an_origin_not_configured(owner: User):
    reply = owner.client.get("/v1/users/me", headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize("path", ["/console", "/__debug__", "/v1/../etc/passwd", "/.env"])
def test_no_debug_or_file_surface(anonymous: Client, path: str):
    reply = anonymous.get(path)

    assert reply.status == 404
    assert reply.content_type == PROBLEM_JSON


def test_an_unknown_method_is_a_405_problem(anonymous: Client):
    reply = anonymous.request("PUT", "/v1/body-stats", {})

    assert reply.status == 405
    assert reply.content_type == PROBLEM_JSON
