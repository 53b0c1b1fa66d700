"""The access log of grau's production server: one JSON object per request, on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT
from live import Server, call

from grau.http.observability import FLUSH_S, PIPE_BUF, Lines


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


def _envelope(app):  # type: ignore[no-untyped-def]
    from grau.http.observability import Envelope

    return Envelope(app, lambda path, headers: [], access_log=False)


def test_a_body_of_known_length_is_sent_as_one_list_and_closed_first() -> None:
    closed = []

    class Body:
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([b"ab", b"c"])

        def close(self) -> None:
            closed.append(True)

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Length", "3")])
        return Body()

    body = _envelope(app)({}, lambda status, headers, exc_info=None: None)
    assert body == [b"abc"]
    assert closed == [True]  # what the app asked to run after sending still runs


def test_a_streamed_body_stays_a_stream() -> None:
    pulled = []

    def chunks():  # type: ignore[no-untyped-def]
        for chunk in (b"a", b"b"):
            pulled.append(chunk)
            yield chunk

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/csv")])  # no length: streamed
        return chunks()

    body = _envelope(app)({}, lambda status, headers, exc_info=None: None)
    assert pulled == []  # nothing read before the server reads it
    assert list(body) == [b"a", b"b"]


def test_log_timestamps_follow_the_clock_across_seconds() -> None:
    from grau.http.observability import _utc_stamp

    assert _utc_stamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert _utc_stamp(0.999) == "1970-01-01T00:00:00.999Z"
    assert _utc_stamp(86400.25) == "1970-01-02T00:00:00.250Z"
    assert _utc_stamp(0.0) == "1970-01-01T00:00:00.000Z"


# ------------------------------------------------------------- lines written together


def _pipe_lines(tmp_path: Path) -> tuple[Lines, list[int], Path]:
    """`Lines` on a file, and the size of each write it made."""
    path = tmp_path / "lines.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    lines = Lines(fd)
    sizes: list[int] = []
    real = lines._write

    def recorded(data: bytes) -> None:
        if data:
            sizes.append(len(data))
        real(data)

    lines._write = recorded  # type: ignore[method-assign]
    return lines, sizes, path


def test_lines_from_many_threads_are_written_whole_in_writes_a_pipe_keeps_whole(
    tmp_path: Path,
) -> None:
    lines, sizes, path = _pipe_lines(tmp_path)

    def add(thread: int) -> None:
        for i in range(500):
            lines.add(
                json.dumps({"thread": thread, "i": i, "pad": "x" * (i % 300)}).encode() + b"\n"
            )

    workers = [threading.Thread(target=add, args=(t,)) for t in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lines.flush()

    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((w["thread"], w["i"]) for w in written) == [
        (t, i) for t in range(4) for i in range(500)
    ]
    assert max(sizes) <= PIPE_BUF and len(sizes) < 2000 / 4  # batched, each write whole


def test_a_line_is_written_soon_without_another_request(tmp_path: Path) -> None:
    lines, _, path = _pipe_lines(tmp_path)

    lines.add(b'{"alone": true}\n')
    deadline = time.monotonic() + 10 * FLUSH_S + 2  # generous for a loaded machine
    while not path.read_bytes() and time.monotonic() < deadline:
        time.sleep(FLUSH_S / 5)

    assert path.read_bytes() == b'{"alone": true}\n'


def test_a_process_that_exits_writes_the_lines_still_waiting(tmp_path: Path) -> None:
    code = (
        "from grau.http.observability import ACCESS_LINES\n"
        "ACCESS_LINES.add(b'{\"last\": 1}\\n')\n"  # exits before the writer's first round
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=True, cwd=ROOT
    )
    assert done.stdout == b'{"last": 1}\n'


def test_a_server_stopped_gracefully_writes_its_last_lines(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """granian's workers end through multiprocessing, which skips `atexit`: the lines still
    waiting are written all the same."""
    tmp = tmp_path_factory.mktemp("stopped")
    log = tmp / "server.log"
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'grau.db'}", "REDIS_URL": ""}
    server = Server(env, log, workers=1, threads=1).start()
    try:
        call(server.port, "GET", "/health", headers={"X-Request-ID": "the-last-one"})
    finally:
        server.stop()  # at once: the line is still waiting (FLUSH_S)

    assert "the-last-one" in log.read_text()


class _Captured:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def add(self, line: bytes) -> None:
        self.lines.append(line)


def _logged(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, object]:
    from grau.http import observability

    captured = _Captured()
    monkeypatch.setattr(observability, "ACCESS_LINES", captured)
    envelope = observability.Envelope(lambda e, s: [], lambda p, h: [], access_log=True)
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/body-stats", "SERVER_PROTOCOL": "HTTP/1.1"}
    envelope._log({**base, **environ}, "200 OK", "2", "req-1", "127.0.0.1", 0.001)
    [line] = captured.lines
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert len(line) <= PIPE_BUF  # written whole, whatever the client sent
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_client_chosen_fields_are_clipped_only_when_too_long(monkeypatch):
    from grau.http.observability import FIELD_MAX

    long_agent = "a" * 5000
    long_path = "/v1/" + "p" * 3000
    clipped = _logged(
        monkeypatch, HTTP_USER_AGENT=long_agent, PATH_INFO=long_path, QUERY_STRING="q" * 900
    )
    assert clipped["user_agent"] == long_agent[:FIELD_MAX] + "..."
    assert clipped["path"] == long_path[:FIELD_MAX] + "..."
    assert clipped["query"] == "q" * FIELD_MAX + "..."
    assert clipped["method"] == "GET"
    # A line longer than FIELD_MAX whose fields are each short enough keeps them whole.
    agent = "b" * (FIELD_MAX - 1)
    whole = _logged(monkeypatch, HTTP_USER_AGENT=agent, HTTP_REFERER="r" * FIELD_MAX)
    assert whole["user_agent"] == agent
    assert whole["referer"] == "r" * FIELD_MAX
