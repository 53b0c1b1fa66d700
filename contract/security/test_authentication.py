"""OWASP API2, generated from the spec: every protected operation refuses every bad token.

Each kind of bad credential (missing, malformed, another scheme, forged with
another key, unsigned, expired, and tokens revoked by logout, by the reuse of
a spent refresh token, and by a password change) is sent to every operation
the spec marks as protected: each answer is a 401 problem with a
`WWW-Authenticate: Bearer` challenge, never a 403, 404 or 500. Refresh
rotation itself (each refresh token works once) is checked on the way.
Expired tokens need the live stack's signing key (GRAU_LIVE_SECRET_KEY).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from client import PROBLEM_JSON, Client
from conftest import BASE_URL, LIVE_SECRET_KEY, SPEC, User, fill, login

PROTECTED = [op for op in SPEC.operations if op.protected]
FOREIGN_KEY = "not-the-servers-key-but-long-enough-for-hs256!!"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _expired(user: User) -> str:
    if not LIVE_SECRET_KEY:
        pytest.fail("GRAU_LIVE_SECRET_KEY is not set: scripts/live_stack.py sets it")
    past = datetime.now(UTC) - timedelta(minutes=5)
    claims = {**_claims(user.token), "iat": past - timedelta(minutes=15), "exp": past}
    return jwt.encode(claims, LIVE_SECRET_KEY, algorithm="HS256")


def _logged_out(user: User) -> str:
    token = login(user).token
    assert user.client.post("/v1/auth/logout").status == 204
    return token


def _refresh_reused(user: User) -> str:
    """Rotate once, then present the spent refresh token: the newest access token dies."""
    reply = user.client.post("/v1/auth/login", {"email": user.email, "password": user.password})
    first = reply.json
    rotated = user.client.post("/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert rotated.status == 200, str(rotated)
    assert rotated.json["refresh_token"] != first["refresh_token"]
    reused = user.client.post("/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert reused.status == 401, str(reused)
    newest = rotated.json
    again = user.client.post("/v1/auth/refresh", {"refresh_token": newest["refresh_token"]})
    assert again.status == 401, f"the family's newest refresh token survived: {again}"
    return str(newest["access_token"])


def _password_changed(user: User) -> str:
    token = login(user).token
    new_password = user.password + "!"
    changed = user.client.request(
        "PATCH",
        "/v1/users/me",
        {"password": new_password, "current_password": user.password},
    )
    assert changed.status == 200, str(changed)
    user.password = new_password
    return token


BAD: dict[str, Callable[[User], dict[str, str | None]]] = {
    "missing": lambda u: {"Authorization": None},
    "empty bearer": lambda u: {"Authorization": "Bearer "},
    "other scheme": lambda u: {"Authorization": f"Basic {u.token}"},
    "not a jwt": lambda u: {"Authorization": "Bearer not-a-jwt"},
    "forged": lambda u: {
        "Authorization": "Bearer " + jwt.encode(_claims(u.token), FOREIGN_KEY, algorithm="HS256")
    },
    "unsigned": lambda u: {
        "Authorization": "Bearer " + jwt.encode(_claims(u.token), None, algorithm="none")
    },
    "expired": lambda u: {"Authorization": f"Bearer {_expired(u)}"},
    "logged out": lambda u: {"Authorization": f"Bearer {_logged_out(u)}"},
    "refresh reused": lambda u: {"Authorization": f"Bearer {_refresh_reused(u)}"},
    "password changed": lambda u: {"Authorization": f"Bearer {_password_changed(u)}"},
}


@pytest.fixture(scope="module")
def victim(new_user: Callable[[str], User]) -> User:
    """A user with one of everything, whose credentials the tests then spoil."""
    from conftest import populate

    return populate(new_user("V"))


@pytest.mark.parametrize("kind", BAD)
def test_every_protected_operation_refuses_the_token(victim: User, audit, kind):
    headers = BAD[kind](victim)
    login(victim)  # the victim itself stays signed in; only `headers` is spoiled
    # A fresh address per kind: refusals count against the address's budget.
    client = Client(BASE_URL, audit, "V")
    failures = []
    for op in PROTECTED:
        path = fill(op.path, victim.ids)
        body = SPEC.create_body(op, victim.ids)
        reply = client.request(op.method.upper(), path, body, headers=headers, auth=False)
        challenge = reply.headers.get("WWW-Authenticate", "")
        if not (
            reply.status == 401
            and challenge.startswith("Bearer")
            and reply.content_type == PROBLEM_JSON
        ):
            failures.append(f"{op}: {reply.status} {challenge!r}")

    assert failures == []
