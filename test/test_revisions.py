"""Revisions: what every cached read is keyed by, and why none can be stale.

A commit that changes a user's data bumps `users.revision` in its own
transaction; a read is cached under the revision its token check read. These
tests pin the pieces: who bumps, what a bump must not touch, what the guard
refuses, and that the response cache serves a body only for its revision.
Across real servers and a broken Redis, the same promise is checked in
test_instances_live.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import TEST_DATABASE_URL, WEIGHT, Account
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.body_stats.models import BodyStat
from grau.catalog.models import Equipment
from grau.catalog.seed import seed_catalog
from grau.core import revisions
from grau.core.revisions import CatalogRevision, UnrevisedChange
from grau.http.cache import Cached, ResponseCache


def revision_of(db_session: Session, account: Account) -> int:
    db_session.expire_all()
    value = db_session.scalar(select(User.revision).where(User.id == uuid.UUID(account.id)))
    assert value is not None
    return value


def catalog_revision(db_session: Session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(CatalogRevision.revision)) or 0


# ---------------------------------------------------------------------- who bumps


def test_a_create_an_update_a_delete_and_a_profile_change_each_bump_only_my_revision(
    client, user, other_user, db_session
):
    start, theirs = revision_of(db_session, user), revision_of(db_session, other_user)
    created = client.post("/v1/body-stats", json=WEIGHT, headers=user.headers)
    after_create = revision_of(db_session, user)
    url = f"/v1/body-stats/{created.json['id']}"
    client.patch(url, json={"note": "after breakfast"}, headers=user.headers)
    after_update = revision_of(db_session, user)
    client.delete(url, headers=user.headers)
    after_delete = revision_of(db_session, user)
    client.patch("/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=user.headers)

    assert [after_create, after_update, after_delete, revision_of(db_session, user)] == [
        start + 1,
        start + 2,
        start + 3,
        start + 4,
    ]
    assert revision_of(db_session, other_user) == theirs


def test_a_refused_write_leaves_the_revision_alone(client, user, db_session):
    start = revision_of(db_session, user)

    refused = client.post("/v1/body-stats", json={**WEIGHT, "unit": "cm"}, headers=user.headers)

    assert refused.status_code == 422
    assert revision_of(db_session, user) == start


def test_a_bump_changes_neither_the_profile_nor_its_etag(client, user):
    before = client.get("/v1/users/me", headers=user.headers)

    client.post("/v1/body-stats", json=WEIGHT, headers=user.headers)
    after = client.get("/v1/users/me", headers=user.headers)

    assert after.json == before.json  # updated_at included
    assert after.headers["ETag"] == before.headers["ETag"]


def test_the_seed_bumps_the_catalog_revision_only_when_it_changes_something(db_session):
    start = catalog_revision(db_session)
    unchanged = seed_catalog(db_session)
    assert (unchanged.created, unchanged.updated) == (0, 0)
    assert catalog_revision(db_session) == start

    barbell = db_session.scalar(select(Equipment).where(Equipment.slug == "barbell"))
    assert barbell is not None
    barbell.name = "Renamed barbell"
    db_session.commit()
    restored = seed_catalog(db_session)

    assert restored.updated == 1
    assert catalog_revision(db_session) == start + 1


# ----------------------------------------------------------------------- the guard


def a_stat_of(user: Account) -> BodyStat:
    """A body stat added straight to a session, past the API (and its bump)."""
    return BodyStat(
        user_id=uuid.UUID(user.id),
        type="weight",
        value=70.0,
        unit="kg",
        canonical_value=70.0,
        recorded_at=datetime.now(UTC),
    )


# A change to user data made inside a request, past the API: an object, or a statement.
UNREVISED = {
    "an object added": lambda session, user: session.add(a_stat_of(user)),
    "an UPDATE statement": lambda session, user: session.execute(
        update(User).where(User.id == uuid.UUID(user.id)).values(first_name="Changed")
    ),
}


@pytest.mark.parametrize("change", UNREVISED)
def test_a_request_that_commits_user_data_without_a_bump_is_refused(
    app: Flask, session_factory: Any, user: Account, change: str
) -> None:
    """The guard turns a forgotten bump into an error at the commit, never a stale read."""
    with app.test_request_context("/v1/body-stats", method="POST"):
        from grau.db.session import db

        session = db()
        UNREVISED[change](session, user)
        with pytest.raises(UnrevisedChange):
            session.commit()
        session.rollback()


def test_the_same_commit_with_a_bump_goes_through(
    app: Flask, session_factory: Any, user: Account, db_session: Session
) -> None:
    start = revision_of(db_session, user)
    with app.test_request_context("/v1/body-stats", method="POST"):
        from grau.db.session import db

        session = db()
        session.add(a_stat_of(user))
        revisions.bump_user(session, uuid.UUID(user.id))
        session.commit()

    assert revision_of(db_session, user) == start + 1


def test_sessions_outside_requests_are_not_guarded(db_session: Session, user: Account) -> None:
    """Seeds and maintenance scripts manage their own revisions (the seed bumps the catalog)."""
    db_session.add(a_stat_of(user))
    db_session.commit()


# -------------------------------------------------------------- the response cache


def test_a_read_is_served_from_the_cache_until_a_write(app: Flask, client, user):
    created = client.post("/v1/body-stats", json=WEIGHT, headers=user.headers)
    url = f"/v1/body-stats/{created.json['id']}"
    cache = app.extensions["grau.responses"]
    first = client.get(url, headers=user.headers)
    entries = len(cache)

    again = client.get(url, headers=user.headers)
    client.patch(url, json={"type": "weight", "value": 80, "unit": "kg"}, headers=user.headers)

    assert (again.status_code, again.data) == (200, first.data)
    assert len(cache) == entries  # served, not stored again
    assert client.get(url, headers=user.headers).json["value"] == 80


def test_the_cache_keeps_to_its_byte_bound_dropping_the_least_recently_used():
    cache = ResponseCache(max_bytes=8 * 2000)
    body = b"x" * 1000
    for n in range(30):
        cache.put(("user", n), Cached('"e"', body))
        cache.get(("user", 0))  # read after every write: never the least recently used

    kept = [n for n in range(30) if cache.get(("user", n)) is not None]
    assert len(kept) * (1000 + 400) <= cache.max_bytes
    assert kept == [0, *range(30 - len(kept) + 1, 30)]


def test_a_body_over_an_eighth_of_the_cache_is_not_kept():
    cache = ResponseCache(max_bytes=8000)

    cache.put(("user", "big"), Cached('"e"', b"x" * 1000))

    assert cache.get(("user", "big")) is None


# ------------------------------------------------------ a create that is one statement


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="one-statement writes are PostgreSQL's")
def test_a_create_for_a_session_revoked_after_its_token_was_checked_changes_nothing(
    client, user, db_session, monkeypatch
):
    """A create that is one statement asks the database nothing before it: its statement
    checks the session. A logout committed after the token's signature and expiry were
    checked leaves no row and no bump behind, and the answer is 401."""
    from grau.accounts.models import AuthSession
    from grau.http import views

    start = revision_of(db_session, user)
    signed = views._signed_claims
    asked: list[object] = []
    monkeypatch.setattr(views, "live_session_revision", asked.append)

    def check_then_log_out(token: str, *rest: object) -> views.Claims | None:
        claims = signed(token, *rest)
        assert claims is not None
        db_session.execute(
            update(AuthSession)
            .where(AuthSession.id == claims.session_id)
            .values(revoked_at=datetime.now(UTC))
        )
        db_session.flush()
        return claims

    monkeypatch.setattr(views, "_signed_claims", check_then_log_out)
    response = client.post("/v1/body-stats", json=WEIGHT, headers=user.headers)

    assert response.status_code == 401, response.json
    assert response.json["detail"] == "The access token has been revoked."
    assert asked == []  # the statement checked the session, nothing before it
    owner = uuid.UUID(user.id)
    assert db_session.scalars(select(BodyStat).where(BodyStat.user_id == owner)).all() == []
    assert revision_of(db_session, user) == start


def test_a_revoked_session_gets_401_or_its_422_and_never_reads_or_changes_anything(
    client, user, db_session
):
    """Where a view's own query checks the session, an invalid body or query may be
    refused (422) before the revoked session is found; a valid one is a 401. Never a
    2xx, and nothing is written (on both databases: SQLite checks the session first)."""
    from grau.accounts.models import AuthSession

    created = client.post("/v1/body-stats", json=WEIGHT, headers=user.headers).json
    start = revision_of(db_session, user)
    db_session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == uuid.UUID(user.id))
        .values(revoked_at=datetime.now(UTC))
    )
    db_session.flush()
    stat = f"/v1/body-stats/{created['id']}"

    invalid = {**WEIGHT, "value": -3}
    invalid_create = client.post("/v1/body-stats", json=invalid, headers=user.headers)
    invalid_read = client.get(stat, query_string={"unit": "parsec"}, headers=user.headers)
    for response in (invalid_create, invalid_read):
        assert response.status_code in (401, 422), response.json
    for response in (
        client.post("/v1/body-stats", json=WEIGHT, headers=user.headers),
        client.get(stat, headers=user.headers),
        client.get(f"/v1/body-stats/{uuid.uuid4()}", headers=user.headers),
    ):
        assert response.status_code == 401, response.json
        assert response.json["detail"] == "The access token has been revoked."
    owner = uuid.UUID(user.id)
    assert len(db_session.scalars(select(BodyStat).where(BodyStat.user_id == owner)).all()) == 1
    assert revision_of(db_session, user) == start


def test_a_create_refused_by_a_unique_rule_leaves_the_revision_alone_and_the_next_works(
    client, user, db_session
):
    tag = {"label": "Rested", "category": "sleep"}
    assert client.post("/v1/mood-tags", json=tag, headers=user.headers).status_code == 201
    start = revision_of(db_session, user)

    again = client.post("/v1/mood-tags", json=tag, headers=user.headers)
    other = client.post("/v1/mood-tags", json={**tag, "label": "Sore"}, headers=user.headers)

    assert again.status_code == 409
    assert again.json["detail"] == "You already have a mood tag with this label."
    assert other.status_code == 201
    assert revision_of(db_session, user) == start + 1
