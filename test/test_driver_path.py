"""The one query every request runs, on the path production takes: autocommit, on a
connection its thread keeps, the statement prepared once per connection and run by libpq
(`grau.db.driver.DriverQuery`, `grau.db.session._Kept`).

The rest of the suite runs each test's requests inside one transaction it rolls back
(`use_sessions`), where these statements go through psycopg's cursor. Here an app runs on
its own engine, as a server does, against the suite's database (its rows are new users').
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import TEST_DATABASE_URL
from flask import Flask
from flask.testing import FlaskClient
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from grau.accounts.tokens import SESSION_REVISIONS
from grau.db import driver
from grau.db import session as db_session
from grau.db.session import IDLE_PING_S, KEPT
from grau.http import views
from grau.http.cache import ResponseCache

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="prepared statements and kept connections are PostgreSQL's"
)

STAT = {"type": "weight", "value": 72.4, "unit": "kg", "recorded_at": "2026-03-01T08:00:00+00:00"}


@pytest.fixture
def served(make_app: Any) -> Iterator[Flask]:
    """An app on its own engine and pool, as a server runs it (no test transaction)."""
    app = make_app()
    yield app
    app.extensions["grau.engine"].dispose()


@pytest.fixture
def client(served: Flask) -> FlaskClient:
    return served.test_client()


def _signed_in(client: FlaskClient) -> dict[str, str]:
    email, password = f"driver-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery"
    assert client.post("/v1/users", json={"email": email, "password": password}).status_code == 201
    login = client.post("/v1/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {login.json['access_token']}"}


def _kept(app: Flask) -> Any:
    """This thread's kept connection to the app's primary (the DBAPI connection)."""
    connections = app.extensions[KEPT].connections
    (proxied, _since), *_ = connections.values()
    return proxied.dbapi_connection


def _prepared_names(dbapi_connection: Any) -> set[str]:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'grau_%'")
        return {name for (name,) in cursor.fetchall()}


def test_a_create_and_its_reads_run_prepared_statements_and_show_what_was_sent(
    client: FlaskClient, served: Flask
) -> None:
    headers = _signed_in(client)
    created = client.post("/v1/body-stats", json={**STAT, "note": "after run"}, headers=headers)
    assert created.status_code == 201, created.json
    url = created.headers["Location"]

    first = client.get(url, headers=headers)
    again = client.get(url, headers=headers)  # cached: the session check alone
    listed = client.get("/v1/body-stats", headers=headers)  # through the ORM

    assert first.status_code == again.status_code == listed.status_code == 200
    assert first.json == created.json == again.json == listed.json["items"][0]
    assert first.json["value"] == 72.4 and first.json["note"] == "after run"
    assert first.json["recorded_at"] == "2026-03-01T08:00:00+00:00"
    # The one-statement INSERT, the item read with its session check, the session check.
    assert len(_prepared_names(_kept(served))) >= 3


def test_a_thread_keeps_its_connection_from_one_request_to_the_next(
    client: FlaskClient, served: Flask
) -> None:
    headers = _signed_in(client)
    client.get("/v1/body-stats", headers=headers)
    kept = _kept(served)
    pid = kept.info.backend_pid

    for _ in range(3):
        assert client.get("/v1/body-stats", headers=headers).status_code == 200

    assert _kept(served) is kept and kept.info.backend_pid == pid


def test_statements_deallocated_under_it_are_prepared_again(
    client: FlaskClient, served: Flask
) -> None:
    headers = _signed_in(client)
    url = client.post("/v1/body-stats", json=STAT, headers=headers).headers["Location"]
    assert client.get(url, headers=headers).status_code == 200
    kept = _kept(served)
    with kept.cursor() as cursor:  # what psycopg's rollback sends where it prepared its own
        cursor.execute("DEALLOCATE ALL")

    read = client.get(url, headers=headers)
    created = client.post("/v1/body-stats", json={**STAT, "value": 73.0}, headers=headers)

    assert read.status_code == 200 and read.json["value"] == 72.4
    assert created.status_code == 201
    assert _prepared_names(kept)


def _kept_connection_ended(
    client: FlaskClient, served: Flask, engine: Engine
) -> tuple[dict[str, str], int]:
    """A user's headers, once a read left its connection kept and the server then ended
    that connection's backend (whose pid is returned)."""
    headers = _signed_in(client)
    assert client.get("/v1/body-stats", headers=headers).status_code == 200
    pid: int = _kept(served).info.backend_pid
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    return headers, pid


