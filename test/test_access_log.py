"""gunicorn's access log, as gunicorn.conf.py configures it: one JSON object per request."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from live import call, free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


@pytest.fixture(scope="module")
def access_line(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The access log line of one request to a gunicorn started with gunicorn.conf.py."""
    tmp = tmp_path_factory.mktemp("access-log")
    port, log = free_port(), tmp / "access.log"
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
                call(port, "GET", "/health", headers={"X-Request-ID": "warm-up"})
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)
        call(
            port,
            "GET",
            '/nope?q="quoted"',
            headers={"X-Request-ID": "req-7", "User-Agent": 'evil", "x": "1\\'},
        )
        deadline = time.monotonic() + 10  # the line is written after the response
        while "req-7" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=15)
    # Every line is JSON (the warm-up's too); one of them is the request's.
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    ours = [line for line in lines if line["request_id"] == "req-7"]
    assert len(ours) == 1, lines
    return ours[0]


def test_each_request_is_one_json_line_with_grau_log_field_names(access_line):
    line = access_line
    assert line["logger"] == "gunicorn.access"
    assert line["request_id"] == "req-7"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/nope", "404")
    assert line["query"] == 'q="quoted"'
    # The same timestamp format as grau's own lines: ISO 8601, UTC, milliseconds.
    assert time.strptime(str(line["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ")


def test_hostile_header_values_cannot_forge_fields(access_line):
    assert "x" not in access_line
    assert access_line["user_agent"] == 'evil", "x": "1\\'
