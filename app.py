"""Build the grau Flask app: `flask run`, `gunicorn 'app:create_app()'`, tests.

App creation lives outside the package so another entry file can serve a
subset of the API: `create_app(blueprints=[...])`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, send_from_directory
from flask_smorest import Blueprint
from werkzeug.middleware.proxy_fix import ProxyFix

import grau
from grau import errors, metrics, observability, ratelimit
from grau.auth.routes import blp as auth_blp
from grau.body_stats.routes import blp as body_stats_blp
from grau.cache import Cache, make_store
from grau.catalog.routes import blp as equipment_blp
from grau.catalog.routes import exercises_blp
from grau.cli import grau_cli
from grau.config import Settings, validate
from grau.db import session as db_session
from grau.extensions import GrauApi
from grau.moods.routes import blp as mood_tags_blp
from grau.moods.routes import moods_blp
from grau.nutrition.routes import blp as nutrition_blp
from grau.openapi import finalize
from grau.ops.routes import blp as ops_blp
from grau.plans.routes import blp as plans_blp
from grau.users.routes import blp as users_blp
from grau.workouts.routes import blp as workouts_blp

DEFAULT_BLUEPRINTS: tuple[Blueprint, ...] = (
    ops_blp,
    auth_blp,
    users_blp,
    body_stats_blp,
    mood_tags_blp,
    moods_blp,
    nutrition_blp,
    equipment_blp,
    exercises_blp,
    workouts_blp,
    plans_blp,
)

API_DESCRIPTION = """\
grau is an open-source backend for fitness tracking, for mobile and web apps:
people log their body stats (weight, height, body fat, girths) over time.

**Auth:** register with `POST /v1/users`, log in with `POST /v1/auth/login`,
then send `Authorization: Bearer <access_token>`. Refresh with
`POST /v1/auth/refresh` (refresh tokens are single use).

**Conventions:** errors are RFC 9457 problem details
(`application/problem+json`); lists return `{"items", "pagination"}` and take
`page`, `page_size` (max 100) and `sort`; reads return an `ETag` and honour
`If-None-Match`; writes honour an optional `If-Match` (412 when stale); `POST`
accepts an `Idempotency-Key`. Timestamps are RFC 3339 with an offset.

**Rate limits:** login, refresh and registration answer 429 with `Retry-After`
(seconds) when called too often. Handle 429 on every operation the same way
(wait `Retry-After` seconds, then retry): a general limit may be added to any
operation without a major version change.

**Other errors:** any operation can also answer with a status it does not
list (413 for a body that is too large, 415 for one that is not JSON, 503
while the database is unreachable); its `default` response describes them.
"""


def _openapi_config(app: Flask) -> dict[str, Any]:
    return {
        "API_TITLE": "grau",
        "API_VERSION": grau.__version__,
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/swagger-ui/",
        "OPENAPI_SWAGGER_UI_CONFIG": {"persistAuthorization": True, "validatorUrl": None},
        "OPENAPI_REDOC_PATH": "/redoc",
        "OPENAPI_REDOC_URL": "/static/redoc/redoc.standalone.js",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": API_DESCRIPTION,
                "contact": {"name": "grau maintainers", "email": "maintainers@grau.invalid"},
                "license": {"name": "MIT", "identifier": "MIT"},
            },
            # Relative, so Swagger UI's "Try it out" calls the origin it was loaded from.
            "servers": [{"url": "/", "description": "The server this document was loaded from"}],
            "security": [{"bearerAuth": []}],
        },
    }


def _require_json_bodies() -> Any:
    """415 for a body that is not JSON, before any view tries to parse it."""
    if request.routing_exception is not None:
        return None  # no such route or method: its 404/405 comes first
    has_body = request.content_length or request.headers.get("Transfer-Encoding")
    if request.method in ("POST", "PUT", "PATCH") and has_body and not request.is_json:
        errors.abort(415, "Send the request body as application/json.")
    return None


def _favicon() -> Response:
    return send_from_directory(
        Path(grau.__file__).parent / "static",
        "favicon.svg",
        mimetype="image/svg+xml",
        max_age=86400,
    )


def create_app(
    config: Mapping[str, Any] | None = None,
    blueprints: Iterable[Blueprint] | None = None,
) -> Flask:
    """Create a grau app from the environment, `config` overrides and `blueprints`."""
    settings = Settings.from_env().as_flask_config()
    settings.update(config or {})
    validate(settings)

    app = Flask("grau")
    app.config.update(settings)
    app.config.update(_openapi_config(app))
    app.config["DEBUG"] = False
    if settings["TRUSTED_PROXIES"] > 0:
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    observability.configure_logging(app.config["LOG_LEVEL"])

    observability.init_app(app)  # first, so every later hook logs with the request id
    metrics.init_app(app)  # its timer goes before every other hook
    errors.init_app(app)
    db_session.init_app(app)
    app.extensions["grau.cache"] = Cache(
        make_store(settings), prefix=settings["CACHE_KEY_PREFIX"], ttl=settings["CACHE_TTL"]
    )
    app.before_request(_require_json_bodies)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.cli.add_command(grau_cli)

    api = GrauApi(app)
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The access_token from POST /v1/auth/login.",
        },
    )
    for blp in DEFAULT_BLUEPRINTS if blueprints is None else blueprints:
        api.register_blueprint(blp)
    ratelimit.init_app(app)
    finalize(api.spec)
    app.extensions["grau.api"] = api
    return app