def test_a_kept_connection_whose_server_ended_it_is_replaced_after_a_pause(
    client: FlaskClient, served: Flask, engine: Engine
) -> None:
    headers, pid = _kept_connection_ended(client, served, engine)
    time.sleep(IDLE_PING_S + 0.1)  # kept this long, it is pinged before use

    response = client.get("/v1/body-stats", headers=headers)

    assert response.status_code == 200
    assert _kept(served).info.backend_pid != pid


def test_a_kept_connection_lost_mid_request_is_a_503_and_not_kept(
    client: FlaskClient, served: Flask, engine: Engine
) -> None:
    headers, pid = _kept_connection_ended(client, served, engine)

    lost = client.get("/v1/body-stats", headers=headers)  # used at once: no ping, it fails
    after = client.get("/v1/body-stats", headers=headers)

    assert lost.status_code == 503
    assert after.status_code == 200
    assert _kept(served).info.backend_pid != pid


def test_a_failed_prepared_statement_is_the_error_the_cursor_would_raise(
    client: FlaskClient,
) -> None:
    headers = _signed_in(client)
    tag = {"label": "Rainy", "category": "weather"}
    assert client.post("/v1/mood-tags", json=tag, headers=headers).status_code == 201

    again = client.post("/v1/mood-tags", json=tag, headers=headers)  # the unique label
    then = client.get("/v1/mood-tags", headers=headers)

    assert again.status_code == 409
    assert then.status_code == 200 and then.json["pagination"]["total"] == 1


