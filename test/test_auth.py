"""Login, bearer tokens, refresh-token rotation, logout and the login/registration rate limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from flask import Flask

PROBLEM_JSON = "application/problem+json"
FOREIGN_KEY = "not-grau-s-secret-key-but-long-enough-for-hs256!"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(account: Any) -> dict[str, Any]:
    """The real claims (sub, sid, exp, typ) of an account's access token."""
    return jwt.decode(account.tokens["access_token"], options={"verify_signature": False})


def login(client: Any, email: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def refresh(client: Any, token: str) -> Any:
    return client.post("/v1/auth/refresh", json={"refresh_token": token})


# ---------------------------------------------------------------------------- login


@pytest.mark.parametrize("case", [str.lower, str.upper], ids=["as registered", "upper case"])
def test_login_returns_a_bearer_token_pair_whose_access_token_reads_the_profile(client, user, case):
    response = login(client, case(user.email), user.password)

    assert response.status_code == 200
    assert set(response.json) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert response.json["token_type"] == "bearer"
    assert response.json["expires_in"] == 900
    me = client.get("/v1/users/me", headers=bearer(response.json["access_token"]))
    assert me.status_code == 200


def test_a_wrong_password_and_an_unknown_email_get_the_same_401_problem_with_a_challenge(
    client, user
):
    answers = [
        login(client, user.email, "not the password"),
        login(client, f"nobody-{uuid.uuid4().hex}@example.com", user.password),
    ]

    for response in answers:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (response.mimetype, response.json["status"]) == (PROBLEM_JSON, 401)
    assert answers[0].json["detail"] == answers[1].json["detail"]


# ------------------------------------------------------------------ bad access tokens


def _expired(account: Any, secret: str) -> dict[str, str]:
    past = datetime.now(UTC) - timedelta(minutes=5)
    claims = {**claims_of(account), "iat": past - timedelta(minutes=15), "exp": past}
    return bearer(jwt.encode(claims, secret, algorithm="HS256"))


BAD_AUTHORIZATION: dict[str, Callable[[Any, str], dict[str, str]]] = {
    "missing": lambda account, secret: {},
    "other scheme": lambda account, secret: {"Authorization": "Token x"},
    "scheme without token": lambda account, secret: {"Authorization": "Bearer"},
    "not a jwt": lambda account, secret: bearer("not-a-jwt"),
    "forged with another key": lambda account, secret: bearer(
        jwt.encode(claims_of(account), FOREIGN_KEY, algorithm="HS256")
    ),
    "expired": _expired,
    "refresh typ": lambda account, secret: bearer(
        jwt.encode({**claims_of(account), "typ": "refresh"}, secret, algorithm="HS256")
    ),
    "unsigned (alg none)": lambda account, secret: bearer(
        jwt.encode(claims_of(account), None, algorithm="none")
    ),
}


@pytest.mark.parametrize("kind", BAD_AUTHORIZATION)
def test_bad_access_token_gets_a_401_problem_with_a_bearer_challenge(app, client, user, kind):
    headers = BAD_AUTHORIZATION[kind](user, app.config["SECRET_KEY"])

    response = client.get("/v1/users/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == PROBLEM_JSON


def test_short_ttl_app_reports_its_ttl_in_expires_in(build_app, user):
    short = build_app({"ACCESS_TOKEN_TTL": 1})

    response = login(short.test_client(), user.email, user.password)

    assert response.json["expires_in"] == 1


# ---------------------------------------------------------------------------- logout


def test_logout_answers_204_and_ends_that_session_at_once_and_no_other(client, user):
    other_session = login(client, user.email, user.password).json
    assert client.get("/v1/users/me", headers=user.headers).status_code == 200  # cached

    response = client.post("/v1/auth/logout", headers=user.headers)

    assert response.status_code == 204
    me = client.get("/v1/users/me", headers=user.headers)
    assert me.status_code == 401
    assert me.headers["WWW-Authenticate"].startswith("Bearer")
    assert refresh(client, user.tokens["refresh_token"]).status_code == 401
    other = client.get("/v1/users/me", headers=bearer(other_session["access_token"]))
    assert other.status_code == 200


def test_logout_without_a_token_gets_401(client):
    response = client.post("/v1/auth/logout")

    assert response.status_code == 401


# --------------------------------------------------------------------------- refresh


def test_refresh_returns_a_new_token_pair_that_works_and_refreshes_once_more(client, user):
    response = refresh(client, user.tokens["refresh_token"])

    assert response.status_code == 200
    assert response.json["token_type"] == "bearer"
    assert response.json["refresh_token"] != user.tokens["refresh_token"]
    me = client.get("/v1/users/me", headers=bearer(response.json["access_token"]))
    assert me.status_code == 200
    assert refresh(client, response.json["refresh_token"]).status_code == 200


def test_reusing_a_spent_refresh_token_gets_401_and_revokes_the_newest_pair(client, user):
    newest = refresh(client, user.tokens["refresh_token"]).json
    assert client.get("/v1/users/me", headers=bearer(newest["access_token"])).status_code == 200

    response = refresh(client, user.tokens["refresh_token"])

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/users/me", headers=bearer(newest["access_token"])).status_code == 401
    assert refresh(client, newest["refresh_token"]).status_code == 401


@pytest.mark.parametrize("token", ["garbage", "x" * 200], ids=["short garbage", "long garbage"])
def test_refresh_with_garbage_gets_401(client, token):
    response = refresh(client, token)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_refresh_without_a_token_gets_422(client):
    response = client.post("/v1/auth/refresh", json={})

    assert response.status_code == 422
    assert "refresh_token" in response.json["errors"]


# ------------------------------------------------------------------ account deletion


def test_deleting_the_account_makes_its_access_and_refresh_tokens_401(client, user):
    assert client.delete("/v1/users/me", headers=user.headers).status_code == 204

    assert client.get("/v1/users/me", headers=user.headers).status_code == 401
    assert refresh(client, user.tokens["refresh_token"]).status_code == 401


# ------------------------------------------------------------------------ rate limits


def limited_app(build_app: Callable[[dict[str, Any]], Flask], **limits: str) -> Flask:
    return build_app(
        {
            "RATELIMIT_ENABLED": True,
            "CACHE_KEY_PREFIX": f"grau-test-rl-{uuid.uuid4().hex}",
            **limits,
        }
    )


def four_logins(build_app: Callable[[dict[str, Any]], Flask], email: str) -> list[Any]:
    limited = limited_app(build_app, RATELIMIT_LOGIN="3 per minute").test_client()
    return [login(limited, email, "not the password") for _ in range(4)]


def four_registrations(build_app: Callable[[dict[str, Any]], Flask]) -> list[Any]:
    limited = limited_app(build_app, RATELIMIT_REGISTER="3 per minute").test_client()
    return [
        limited.post(
            "/v1/users",
            json={
                "email": f"user-{uuid.uuid4().hex[:12]}@example.com",
                "password": "long enough pw",
            },
        )
        for _ in range(4)
    ]


@pytest.mark.parametrize("attempt", ["login", "registration"])
def test_the_fourth_attempt_in_a_minute_gets_a_429_problem_with_retry_after(
    build_app, user, attempt
):
    if attempt == "login":
        responses, refused = four_logins(build_app, user.email), 401
    else:
        responses, refused = four_registrations(build_app), 201

    assert [r.status_code for r in responses] == [refused] * 3 + [429]
    assert int(responses[-1].headers["Retry-After"]) > 0
    assert (responses[-1].mimetype, responses[-1].json["status"]) == (PROBLEM_JSON, 429)


def test_rate_limit_counters_are_separate_per_cache_key_prefix(build_app, user):
    """Two apps with different key prefixes (e.g. two deployments on one Redis) count apart."""
    four_logins(build_app, user.email)

    responses = four_logins(build_app, user.email)

    assert [r.status_code for r in responses] == [401, 401, 401, 429]


def test_building_an_app_without_rate_limits_keeps_them_on_an_existing_app(build_app, user):
    limited = limited_app(build_app, RATELIMIT_LOGIN="3 per minute").test_client()
    build_app({"RATELIMIT_ENABLED": False})

    responses = [login(limited, user.email, "not the password") for _ in range(4)]

    assert [r.status_code for r in responses] == [401, 401, 401, 429]


def test_login_is_not_limited_when_rate_limits_are_off(client, user):
    responses = [login(client, user.email, "not the password") for _ in range(12)]

    assert {r.status_code for r in responses} == {401}


def test_a_login_that_upgrades_the_password_hash_succeeds_and_upgrades_it(
    app, client, register, db_session
):
    """Operators raise the argon2 cost: existing hashes are upgraded at the next login."""
    from sqlalchemy import select

    from grau.accounts.models import User

    account = register()
    before = db_session.scalar(select(User.password_hash).where(User.email == account.email))
    cost = app.config["ARGON2_TIME_COST"]
    app.config["ARGON2_TIME_COST"] = cost + 1
    app.extensions.pop("grau.password_hasher", None)
    try:
        login = client.post(
            "/v1/auth/login", json={"email": account.email, "password": account.password}
        )
    finally:
        app.config["ARGON2_TIME_COST"] = cost
        app.extensions.pop("grau.password_hasher", None)

    assert login.status_code == 200, login.json
    db_session.expire_all()
    after = db_session.scalar(select(User.password_hash).where(User.email == account.email))
    assert after != before and f"t={cost + 1}" in after
