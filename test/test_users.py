"""Registration and the signed-in user's profile: /v1/users and /v1/users/me."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from grau.body_stats.models import BodyStat

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new long passphrase"

FULL_PROFILE = {
    "first_name": "Ana",
    "last_name": "Silva",
    "birthday": "1990-04-12",
    "gender": "female",
    "weight_unit": "lb",
    "height_unit": "in",
    "date_format": "DD.MM.YYYY",
    "language": "de-AT",
    "timezone": "Europe/Vienna",
}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def new_username() -> str:
    return f"ana.{uuid.uuid4().hex[:10]}"


def post_user(client: Any, **fields: Any) -> Any:
    return client.post("/v1/users", json={"email": new_email(), "password": PASSWORD, **fields})


def login(client: Any, email: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------- registration


DEFAULTS = {
    "username": None,
    "first_name": None,
    "last_name": None,
    "birthday": None,
    "gender": "unspecified",
    "weight_unit": "kg",
    "height_unit": "cm",
    "date_format": "YYYY-MM-DD",
    "language": "en",
    "timezone": "UTC",
    "premium": False,
    "status": "active",
}


def test_register_with_email_and_password_only_gets_201_with_the_defaults(client):
    email = f"Ana.MIXED-{uuid.uuid4().hex[:8]}@Example.COM"

    response = client.post("/v1/users", json={"email": email, "password": PASSWORD})

    assert response.status_code == 201
    assert response.headers["Location"] == "/v1/users/me"
    assert response.headers["ETag"].startswith('"')
    assert uuid.UUID(response.json["id"])
    assert response.json["created_at"].endswith("+00:00")
    assert response.json["updated_at"].endswith("+00:00")
    assert response.json["email"] == email.lower()
    assert {name: response.json[name] for name in DEFAULTS} == DEFAULTS


def test_register_with_a_full_profile_stores_every_field(client):
    username = new_username()

    response = post_user(client, username=username, **FULL_PROFILE)

    assert response.status_code == 201
    assert {name: response.json[name] for name in FULL_PROFILE} == FULL_PROFILE
    assert response.json["username"] == username


@pytest.mark.parametrize(
    "taken",
    [
        lambda account, _: {"email": account.email},
        lambda account, _: {"email": account.email.upper()},
        lambda _, username: {"email": new_email(), "username": username},
    ],
    ids=["email", "email in other case", "username"],
)
def test_register_with_a_taken_email_or_username_gets_409_problem(client, register, taken):
    username = new_username()
    account = register(username=username)

    response = client.post("/v1/users", json={"password": PASSWORD, **taken(account, username)})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


INVALID_REGISTRATIONS = {
    "email": {"email": "not-an-email"},
    "password": {"password": "short"},
    "timezone": {"timezone": "Mars/Olympus_Mons"},
    "language": {"language": "english please"},
    "birthday": {"birthday": (date.today() + timedelta(days=1)).isoformat()},
    "gender": {"gender": "robot"},
    "weight_unit": {"weight_unit": "cm"},
    "username": {"username": "a b"},
    # Python's `$` would let a final newline through; the spec's pattern does not.
    "username ending in a newline": {"username": "ana_silva\n"},
    "language ending in a newline": {"language": "de-AT\n"},
    "first_name": {"first_name": "Ana\x00"},
    "shoe_size": {"shoe_size": 42},
    "id": {"id": str(uuid.uuid4())},
    "premium": {"premium": True},
    "status": {"status": "active"},
    "created_at": {"created_at": "2020-01-01T00:00:00+00:00"},
}


@pytest.mark.parametrize("field", INVALID_REGISTRATIONS)
def test_invalid_registration_gets_422_naming_the_field(client, field):
    response = client.post(
        "/v1/users",
        json={"email": new_email(), "password": PASSWORD, **INVALID_REGISTRATIONS[field]},
    )

    assert response.status_code == 422
    assert field.split()[0] in response.json["errors"]


@pytest.mark.parametrize("missing", ["email", "password"])
def test_registration_without_a_required_field_gets_422(client, missing):
    body = {"email": new_email(), "password": PASSWORD}
    del body[missing]

    response = client.post("/v1/users", json=body)

    assert response.status_code == 422
    assert missing in response.json["errors"]


def test_two_people_registering_with_the_same_idempotency_key_both_get_their_own_account(
    client,
):
    """A key copied from documentation is shared by everyone who copies it: signed out,
    it is scoped by the request, so one person's register neither blocks nor answers
    another's, while a retry of the same request still replays."""
    shared = {"Idempotency-Key": "9b2f6c1e-3f4a-4c9d-8e2b-7a1d5c0e4f38"}
    ana, bo = (
        {"email": new_email(), "password": PASSWORD, "first_name": name} for name in ("Ana", "Bo")
    )

    first = client.post("/v1/users", json=ana, headers=shared)
    second = client.post("/v1/users", json=bo, headers=shared)
    retry = client.post("/v1/users", json=ana, headers=shared)

    assert (first.status_code, second.status_code, retry.status_code) == (201, 201, 201)
    assert second.json["email"] == bo["email"] and second.json["id"] != first.json["id"]
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"


