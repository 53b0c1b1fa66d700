"""Behind a trusted reverse proxy, grau sees the client's address (rate limits key on it)."""

from __future__ import annotations

import uuid
from typing import Any


def _login(client: Any, forwarded_for: str) -> int:
    response = client.post(
        "/v1/auth/login",
        # One account per address: login is limited per account too.
        json={"email": f"nobody-{forwarded_for}@example.com", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return int(response.status_code)


def _limited_app(build_app: Any, prefix: str, proxies: int) -> Any:
    return build_app(
        {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_LOGIN": "2 per minute",
            "CACHE_KEY_PREFIX": prefix,
            "TRUSTED_PROXIES": proxies,
        }
    )


def test_clients_behind_a_trusted_proxy_are_limited_apart(build_app):
    client = _limited_app(build_app, f"proxy-{uuid.uuid4().hex}", 1).test_client()

    first = [_login(client, "203.0.113.1") for _ in range(3)]
    second = _login(client, "203.0.113.2")

    assert first == [401, 401, 429]
    assert second == 401


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(build_app):
    client = _limited_app(build_app, f"proxy-{uuid.uuid4().hex}", 0).test_client()

    statuses = [_login(client, f"203.0.113.{n}") for n in range(3)]  # other accounts too

    assert statuses == [401, 401, 429]
