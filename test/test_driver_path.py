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

import pytest
from conftest import TEST_DATABASE_URL
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from grau.db import driver
from grau.db.session import IDLE_PING_S, KEPT

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