# ----------------------------------------------------------------- password secrecy


def test_password_never_appears_in_any_response(client):
    email = new_email()
    created = client.post("/v1/users", json={"email": email, "password": PASSWORD})
    tokens = login(client, email, PASSWORD).json
    headers = bearer(tokens["access_token"])
    responses = {
        "register": created,
        "get": client.get("/v1/users/me", headers=headers),
        "patch": client.patch("/v1/users/me", json={"first_name": "Ana"}, headers=headers),
        "refused patch": client.patch(
            "/v1/users/me",
            json={"password": NEW_PASSWORD, "current_password": "wrong password"},
            headers=headers,
        ),
    }

    leaking = [
        name
        for name, response in responses.items()
        if any(
            secret in response.get_data(as_text=True)
            for secret in (PASSWORD, NEW_PASSWORD, "password_hash", '"password"', "$argon2")
        )
    ]
    assert leaking == []


# ------------------------------------------------------------------------- /users/me


def test_get_me_returns_my_profile_with_an_etag(client, user):
    response = client.get("/v1/users/me", headers=user.headers)

    assert response.status_code == 200
    assert (response.json["id"], response.json["email"]) == (user.id, user.email)
    assert response.headers["ETag"].startswith('"')


def test_get_me_with_current_etag_gets_304_and_with_an_old_one_200(client, user):
    old = client.get("/v1/users/me", headers=user.headers).headers["ETag"]
    client.patch("/v1/users/me", json={"first_name": "Ana"}, headers=user.headers)
    current = client.get("/v1/users/me", headers=user.headers).headers["ETag"]

    unchanged = client.get("/v1/users/me", headers={**user.headers, "If-None-Match": current})
    changed = client.get("/v1/users/me", headers={**user.headers, "If-None-Match": old})

    assert (unchanged.status_code, unchanged.get_data()) == (304, b"")
    assert (changed.status_code, changed.headers["ETag"]) == (200, current)


def test_patch_changes_only_the_fields_sent_with_a_new_etag_and_the_next_get_shows_it(
    client, register
):
    account = register(username=new_username(), **FULL_PROFILE)
    before = client.get("/v1/users/me", headers=account.headers)

    response = client.patch("/v1/users/me", json={"first_name": "Joana"}, headers=account.headers)

    after = response.json
    changed = {k for k in before.json if before.json[k] != after[k]}
    assert changed == {"first_name", "updated_at"}
    assert after["first_name"] == "Joana"
    assert response.headers["ETag"] not in ("", before.headers["ETag"])
    assert client.get("/v1/users/me", headers=account.headers).json == after


def test_patch_can_clear_an_optional_field_with_null(client, register):
    account = register(first_name="Ana")

    response = client.patch("/v1/users/me", json={"first_name": None}, headers=account.headers)

    assert response.json["first_name"] is None


def test_patch_and_delete_with_a_stale_if_match_get_412_and_with_the_current_one_200(client, user):
    stale = client.get("/v1/users/me", headers=user.headers).headers["ETag"]
    current = client.patch("/v1/users/me", json={"first_name": "Ana"}, headers=user.headers)
    if_match = {**user.headers, "If-Match": stale}

    refused = client.patch("/v1/users/me", json={"first_name": "Bea"}, headers=if_match)
    refused_delete = client.delete("/v1/users/me", headers=if_match)
    accepted = client.patch(
        "/v1/users/me",
        json={"first_name": "Cid"},
        headers={**user.headers, "If-Match": current.headers["ETag"]},
    )

    assert (refused.status_code, refused_delete.status_code) == (412, 412)
    for answer in (refused, refused_delete):  # the profile as it is now, to merge with
        assert answer.json["current"] == current.json
        assert answer.headers["ETag"] == current.headers["ETag"]
    assert accepted.status_code == 200
    assert accepted.json["first_name"] == "Cid"


