"""The access log of grau's production server: one JSON object per request, on stdout."""

from __future__ import annotations

import json
import time

import pytest
from live import Server, call


@pytest.fixture(scope="module")
def access_line(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The access log line of one request to grau.server on the embedded default."""
    tmp = tmp_path_factory.mktemp("access-log")
    log = tmp / "server.log"
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'grau.db'}", "REDIS_URL": ""}
    server = Server(env, log, workers=1, threads=1).start()
    try:
        call(
            server.port,
            "GET",
            "/nope?q=%22quoted%22&back=%5C",
            headers={"X-Request-ID": "req-7", "User-Agent": 'evil", "x": "1\\'},
        )
        deadline = time.monotonic() + 10  # the line is written as the response leaves
        while "req-7" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    # Every line the server wrote is JSON; one of them is the request's.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("request_id") == "req-7"]
    assert len(ours) == 1, lines
    return ours[0]


def test_each_request_is_one_json_line_with_grau_log_field_names(access_line):
    line = access_line
    assert line["logger"] == "grau.access"
    assert line["request_id"] == "req-7"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/nope", 404)
    assert line["query"] == "q=%22quoted%22&back=%5C"  # as sent: the raw query string
    assert isinstance(line["duration_ms"], float)
    assert isinstance(line["pid"], int)
    # The same timestamp format as grau's own lines: ISO 8601, UTC, milliseconds.
    assert time.strptime(str(line["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ")


def test_hostile_header_values_cannot_forge_fields(access_line):
    assert "x" not in access_line
    assert access_line["user_agent"] == 'evil", "x": "1\\'
