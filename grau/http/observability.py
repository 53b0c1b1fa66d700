"""Request IDs, the access log and JSON logs: every request is traceable from its line.

`Envelope` is a WSGI middleware around the Flask app: what every request and
every answer gets, for the price of one function call (Flask hooks and
Werkzeug's header objects cost several times more per request):

- a request id: a client may send its own `X-Request-ID` (1-128 visible ASCII
  characters) to trace a call across services; anything else is replaced by a
  fresh one. It is echoed on every response (problem responses included) and
  added to each log record, which `configure_logging` writes as one JSON
  object per line on stderr;
- the headers every answer carries (`grau.http.security.headers_for`);
- the access line (`ACCESS_LOG`, on by default): one JSON object per request on
  stdout, with the same field names as the other lines (`ts`, `logger`,
  `request_id`), built with orjson. Lines are written together (`Lines`): one
  `write` of at most PIPE_BUF bytes, so workers sharing a pipe never split or
  interleave a line, at the latest FLUSH_S after the first of them was made.
  A write per line was a system call per request (5 to 8 µs of CPU measured in
  a request, against the 2 a line costs to build). A worker killed outright
  (SIGKILL, the OOM killer) loses the lines of its last FLUSH_S; a worker that
  exits writes them first.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import multiprocessing.util
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from flask import Flask, has_request_context, request

HEADER = "X-Request-ID"
REQUEST_ID = "grau.request_id"  # environ keys the envelope sets
URL_RULE = "grau.url_rule"  # the route the request matched (None: none), for the answer's hooks
EXTRA_HEADERS = "grau.extra_headers"  # headers the request's handling left for its answer


def add_headers(environ: dict[str, Any], headers: Iterable[tuple[str, str]]) -> None:
    """Headers for this request's answer, whatever answers it (the envelope adds them)."""
    environ.setdefault(EXTRA_HEADERS, []).extend(headers)


_VALID_ID = re.compile(r"^[\x21-\x7E]{1,128}$")

StartResponse = Callable[..., Any]
HeadersFor = Callable[[str, list[tuple[str, str]]], list[tuple[str, str]]]
# Told of every answer: the request's environ, the status code and the seconds it took.
OnAnswer = Callable[[dict[str, Any], int, float], None]


class _Process:
    """This process's id and the prefix of the request ids it makes, renewed in a forked
    child: asking the kernel for either on every request cost a system call each."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.pid = os.getpid()
        self.prefix = os.urandom(8).hex()
        self.sequence = itertools.count()


PROCESS = _Process()


def process_id() -> int:
    """`os.getpid()`, without the system call."""
    return PROCESS.pid


def _request_id_of(environ: dict[str, Any]) -> str:
    sent = environ.get("HTTP_X_REQUEST_ID", "")
    # fullmatch: `$` alone would accept a trailing newline, which could forge log lines.
    if _VALID_ID.fullmatch(sent):
        return sent
    # 32 hex digits: a random prefix per process, then a count (`next` is atomic).
    return f"{PROCESS.prefix}{next(PROCESS.sequence):016x}"


def current_request_id() -> str | None:
    """The current request's id, or None outside a request."""
    if not has_request_context():
        return None
    environ = request.environ
    request_id: str | None = environ.get(REQUEST_ID)
    if request_id is None:  # an app called without its envelope (a bare test harness)
        request_id = environ[REQUEST_ID] = _request_id_of(environ)
    return request_id


# The last whole second `_utc_stamp` formatted, and how: replaced as one tuple, so a
# thread reads a matching pair; strftime ran on every access line before.
_second: tuple[int, str] = (-1, "")


def _utc_stamp(moment: float) -> str:
    """ISO 8601, UTC, milliseconds: the `ts` of every grau log line."""
    global _second
    whole = int(moment)
    milliseconds = int((moment - whole) * 1000)
    second = _second
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{milliseconds:03d}Z"


# The longest a client-chosen field may be in an access line (request ids are at most 128).
FIELD_MAX = 400


# The fields of an access line a client chooses (and so may make long).
CLIENT_CHOSEN = ("forwarded_for", "method", "path", "query", "protocol", "referer", "user_agent")


def _clip(value: str) -> str:
    return value if len(value) <= FIELD_MAX else value[:FIELD_MAX] + "..."


