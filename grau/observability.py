"""Request IDs, the access log and JSON logs: every request is traceable from its line.

A client may send its own `X-Request-ID` (1-128 visible ASCII characters) to
trace a call across services; anything else is replaced by a fresh id. The id
is kept in `flask.g`, echoed on every response (problem responses included)
and added to each log record, which `configure_logging` writes as one JSON
object per line on stderr.

The access log (`ACCESS_LOG`, on by default) is one JSON object per request
on stdout, with the same field names as the other lines (`ts`, `logger`,
`request_id`): built with orjson and written with one unbuffered `write`, so
a line is never split, interleaved or lost in a buffer when a worker dies.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

import orjson
from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
_VALID_ID = re.compile(r"^[\x21-\x7E]{1,128}$")


def _request_id_of(environ: dict[str, str]) -> str:
    sent = environ.get(ENVIRON_KEY, "")
    # fullmatch: `$` alone would accept a trailing newline, which could forge log lines.
    return sent if _VALID_ID.fullmatch(sent) else os.urandom(16).hex()


def current_request_id() -> str | None:
    """The current request's id (assigned on first use), or None outside a request."""
    if not has_request_context():
        return None
    request_id: str | None = g.get("request_id")
    if request_id is None:
        request_id = g.request_id = _request_id_of(request.environ)
    return request_id


def _start() -> None:
    g.request_id = _request_id_of(request.environ)
    g.started = time.perf_counter()


def _utc_stamp(moment: float) -> str:
    """ISO 8601, UTC, milliseconds: the `ts` of every grau log line."""
    whole = int(moment)
    milliseconds = int((moment - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{milliseconds:03d}Z"


def _finish(write_access_line: bool) -> Callable[[Response], Response]:
    def finish(response: Response) -> Response:
        # current_request_id() rather than g: a before_request hook that ran
        # earlier and aborted would otherwise leave the id unset.
        request_id = current_request_id() or os.urandom(16).hex()
        response.headers[HEADER] = request_id
        if write_access_line:
            _access_line(response, request_id)
        return response

    return finish


def _access_line(response: Response, request_id: str) -> None:
    environ = request.environ
    started = g.get("started")
    line = {
        "ts": _utc_stamp(time.time()),
        "logger": "grau.access",
        "remote_addr": environ.get("REMOTE_ADDR", "-"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", "-"),
        "method": environ.get("REQUEST_METHOD", "-"),
        "path": environ.get("PATH_INFO", "-"),
        "query": environ.get("QUERY_STRING", ""),
        "protocol": environ.get("SERVER_PROTOCOL", "-"),
        "status": response.status_code,
        "bytes": response.content_length,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else None,
        "referer": environ.get("HTTP_REFERER", "-"),
        "user_agent": environ.get("HTTP_USER_AGENT", "-"),
        "request_id": request_id,
        "pid": os.getpid(),  # which worker answered
    }
    # One write of the whole line: atomic on a pipe (PIPE_BUF), so workers never interleave.
    os.write(1, orjson.dumps(line) + b"\n")


def init_app(app: Flask) -> None:
    """Register the hooks; call it before other hooks, so logs from theirs carry the id and
    its after-request hook runs last (Flask runs those in reverse), seeing the final answer."""
    app.before_request(_start)
    app.after_request(_finish(app.config.get("ACCESS_LOG", True)))


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
