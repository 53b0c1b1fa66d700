"""gunicorn's access log, as gunicorn.conf.py configures it: one JSON object per request."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def access_lines(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """Two requests to a one-worker gunicorn started with gunicorn.conf.py, then its log."""
    tmp = tmp_path_factory.mktemp("access-log")
    port, log = _free_port(), tmp / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'grau.db'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    env.pop("REDIS_URL", None)
    # --access-logfile only redirects the lines; their format is gunicorn.conf.py's.
    process = subprocess.Popen(
        [str(GUNICORN), "--access-logfile", str(log)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(port, "/health", {"X-Request-ID": "warm-up"})
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)
        _get(port, '/nope?q="quoted"', {"X-Request-ID": "req-7", "User-Agent": 'evil", "x": "1\\'})
        deadline = time.monotonic() + 5
        while len(log.read_text().splitlines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=15)
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_each_request_is_one_json_line_with_grau_log_field_names(access_lines):
    assert len(access_lines) == 2
    line = access_lines[1]
    assert line["logger"] == "gunicorn.access"
    assert line["request_id"] == "req-7"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/nope", "404")
    assert line["query"] == 'q="quoted"'
    # The same timestamp format as grau's own lines: ISO 8601, UTC, milliseconds.
    assert time.strptime(str(line["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ")


def test_hostile_header_values_cannot_forge_fields(access_lines):
    assert "x" not in access_lines[1]
    assert access_lines[1]["user_agent"] == 'evil", "x": "1\\'
