"""Rate limits: declared on views, enforced by one Flask-Limiter per app.

Views are marked with `@rate_limited(config_key, per=...)`; `init_app` builds
the app's own `Limiter` (storage, prefix and on/off switch from that app's
config, so two apps in one process never share them) and wraps the marked
endpoints. Counters live in Redis when `REDIS_URL` is set; when Redis is down
each process falls back to its own counters instead of failing the request.

Counted per client address, per account (the email a login or registration
names) or per user (the verified `sub` of the bearer token; a request without
a valid token counts against its address instead, so forged tokens cannot
spread one client over many counters).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import jwt
from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from grau.openapi import add_responses

F = TypeVar("F", bound=Callable[..., Any])
MARK = "_grau_rate_limits"


def _client_address() -> str:
    return get_remote_address() or "unknown"


def _account() -> str:
    """The email in the JSON body: limits guessing one account from many addresses."""
    try:
        body = request.get_json(silent=True)
    except HTTPException:  # a body over MAX_CONTENT_LENGTH: the view answers 413
        body = None
    value = body.get("email") if isinstance(body, dict) else None
    return "account:" + (str(value).strip().lower()[:320] if value else "")


def _user() -> str:
    """The token's user if its signature holds (even expired or revoked), else the address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        # A token this process has verified before (grau.auth.tokens keeps them).
        known = current_app.extensions.get("grau.verified_tokens", {}).get(token.strip())
        if known is not None:
            return f"user:{known[0]}"
        try:
            claims = jwt.decode(
                token.strip(),
                current_app.config["SECRET_KEY"],
                algorithms=["HS256"],
                options={"verify_exp": False, "require": ["sub"]},
            )
            return f"user:{str(claims['sub'])[:64]}"
        except jwt.InvalidTokenError:
            pass
    return _client_address()


KEYS: dict[str, Callable[[], str]] = {
    "address": _client_address,
    "account": _account,
    "user": _user,
}


def rate_limited(config_key: str, *, per: str = "address") -> Callable[[F], F]:
    """Limit a view to the rate in `config[config_key]`, counted per client address or account."""
    if per not in KEYS:
        raise ValueError(f"per must be one of {sorted(KEYS)}")

    def decorator(func: F) -> F:
        limits = [*getattr(func, MARK, []), (config_key, per)]
        setattr(func, MARK, limits)
        add_responses(func, (429,))
        return func

    return decorator


def init_app(app: Flask) -> Limiter:
    config = app.config
    redis_url = config["REDIS_URL"]
    timeout = config["REDIS_SOCKET_TIMEOUT_MS"] / 1000
    limiter = Limiter(
        key_func=_client_address,
        storage_uri=redis_url or "memory://",
        storage_options=(
            {"socket_timeout": timeout, "socket_connect_timeout": timeout} if redis_url else {}
        ),
        key_prefix=f"{config['CACHE_KEY_PREFIX']}:rl",
        enabled=config["RATELIMIT_ENABLED"],
        # Flask-Limiter's own headers cost two more Redis round trips on every limited
        # request (the window's TTL and count); grau sends them only on a 429, below.
        headers_enabled=False,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.after_request(partial(_headers_when_limited, limiter))
    view: Any
    for endpoint, view in list(app.view_functions.items()):
        view_class = getattr(view, "view_class", None)
        methods = view_class.methods if view_class is not None else ["GET"]
        for method in methods or ():
            target = getattr(view_class, method.lower(), None) if view_class else view
            for config_key, per in getattr(target, MARK, []):
                view = limiter.limit(_configured(config_key), key_func=KEYS[per], methods=[method])(
                    view
                )
        app.view_functions[endpoint] = view
    # Every limit is on a view, checked by the view's own wrapper: the limiter's
    # app-wide hook would only resolve (no) default limits, on every request.
    # (A disabled limiter registers no hooks.)
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)
    app.extensions["grau.limiter"] = limiter
    return limiter


def _headers_when_limited(limiter: Limiter, response: Response) -> Response:
    """On a 429: the breached limit, what is left of it (0), when it resets, Retry-After."""
    if response.status_code != 429:
        return response
    limit = limiter.current_limit
    if limit is None:  # not the limiter's 429
        return response
    try:
        reset_at = limit.reset_at  # reads the window: one Redis round trip, on a 429 only
        remaining = limit.remaining
    except Exception:  # storage gone since the hit: the limit's whole window is the bound
        reset_at, remaining = int(time.time()) + limit.limit.get_expiry(), 0
    response.headers["X-RateLimit-Limit"] = str(limit.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    response.headers["Retry-After"] = str(max(1, reset_at - int(time.time())))
    return response


def _configured(config_key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[config_key])