def _content_length(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name == "Content-Length":
            return value
    return None


def _buffered(body: Iterable[bytes]) -> list[bytes]:
    """A body whose length is known (already in memory) as a list: the server sends a list
    in one call, where an iterator costs it a round of calls per chunk. Streamed bodies,
    which have no Content-Length, stay iterators."""
    try:
        return [b"".join(body)]
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


class Periodic:
    """`fn` run every `interval` seconds by a daemon thread of this process, started by
    the first `ensure_running` in each process (a forked child starts its own), and
    once more when that process ends: at interpreter exit, and where the process is a
    multiprocessing worker (granian's are), whose end skips `atexit` (`os._exit`), at
    multiprocessing's own exit."""

    def __init__(self, name: str, interval: float, fn: Callable[[], None]) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self._pid = -1  # the process whose thread runs
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._pid == PROCESS.pid:  # the usual case: one comparison
            return
        with self._lock:
            if self._pid == PROCESS.pid:
                return
            self._pid = PROCESS.pid
        atexit.register(self._last_round)
        multiprocessing.util.Finalize(None, self._last_round, exitpriority=10)
        threading.Thread(target=self._run, name=self.name, daemon=True).start()

    def _last_round(self) -> None:
        if self._pid == PROCESS.pid:  # (a forked child inherits its parent's `atexit`)
            with contextlib.suppress(Exception):
                self.fn()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with contextlib.suppress(Exception):  # a failed round must not end the next
                self.fn()


PIPE_BUF = 4096  # the longest write a pipe keeps whole among other writers' (POSIX)
FLUSH_S = 0.05  # the longest a line waits to be written


class Lines:
    """Lines for one file descriptor, written together: each write at most PIPE_BUF bytes
    of whole lines, none later than FLUSH_S after it was added (a thread per process
    writes what waits), and what waits when the process exits."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._waiting: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._writer = Periodic("grau-access-lines", FLUSH_S, self.flush)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked child: the parent's waiting lines are the parent's to write."""
        self._lock = threading.Lock()
        self._waiting, self._size = [], 0

    def add(self, line: bytes) -> None:
        """Write `line` (at most PIPE_BUF bytes, ending in a newline) soon."""
        with self._lock:
            if self._size + len(line) > PIPE_BUF:
                self._write(self._take())
            self._waiting.append(line)
            self._size += len(line)
        self._writer.ensure_running()

    def flush(self) -> None:
        with self._lock:
            self._write(self._take())

    def _take(self) -> bytes:
        waiting, self._waiting, self._size = self._waiting, [], 0
        return b"".join(waiting)

    def _write(self, data: bytes) -> None:
        # The answers are already made: a log that cannot be written must not fail them.
        if data:
            with contextlib.suppress(OSError):
                os.write(self.fd, data)


ACCESS_LINES = Lines(1)  # stdout


class Envelope:
    """WSGI middleware: the request id, the headers every answer carries, the access line,
    and `on_answer` (the metrics) told of every answer."""

    def __init__(
        self,
        app: Callable[..., Any],
        headers_for: HeadersFor,
        access_log: bool,
        on_answer: OnAnswer | None = None,
    ) -> None:
        self.app = app
        self.headers_for = headers_for
        self.access_log = access_log
        self.on_answer = on_answer

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID] = _request_id_of(environ)
        remote_addr = environ.get("REMOTE_ADDR", "-")  # before ProxyFix rewrites it
        answered: list[Any] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((HEADER, request_id))
            headers.extend(self.headers_for(environ.get("PATH_INFO", ""), headers))
            headers.extend(environ.get(EXTRA_HEADERS, ()))
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if not answered:
            return body
        status, headers = answered
        seconds = time.perf_counter() - started
        if self.on_answer is not None:
            self.on_answer(environ, int(status[:3]), seconds)
        length = _content_length(headers)
        if length is not None:
            body = _buffered(body)
        if self.access_log:
            self._log(environ, status, length, request_id, remote_addr, seconds)
        return body

    def _log(
        self,
        environ: dict[str, Any],
        status: str,
        length: str | None,
        request_id: str,
        remote_addr: str,
        seconds: float,
    ) -> None:
        get = environ.get
        line = {
            "ts": _utc_stamp(time.time()),
            "logger": "grau.access",
            "remote_addr": remote_addr,
            "forwarded_for": get("HTTP_X_FORWARDED_FOR", "-"),
            "method": get("REQUEST_METHOD", "-"),
            "path": get("PATH_INFO", "-"),
            "query": get("QUERY_STRING", ""),
            "protocol": get("SERVER_PROTOCOL", "-"),
            "status": int(status[:3]),
            "bytes": int(length) if length is not None else None,
            "duration_ms": round(seconds * 1000, 3),
            "referer": get("HTTP_REFERER", "-"),
            "user_agent": get("HTTP_USER_AGENT", "-"),
            "request_id": request_id,
            "pid": PROCESS.pid,  # which worker answered
        }
        dumped = orjson.dumps(line)
        if len(dumped) > FIELD_MAX:  # only then can a field be too long: clip those that are
            too_long = [field for field in CLIENT_CHOSEN if len(line[field]) > FIELD_MAX]
            for field in too_long:
                line[field] = _clip(line[field])
            if too_long:
                dumped = orjson.dumps(line)
        # Under PIPE_BUF (the clipped fields keep it so): `Lines` writes it whole.
        ACCESS_LINES.add(dumped + b"\n")


def init_app(app: Flask, headers_for: HeadersFor, on_answer: OnAnswer | None = None) -> None:
    """Wrap the app in its envelope; call it last, so the envelope sees what the client sees."""
    app.wsgi_app = Envelope(  # type: ignore[method-assign]
        app.wsgi_app, headers_for, bool(app.config.get("ACCESS_LOG", True)), on_answer
    )


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the current request's id, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC), level, logger, message, request_id, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, tz=UTC)
        entry: dict[str, object] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return json.dumps(entry, default=str)


def make_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler (stderr by default) writing JSON lines with the request id."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    return handler


# The root handler configure_logging installed, so a second call replaces it
# (tests and `create_app(blueprints=...)` build many apps in one process).
_installed: logging.Handler | None = None


def configure_logging(level: str | int) -> None:
    """Log JSON lines to stderr at `level` through one root handler, however often called."""
    global _installed
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    _installed = make_handler()
    root.addHandler(_installed)
    # `warning` as well as `WARNING`: the server's log level takes either, so LOG_LEVEL may too.
    root.setLevel(level.upper() if isinstance(level, str) else level)
