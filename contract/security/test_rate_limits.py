"""OWASP API4 on the live stack: login and registration limits, per address and per account.

Each test talks from fresh loopback addresses, so it spends budgets no other
check uses. The limits are read from the server's `X-RateLimit-*` headers, so
the tests hold for any configured rate. The per-user limit and limits shared
across instances are tested in test/test_rate_limits.py and
test/test_two_instances.py, where the limit can be set low.
"""

from __future__ import annotations

import uuid

from client import PROBLEM_JSON, Client, new_source_address
from conftest import BASE_URL

MAX_ATTEMPTS = 200


def _until_limited(send) -> list:
    replies = []
    for _ in range(MAX_ATTEMPTS):
        reply = send()
        replies.append(reply)
        if reply.status == 429:
            return replies
    raise AssertionError(f"no 429 after {MAX_ATTEMPTS} attempts: {replies[-1]}")


def _assert_limited(replies, allowed: set[int]) -> None:
    *before, limited = replies
    assert {r.status for r in before} <= allowed, {r.status for r in before}
    assert limited.content_type == PROBLEM_JSON
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert len(before) == int(limited.headers["X-RateLimit-Limit"])


def _email() -> str:
    return f"sec-rl-{uuid.uuid4().hex[:12]}@example.com"


def test_logins_from_one_address_are_limited(audit):
    client = Client(BASE_URL, audit, "rl")

    replies = _until_limited(
        lambda: client.post("/v1/auth/login", {"email": _email(), "password": "wrong password"})
    )

    _assert_limited(replies, {401})


def test_logins_to_one_account_are_limited_across_addresses(audit):
    email = _email()

    def attempt():
        client = Client(BASE_URL, audit, "rl", source=new_source_address())
        return client.post("/v1/auth/login", {"email": email, "password": "wrong password"})

    _assert_limited(_until_limited(attempt), {401})


def test_registrations_from_one_address_are_limited(audit):
    client = Client(BASE_URL, audit, "rl")

    replies = _until_limited(
        lambda: client.post("/v1/users", {"email": _email(), "password": "long enough pw"})
    )

    _assert_limited(replies, {201})


def test_registrations_of_one_account_are_limited_across_addresses(audit):
    email = _email()

    def attempt():
        client = Client(BASE_URL, audit, "rl", source=new_source_address())
        return client.post("/v1/users", {"email": email, "password": "long enough pw"})

    _assert_limited(_until_limited(attempt), {201, 409})
