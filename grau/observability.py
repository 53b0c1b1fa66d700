"""Request IDs and JSON logs: every response carries `X-Request-ID`, every log line names it.

A client may send its own `X-Request-ID` (1-128 visible ASCII characters) to
trace a call across services; anything else is replaced by a fresh id. The id
is kept in `flask.g`, echoed on every response (problem responses included)
and added to each log record, which `configure_logging` writes as one JSON
object per line.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import IO

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[\x21-\x7E]{1,128}$")


def current_request_id() -> str | None:
    """The current request's id (assigned on first use), or None outside a request."""
    if not has_request_context():
        return None
    request_id: str | None = g.get("request_id")
    if request_id is None:
        sent = request.headers.get(HEADER, "")
        # fullmatch: `$` alone would accept a trailing newline, which could forge log lines.
        request_id = sent if _VALID_ID.fullmatch(sent) else uuid.uuid4().hex
        g.request_id = request_id
    return request_id


def _assign_request_id() -> None:
    current_request_id()


def _send_request_id(response: Response) -> Response:
    # current_request_id() again rather than g: a before_request hook that ran
    # earlier and aborted would otherwise leave the id unset.
    response.headers[HEADER] = current_request_id() or uuid.uuid4().hex
    return response


def init_app(app: Flask) -> None:
    """Register the hooks; call it before other hooks so logs from theirs carry the id."""
    app.before_request(_assign_request_id)
    app.after_request(_send_request_id)


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
    # `warning` as well as `WARNING`: gunicorn's loglevel takes either, so LOG_LEVEL may too.
    root.setLevel(level.upper() if isinstance(level, str) else level)
