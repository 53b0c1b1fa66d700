"""Response headers that keep browsers and caches from misusing grau's answers, and CORS.

- `X-Content-Type-Options: nosniff` on every response: a body is only ever
  what its Content-Type says.
- Every `/v1` response carries personal data or tokens: `Cache-Control:
  no-store` keeps it out of shared and browser caches. Revalidation still
  works for a client that keeps its own copy: it sends the ETag it stored in
  `If-None-Match` and gets 304 (see the README's API conventions).
  `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` makes
  a JSON answer inert if a browser ever renders it.
- CORS from an allow-list (`CORS_ORIGINS`): an allowed origin gets
  `Access-Control-Allow-Origin` (and, on a preflight, the methods and headers
  grau accepts); any other origin gets no CORS headers, so browsers block it.
  No credentials mode: grau's tokens are bearer headers, never cookies.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request

API_PREFIX = "/v1/"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Request headers a browser app may send, and response headers it may read.
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
)
CORS_EXPOSE_HEADERS = (
    "ETag, Location, Retry-After, Idempotent-Replayed, X-Request-ID, "
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)
CORS_MAX_AGE_S = 600


def allowed_origins(setting: str) -> frozenset[str]:
    """`CORS_ORIGINS` as a set of exact origins (trailing slashes dropped)."""
    return frozenset(part.strip().rstrip("/") for part in setting.split(",") if part.strip())


NOSNIFF = ("X-Content-Type-Options", "nosniff")
API_HEADERS = (NOSNIFF, ("Cache-Control", "no-store"))


def headers_for(path: str, present: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers an answer at `path` gets on its way out (grau.http.observability's envelope),
    given the ones it already has: a page that sets its own CSP (the docs) keeps it."""
    if not path.startswith(API_PREFIX):
        return [NOSNIFF]
    for name, _ in present:  # (a loop: a generator's frames cost more than the few headers)
        if name == "Content-Security-Policy":
            return list(API_HEADERS)
    return [*API_HEADERS, ("Content-Security-Policy", API_CSP)]


def _cors(origins: frozenset[str]) -> Callable[[Response], Response]:
    def add_cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith(API_PREFIX):
            return response
        response.vary.add("Origin")
        if origin not in origins and "*" not in origins:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            # Flask answers OPTIONS itself, with the route's methods in Allow.
            allow = response.headers.get("Allow", "")
            response.headers["Access-Control-Allow-Methods"] = allow
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_S)
        return response

    return add_cors_headers


def init_app(app: Flask) -> None:
    """CORS, if configured (the other headers are added by the envelope: `headers_for`)."""
    origins = allowed_origins(app.config["CORS_ORIGINS"])
    if origins:
        app.after_request(_cors(origins))
