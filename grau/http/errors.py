"""RFC 9457 problem details: one response shape for every error grau returns.

One handler turns any `HTTPException` (routing 404/405, webargs 422, our own
aborts, 413 from Werkzeug) into `application/problem+json`, keeping the
exception's headers (`Allow`, `WWW-Authenticate`, `Retry-After`); another
turns the domain errors services raise (`grau.core.domain_errors`) into theirs, by
the table `DOMAIN_STATUSES`. Anything else is logged with its traceback and
answered with a bare 500 problem.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, NoReturn
from urllib.parse import quote

from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from grau.core.domain_errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Stale,
    Unauthenticated,
)
from grau.http.fields import PROBLEM_TEXT_MAX

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
VALIDATION_DETAIL = "The request is invalid; see `errors` for each field."


class APIError(HTTPException):
    """An error with a problem `detail`, optional field `errors` and headers."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.detail = detail
        self.errors = errors
        self.extra_headers = headers or {}


def abort(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    raise APIError(status, detail, errors=errors, headers=headers)


def unauthorized(detail: str, error: str | None = "invalid_token") -> NoReturn:
    """401 with a bearer challenge; `error` is an RFC 6750 code, None when no token was sent."""
    abort(401, detail, headers={"WWW-Authenticate": _challenge(detail, error)})


def _challenge(detail: str, error: str | None) -> str:
    challenge = 'Bearer realm="grau"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return challenge


# The status each kind of domain error is answered with: the one place that says so.
DOMAIN_STATUSES: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Stale: 412,
    Gone: 410,
    Invalid: 422,
    Unauthenticated: 401,
}


def handle_domain_error(error: DomainError) -> Response:
    status = next(code for kind, code in DOMAIN_STATUSES.items() if isinstance(error, kind))
    headers = None
    if isinstance(error, Unauthenticated):
        headers = {"WWW-Authenticate": _challenge(error.detail or "", error.reason)}
    return problem(status, error.detail, errors=error.errors, headers=headers)


# What a path keeps unescaped: RFC 3986's unreserved and sub-delims, ":", "@" and "/".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _instance(path: str) -> str:
    """The request path as a URI reference (RFC 9457's `instance`): percent-encoded, and
    cut to `PROBLEM_TEXT_MAX` characters without splitting an escape."""
    quoted = quote(path, safe=_PATH_SAFE)
    if len(quoted) > PROBLEM_TEXT_MAX:
        quoted = quoted[:PROBLEM_TEXT_MAX]
        escape = quoted.rfind("%", len(quoted) - 2)
        quoted = quoted[:escape] if escape != -1 else quoted
    return quoted


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    headers: Any = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if errors and not detail:
        detail = VALIDATION_DETAIL
    if detail:
        body["detail"] = detail[:PROBLEM_TEXT_MAX]
    if request:
        body["instance"] = _instance(request.path)
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if headers:
        for name, value in dict(headers).items():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    return response


def _flatten_webargs_messages(messages: Any) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {...}, "query": {...}}): merge them."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    merged: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            merged.update(fields)
        else:
            merged[location] = fields
    return merged


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = dict(error.get_headers())
    if isinstance(error, APIError):
        headers.update(error.extra_headers)
        return problem(status, error.detail, errors=error.errors, headers=headers)
    # webargs (through flask-smorest's abort) puts details in `data`.
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    errors = None
    detail: str | None
    if "messages" in data:
        errors = _flatten_webargs_messages(data["messages"])
        detail = _DEFAULT_DETAILS[400] if status == 400 else VALIDATION_DETAIL
    else:
        detail = data.get("message") or _DEFAULT_DETAILS.get(status) or error.description
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status >= 500:
        detail = _DEFAULT_DETAILS.get(status)
    return problem(status, detail, errors=errors, headers=headers)


_DEFAULT_DETAILS = {
    400: "The request could not be understood: the body is not valid JSON.",
    404: "No resource exists at this URL, or it is not yours.",
    405: "This method is not allowed here; see the Allow header.",
    413: "The request body is larger than this server accepts.",
    415: "Send the request body as application/json.",
    428: "This request needs an If-Match header.",
    429: "Too many requests; retry after the number of seconds in Retry-After.",
    500: "An unexpected error occurred; it has been logged.",
    503: "The service is temporarily unavailable; retry after Retry-After seconds.",
}
DB_RETRY_AFTER_S = 5


STALE_DETAIL = "The resource changed while you were writing; fetch it again (see ETag)."
RACE_DETAIL = "A concurrent write to the same data got in the way; retry the request."


def handle_unexpected(error: Exception) -> Response:
    if _is_connection_error(error):
        log.warning("database unavailable: %s", error.__class__.__name__)
        return problem(503, _DEFAULT_DETAILS[503], headers={"Retry-After": str(DB_RETRY_AFTER_S)})
    if isinstance(error, StaleDataError):
        # A versioned UPDATE/DELETE matched no row: someone else wrote first
        # (raised wherever the flush happens, not only in crud.commit).
        return problem(412, STALE_DETAIL)
    if _is_transaction_conflict(error):
        # PostgreSQL aborted one of two transactions that waited on each other
        # (deadlock, serialization failure): nothing was written; a retry works.
        log.warning("transaction conflict: %s", error.__class__.__name__)
        return problem(409, RACE_DETAIL, headers={"Retry-After": "1"})
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, _DEFAULT_DETAILS[500])


def _is_transaction_conflict(error: Exception) -> bool:
    """SQLSTATE class 40: transaction rollback (40001 serialization, 40P01 deadlock)."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None) or ""
    return isinstance(error, DBAPIError) and sqlstate.startswith("40")


def _is_connection_error(error: Exception) -> bool:
    """A lost or refused database connection, or none free in the pool, as opposed to a
    bug in a query."""
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig).lower()
    return any(
        marker in text
        for marker in ("connection", "could not connect", "server closed", "terminating")
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