SERVER_OWNED_OR_UNKNOWN = {
    "id": str(uuid.uuid4()),
    "premium": True,
    "status": "suspended",
    "created_at": "2020-01-01T00:00:00+00:00",
    "updated_at": "2020-01-01T00:00:00+00:00",
    "shoe_size": 42,
}


@pytest.mark.parametrize(("field", "value"), SERVER_OWNED_OR_UNKNOWN.items())
def test_patch_with_a_server_owned_or_unknown_field_gets_422(client, user, field, value):
    response = client.patch("/v1/users/me", json={field: value}, headers=user.headers)

    assert response.status_code == 422
    assert field in response.json["errors"]


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "utc+2", ""])
def test_patch_with_a_bad_timezone_gets_422(client, user, timezone):
    response = client.patch("/v1/users/me", json={"timezone": timezone}, headers=user.headers)

    assert response.status_code == 422
    assert "timezone" in response.json["errors"]


SENSITIVE_CHANGES = {
    "email": lambda: {"email": new_email()},
    "password": lambda: {"password": NEW_PASSWORD},
}


@pytest.mark.parametrize("change", SENSITIVE_CHANGES)
def test_sensitive_change_without_current_password_gets_422(client, user, change):
    body = SENSITIVE_CHANGES[change]()

    response = client.patch("/v1/users/me", json=body, headers=user.headers)

    assert response.status_code == 422
    assert "current_password" in response.json["errors"]


@pytest.mark.parametrize("change", SENSITIVE_CHANGES)
def test_sensitive_change_with_a_wrong_current_password_gets_403_and_changes_nothing(
    client, user, change
):
    body = {**SENSITIVE_CHANGES[change](), "current_password": "not my password"}

    response = client.patch("/v1/users/me", json=body, headers=user.headers)

    assert response.status_code == 403
    assert "current_password" in response.json["errors"]
    assert client.get("/v1/users/me", headers=user.headers).json["email"] == user.email
    assert login(client, user.email, user.password).status_code == 200


def test_email_change_with_the_current_password_lets_me_log_in_with_the_new_email(client, user):
    email = new_email()
    client.patch(
        "/v1/users/me",
        json={"email": email.upper(), "current_password": user.password},
        headers=user.headers,
    )

    response = login(client, email, user.password)

    assert response.status_code == 200


def test_password_change_revokes_every_token_and_only_the_new_password_logs_in(client, user):
    second_session = login(client, user.email, user.password).json
    client.patch(
        "/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": user.password},
        headers=user.headers,
    )

    statuses = [
        client.get("/v1/users/me", headers=user.headers).status_code,
        client.get("/v1/users/me", headers=bearer(second_session["access_token"])).status_code,
        client.post(
            "/v1/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]}
        ).status_code,
        login(client, user.email, user.password).status_code,
        login(client, user.email, NEW_PASSWORD).status_code,
    ]

    assert statuses == [401, 401, 401, 401, 200]


@pytest.mark.parametrize(
    ("field", "whose", "status"),
    [("email", "theirs", 409), ("username", "theirs", 409), ("username", "mine", 200)],
)
def test_taking_another_users_email_or_username_gets_409_and_keeping_my_own_not(
    client, register, field, whose, status
):
    usernames = {"mine": new_username(), "theirs": new_username()}
    accounts = {name: register(username=username) for name, username in usernames.items()}
    change = {
        "email": {"email": accounts[whose].email, "current_password": PASSWORD},
        "username": {"username": usernames[whose]},
    }[field]

    response = client.patch("/v1/users/me", json=change, headers=accounts["mine"].headers)

    assert response.status_code == status


# ----------------------------------------------------------------------- deletion


def test_delete_me_gets_204_and_then_my_login_fails_and_my_email_is_free(client, user):
    response = client.delete("/v1/users/me", headers=user.headers)

    assert (response.status_code, response.get_data()) == (204, b"")
    assert login(client, user.email, user.password).status_code == 401
    again = client.post("/v1/users", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 201


def test_deleting_my_account_deletes_my_body_stats_and_no_one_elses(
    client, db_session, user, other_user, create_stat
):
    create_stat(user)
    create_stat(user, value=73.0)
    create_stat(other_user)
    client.delete("/v1/users/me", headers=user.headers)

    remaining = {
        account.id: db_session.scalar(
            select(func.count())
            .select_from(BodyStat)
            .where(BodyStat.user_id == uuid.UUID(account.id))
        )
        for account in (user, other_user)
    }

    assert remaining == {user.id: 0, other_user.id: 1}