def test_past_its_bound_a_connection_runs_further_statements_through_the_cursor(
    client: FlaskClient, served: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _signed_in(client)
    url = client.post("/v1/body-stats", json=STAT, headers=headers).headers["Location"]
    client.get(url, headers=headers)
    kept = _kept(served)
    before = _prepared_names(kept)
    monkeypatch.setattr(driver, "PREPARED_MAX", 0)

    created = client.post("/v1/body-stats", json={**STAT, "value": 80.5}, headers=headers)
    read = client.get(created.headers["Location"], headers=headers)

    assert created.status_code == 201 and read.status_code == 200
    assert read.json["value"] == 80.5
    assert _prepared_names(kept) == before


# --------------------------------------------- the session check sent as a request comes in


class _Asked:
    """Counts the session check sent ahead (where it was), read from there, and asked the
    usual way (`DriverQuery.first` of the session check alone), since the last `since`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent = self.received = self.first = 0
        query = type(SESSION_REVISIONS)
        send, received, first = query.send, query.received, query.first

        def counted(name: str, method: Any) -> Any:
            def call(this: Any, *args: Any, **kwargs: Any) -> Any:
                ours = this is SESSION_REVISIONS
                if ours and name != "sent":  # (counted if it raises, too)
                    setattr(self, name, getattr(self, name) + 1)
                answer = method(this, *args, **kwargs)
                if ours and name == "sent" and answer:  # (False: nothing was sent)
                    self.sent += 1
                return answer

            return call

        monkeypatch.setattr(query, "send", counted("sent", send))
        monkeypatch.setattr(query, "received", counted("received", received))
        monkeypatch.setattr(query, "first", counted("first", first))

    def since(self) -> tuple[int, int, int]:
        counts = (self.sent, self.received, self.first)
        self.sent = self.received = self.first = 0
        return counts


def test_a_read_answered_before_asks_its_session_check_ahead_and_nothing_else(
    client: FlaskClient, served: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _signed_in(client)
    url = client.post("/v1/body-stats", json=STAT, headers=headers).headers["Location"]
    asked = _Asked(monkeypatch)

    first = client.get("/v1/body-stats", headers=headers)  # nothing cached yet
    assert asked.since() == (0, 0, 1)
    again = client.get("/v1/body-stats", headers=headers)  # cached: sent as it came in
    assert asked.since() == (1, 1, 0)
    item = client.get(url, headers=headers)  # not cached: its own query, with the row
    assert asked.since() == (0, 0, 0)
    item_again = client.get(url, headers=headers)
    assert asked.since() == (1, 1, 0)
    change = {"type": "weight", "value": 75.0, "unit": "kg"}
    written = client.patch(url, json=change, headers=headers)  # a write: never sent ahead
    assert asked.since() == (0, 0, 0)
    after = client.get(url, headers=headers)  # sent ahead; the new revision: a miss

    assert first.status_code == again.status_code == item.status_code == 200
    assert again.json == first.json and item_again.json == item.json
    assert written.status_code == 200
    assert after.status_code == 200 and after.json["value"] == 75.0
    assert asked.since()[:2] == (1, 1)
    assert _kept(served).pgconn.transaction_status == TransactionStatus.IDLE


def test_a_session_ended_after_a_cached_read_is_refused_by_the_check_sent_ahead(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _signed_in(client)
    assert client.get("/v1/users/me", headers=headers).status_code == 200
    assert client.get("/v1/users/me", headers=headers).status_code == 200  # cached
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    asked = _Asked(monkeypatch)

    refused = client.get("/v1/users/me", headers=headers)

    assert refused.status_code == 401
    assert asked.since() == (1, 1, 0)


def test_a_user_over_the_rate_limit_sends_nothing_ahead_and_an_answer_never_read_is_dropped(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = make_app(
        {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_USER": "3 per minute",
            "CACHE_KEY_PREFIX": f"early-{uuid.uuid4().hex}",
        }
    )
    try:
        client = served.test_client()
        headers = _signed_in(client)  # (the sign-up and login count by address)
        read = [client.get("/v1/users/me", headers=headers) for _ in range(3)]
        kept = _kept(served)
        asked = _Asked(monkeypatch)

        limited = client.get("/v1/users/me", headers=headers)  # known over: nothing sent
        known = asked.since()
        # Over the limit by another process's count, which this one has not seen yet:
        # sent ahead, then refused before the token check reads it.
        monkeypatch.setattr(views, "budget_spent", lambda *_: False)
        unseen = client.get("/v1/users/me", headers=headers)
        dropped = asked.since()
        other = client.get("/v1/users/me", headers=_signed_in(client))
    finally:
        served.extensions["grau.engine"].dispose()

    assert [r.status_code for r in read] == [200, 200, 200]
    assert limited.status_code == unseen.status_code == 429
    assert known == (0, 0, 0)
    assert dropped == (1, 0, 0)
    assert other.status_code == 200
    assert _kept(served) is kept  # drained and kept, and used again
    assert kept.pgconn.transaction_status == TransactionStatus.IDLE


def test_a_check_sent_ahead_whose_statement_was_deallocated_is_asked_again(
    client: FlaskClient, served: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _signed_in(client)
    client.get("/v1/body-stats", headers=headers)
    client.get("/v1/body-stats", headers=headers)  # sent ahead: its statement prepared
    kept = _kept(served)
    with kept.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    asked = _Asked(monkeypatch)

    read = client.get("/v1/body-stats", headers=headers)

    assert read.status_code == 200
    assert asked.since() == (1, 1, 1)  # sent, refused (no such statement), asked again
    assert _prepared_names(kept)


def test_a_check_sent_ahead_on_a_connection_the_server_ended_is_a_503_and_not_kept(
    client: FlaskClient, served: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for the check asked the usual way (above): a kept connection is used without a
    ping within IDLE_PING_S of its last use, so one the server ended meanwhile fails."""
    headers, pid = _kept_connection_ended(client, served, engine)
    asked = _Asked(monkeypatch)

    lost = client.get("/v1/body-stats", headers=headers)  # cached: sent ahead, then lost
    sent = asked.since()
    after = client.get("/v1/body-stats", headers=headers)

    assert lost.status_code == 503 and lost.mimetype == "application/problem+json"
    assert sent == (1, 1, 0)
    assert after.status_code == 200
    assert _kept(served).info.backend_pid != pid


def test_a_connection_the_server_ended_is_not_taken_over_when_the_view_asks_otherwise_first(
    client: FlaskClient, served: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer sent ahead drained from a connection its server ended: the view gets
    another connection, not that one."""
    headers = _signed_in(client)
    url = client.post("/v1/body-stats", json=STAT, headers=headers).headers["Location"]
    assert client.get(url, headers=headers).status_code == 200
    pid = _kept(served).info.backend_pid
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    hints = iter([True, False])  # the request's hint as it came in, then its view's
    monkeypatch.setattr(ResponseCache, "recent", lambda *_: next(hints))

    read = client.get(url, headers=headers)

    assert read.status_code == 200 and read.json["value"] == 72.4
    assert _kept(served).info.backend_pid != pid


def test_a_check_sent_ahead_is_dropped_when_the_view_asks_the_database_otherwise_first(
    client: FlaskClient, served: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item's answer cached as the request came in, gone when its view looks again (an
    eviction, another thread's write in between): the view reads the row with its own
    session check, on the same connection, once the answer sent ahead is dropped."""
    headers = _signed_in(client)
    url = client.post("/v1/body-stats", json=STAT, headers=headers).headers["Location"]
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(url, headers=headers).status_code == 200  # (prepares the check ahead)
    kept = _kept(served)
    # The row's statement forgotten, and no room to prepare it again: the view reads the
    # row through psycopg's cursor, as the ORM would (which, unlike libpq's own call,
    # cannot start while another answer is pending on the connection).
    ((proxied, _since),) = served.extensions[KEPT].connections.values()
    prepared = proxied.info[driver.PREPARED]
    for key in [key for key in prepared if key[0] != id(SESSION_REVISIONS)]:
        del prepared[key]
    monkeypatch.setattr(driver, "PREPARED_MAX", 0)
    hints = iter([True, False])  # the request's hint as it came in, then its view's
    monkeypatch.setattr(ResponseCache, "recent", lambda *_: next(hints))
    asked = _Asked(monkeypatch)

    read = client.get(url, headers=headers)

    assert read.status_code == 200 and read.json["value"] == 72.4
    assert asked.since() == (1, 0, 0)
    assert _kept(served) is kept and kept.pgconn.transaction_status == TransactionStatus.IDLE


@pytest.mark.parametrize("failure", ["refused", "pool timeout"])
def test_a_database_out_of_reach_as_a_cached_read_comes_in_is_one_wait_and_a_503(
    client: FlaskClient, served: Flask, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    headers = _signed_in(client)
    assert client.get("/v1/body-stats", headers=headers).status_code == 200
    assert client.get("/v1/body-stats", headers=headers).status_code == 200  # cached
    kept = served.extensions[KEPT].connections
    for proxied, _since in kept.values():
        proxied.close()
    kept.clear()
    attempts: list[Engine] = []

    def unreachable(engine: Engine) -> Any:
        attempts.append(engine)
        if failure == "pool timeout":  # every connection checked out: not a DBAPIError
            raise PoolTimeout("QueuePool limit reached")
        refused = psycopg.OperationalError("connection refused")
        raise DBAPIError.instance(None, None, refused, psycopg.Error, dialect=engine.dialect)

    monkeypatch.setattr(db_session, "_checkout", unreachable)

    read = client.get("/v1/body-stats", headers=headers)

    assert read.status_code == 503 and read.mimetype == "application/problem+json"
    assert len(attempts) == 1  # the check sent ahead found none; the request did not try again
