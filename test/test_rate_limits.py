"""Rate limits beyond login: registration per account, a general limit per user.

Login's limits (per address, per account, 429 with Retry-After) are in
test_auth.py; across two instances in test_two_instances.py; with Redis down
in test_redis_outage.py (TestRateLimitFallback).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import jwt
from conftest import Account
from flask import Flask

PROBLEM_JSON = "application/problem+json"


def limited(build_app: Callable[[dict[str, Any]], Flask], **limits: str) -> Flask:
    return build_app(
        {"RATELIMIT_ENABLED": True, "CACHE_KEY_PREFIX": f"rl-{uuid.uuid4().hex}", **limits}
    )


def from_address(app: Flask, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# ----------------------------------------------------------------- per-user limit


def test_fourth_request_of_a_user_in_a_minute_gets_a_429_problem_with_retry_after(build_app, user):
    client = limited(build_app, RATELIMIT_USER="3 per minute").test_client()

    responses = [client.get("/v1/users/me", headers=user.headers) for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].mimetype == PROBLEM_JSON
    assert int(responses[-1].headers["Retry-After"]) > 0
    assert responses[-1].headers["X-RateLimit-Remaining"] == "0"


def test_every_counted_answer_says_what_is_left_in_ietf_ratelimit_headers(build_app, user):
    """RateLimit-Policy and RateLimit (IETF draft) on 2xx, 304 and 429, with no round trip
    of their own: the count is the one the budget keeps anyway."""
    client = limited(build_app, RATELIMIT_USER="3 per minute").test_client()
    first = client.get("/v1/users/me", headers=user.headers)
    etag = {**user.headers, "If-None-Match": first.headers["ETag"]}

    responses = [first, client.get("/v1/users/me", headers=etag)]
    responses += [client.get("/v1/users/me", headers=user.headers) for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 304, 200, 429]
    assert {r.headers["RateLimit-Policy"] for r in responses} == {'"user";q=3;w=60'}
    left = [r.headers["RateLimit"] for r in responses]
    assert [part.split(";")[1] for part in left] == ["r=2", "r=1", "r=0", "r=0"]
    assert all(0 <= int(part.split(";t=")[1]) <= 60 for part in left)


def test_a_429_of_another_limit_names_that_limit_not_the_user_budget(build_app, user):
    client = limited(build_app, RATELIMIT_EXPORT="1 per hour").test_client()

    first = client.get("/v1/export", headers=user.headers)
    second = client.get("/v1/export", headers=user.headers)

    assert (first.status_code, second.status_code) == (200, 429)
    assert first.headers["RateLimit"].startswith('"user";')
    assert second.headers["RateLimit-Policy"] == '"export";q=1;w=3600'
    assert second.headers["RateLimit"].startswith('"export";r=0;t=')
    assert second.headers.getlist("RateLimit") == [second.headers["RateLimit"]]


def test_a_batch_says_what_is_left_after_its_operations(build_app, user):
    client = limited(build_app, RATELIMIT_USER="10 per minute").test_client()
    stat = {"type": "weight", "value": 70.0, "unit": "kg", "recorded_at": "2026-11-20T07:30:00Z"}
    operations = [{"method": "POST", "path": "/v1/body-stats", "body": stat}] * 3

    answer = client.post("/v1/batch", json={"operations": operations}, headers=user.headers)

    assert answer.status_code == 200
    left = [r["headers"]["RateLimit"].split(";")[1] for r in answer.json["results"]]
    assert left == ["r=8", "r=7", "r=6"]  # the batch itself counted first
    assert answer.headers["RateLimit"].split(";")[1] == "r=6"


def test_answers_the_user_limit_does_not_count_carry_no_ratelimit_headers(build_app, user):
    client = limited(build_app).test_client()

    public = client.get("/health")
    login = client.post("/v1/auth/login", json={"email": user.email, "password": user.password})

    assert "RateLimit" not in public.headers and "RateLimit" not in login.headers


def test_user_limit_counts_every_authenticated_operation(build_app, user):
    """One budget per user per operation family: writes count too."""
    client = limited(build_app, RATELIMIT_USER="2 per minute").test_client()
    tag = {"category": "work", "label": "Deadline"}

    statuses = [
        client.post("/v1/mood-tags", json={**tag, "label": f"t{n}"}, headers=user.headers)
        for n in range(3)
    ]

    assert [r.status_code for r in statuses] == [201, 201, 429]


def test_user_limit_is_per_user_not_per_address(build_app, register):
    app = limited(build_app, RATELIMIT_USER="2 per minute")
    client = from_address(app, "198.51.100.7")
    first, second = register(), register()
    for _ in range(2):
        client.get("/v1/users/me", headers=first.headers)

    response = client.get("/v1/users/me", headers=second.headers)

    assert response.status_code == 200


def test_new_sessions_of_a_user_share_its_budget(build_app, client, user):
    app = limited(build_app, RATELIMIT_USER="2 per minute")
    again = client.post("/v1/auth/login", json={"email": user.email, "password": user.password})
    second_session = Account(user.id, user.email, user.password, again.json)
    limited_client = app.test_client()
    for account in (user, second_session):
        limited_client.get("/v1/users/me", headers=account.headers)

    response = limited_client.get("/v1/users/me", headers=user.headers)

    assert response.status_code == 429


def test_forged_tokens_count_against_the_address(build_app, user):
    """Tokens signed with another key cannot spread one client over many counters."""
    client = from_address(limited(build_app, RATELIMIT_USER="2 per minute"), "198.51.100.9")

    def forged() -> dict[str, str]:
        claims = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "typ": "access"}
        return {"Authorization": "Bearer " + jwt.encode(claims, "x" * 48, algorithm="HS256")}

    statuses = [client.get("/v1/users/me", headers=forged()).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def test_public_operations_are_not_under_the_user_limit(build_app):
    client = limited(build_app, RATELIMIT_USER="1 per minute").test_client()

    statuses = [client.get("/health").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


# ------------------------------------------------------------- registration limits


def register_as(client: Any, email: str) -> int:
    response = client.post("/v1/users", json={"email": email, "password": "long enough pw"})
    return int(response.status_code)


def test_registrations_for_one_email_are_limited_across_addresses(build_app):
    app = limited(build_app, RATELIMIT_REGISTER="3 per minute")
    email = f"target-{uuid.uuid4().hex[:8]}@example.com"

    statuses = [register_as(from_address(app, f"198.51.100.{n}"), email) for n in range(1, 5)]

    assert statuses == [201, 409, 409, 429]


def test_registrations_from_one_address_are_limited_across_emails(build_app):
    client = from_address(limited(build_app, RATELIMIT_REGISTER="2 per minute"), "198.51.100.77")

    statuses = [register_as(client, f"r-{uuid.uuid4().hex[:8]}@example.com") for _ in range(3)]

    assert statuses == [201, 201, 429]


def test_account_counter_ignores_the_emails_case(build_app):
    app = limited(build_app, RATELIMIT_REGISTER="1 per minute")
    email = f"Case-{uuid.uuid4().hex[:8]}@example.com"
    register_as(from_address(app, "198.51.100.30"), email)

    status = register_as(from_address(app, "198.51.100.31"), email.upper())

    assert status == 429


def test_an_oversized_login_body_is_a_413_and_logs_no_error(build_app, caplog):
    """The per-account key reads the body; one over the limit must not break the limiter."""
    app = limited(build_app, RATELIMIT_LOGIN="5 per minute")
    body = b'{"email": "' + b"x" * 2_000_000 + b'"}'

    response = app.test_client().post(
        "/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
