"""The shared extension objects: the flask-smorest Api, the rate limiter, the cache."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from grau.cache import Cache
from grau.errors import PROBLEM_JSON
from grau.schemas import Problem


class GrauApi(Api):
    """flask-smorest's Api with problem+json error responses in the spec.

    grau.errors handles every error at the app level, so flask-smorest's own
    handler (which drops headers such as `Allow`) is not registered.
    """

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Unexpected error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def _register_etag_headers(self) -> None:
        return None

    def _register_pagination_header(self) -> None:
        return None


def _rate_limit_key() -> str:
    return get_remote_address() or "unknown"


limiter = Limiter(
    key_func=_rate_limit_key,
    headers_enabled=True,
    # Limits live in Redis when it is configured; when it is down each process
    # falls back to its own counters instead of failing the request.
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)


def rate_limit(limit: Callable[[], str], **options: Any) -> Any:
    """A Flask-Limiter limit whose value and on/off switch come from the app config."""
    return limiter.limit(
        limit, exempt_when=lambda: not current_app.config["RATELIMIT_ENABLED"], **options
    )


def cache() -> Cache:
    cache: Cache = current_app.extensions["grau.cache"]
    return cache


def json_body_field(name: str) -> str:
    """A field of the JSON body, for per-account rate limit keys."""
    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    return str(value).strip().lower()[:320] if value else ""
