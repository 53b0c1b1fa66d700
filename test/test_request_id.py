"""X-Request-ID: accepted or generated, echoed on every response, and in every JSON log line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from grau.http import observability

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def test_each_response_gets_its_own_generated_id_and_so_does_a_forked_child(client, monkeypatch):
    """No system call per request (os.urandom was one); a child process has its own
    prefix, so two workers forked from one parent never make the same id."""
    import os

    calls: list[int] = []
    real = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: calls.append(n) or real(n))
    ids = {client.get("/v1/exercises").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20 and all(HEX_ID.match(i) for i in ids)
    assert calls == []

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix and the pid it knows, and leave at once
        os.write(write, f"{observability.PROCESS.prefix} {observability.process_id()}".encode())
        os._exit(0)
    os.close(write)
    prefix, child_pid = os.read(read, 100).decode().split()
    os.close(read)
    os.waitpid(pid, 0)
    assert prefix != observability.PROCESS.prefix
    assert int(child_pid) == pid


@pytest.mark.parametrize("sent", ["abc-123", "x" * 128, "trace:0af7651916cd43dd8448eb211c80319c"])
def test_a_valid_client_request_id_is_echoed(client, sent):
    response = client.get("/v1/exercises", headers={"X-Request-ID": sent})

    assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", ["x" * 129, "has spaces", "", "caf\u00e9"])
def test_an_invalid_client_request_id_is_replaced(client, sent):
    response = client.get("/v1/exercises", headers={"X-Request-ID": sent})

    assert HEX_ID.match(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("path", "status"), [("/v1/no-such-thing", 404), ("/v1/users/me", 401), ("/nope", 404)]
)
def test_problem_responses_carry_the_request_id(client, path, status):
    response = client.get(path, headers={"X-Request-ID": "req-42"})

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["X-Request-ID"] == "req-42"


def test_an_authenticated_response_carries_the_request_id(client, user):
    response = client.get("/v1/users/me", headers={**user.headers, "X-Request-ID": "req-me"})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-me"


# ----------------------------------------------------------------------- logs


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines grau's log handler writes while the test runs, parsed."""
    stream = io.StringIO()
    handler = observability.make_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.fixture
def failing_app(build_app: Callable[[dict[str, Any]], Flask]) -> Flask:
    failing = build_app({})

    @failing.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    return failing


def test_a_log_line_during_a_request_is_json_with_its_request_id(failing_app, log_lines):
    response = failing_app.test_client().get("/boom", headers={"X-Request-ID": "req-boom"})

    [line] = [line for line in log_lines() if line["message"].startswith("unhandled error")]
    assert response.headers["X-Request-ID"] == "req-boom"
    assert line["request_id"] == "req-boom"
    assert line["level"] == "ERROR"
    assert line["logger"] == "grau.http.errors"
    assert "RuntimeError: secret detail" in line["exc_info"]
    assert line["ts"].endswith("Z")


def test_the_formatter_reads_the_id_sent_to_the_request_context(app):
    handler = observability.make_handler(io.StringIO())
    with app.test_request_context("/", headers={"X-Request-ID": "ctx-7"}):
        record = logging.LogRecord("grau.test", logging.WARNING, __file__, 1, "hi %s", ("x",), None)
        handler.filter(record)
        entry = json.loads(handler.format(record))

    assert entry["request_id"] == "ctx-7"
    assert entry["message"] == "hi x"
    assert entry["level"] == "WARNING"
    assert "exc_info" not in entry


def test_a_log_line_outside_a_request_has_a_null_request_id(log_lines):
    logging.getLogger("grau.test").warning("no request here")

    [line] = [line for line in log_lines() if line["message"] == "no request here"]
    assert line["request_id"] is None


def test_building_apps_installs_one_json_handler(make_app):
    make_app()
    make_app()

    json_handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, observability.JsonFormatter)
    ]
    assert len(json_handlers) == 1


def test_the_log_level_may_be_given_in_lower_case(build_app):
    root = logging.getLogger()
    before = root.level
    try:
        build_app({"LOG_LEVEL": "warning"})

        assert root.level == logging.WARNING
    finally:
        root.setLevel(before)
