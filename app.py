"""Build the grau Flask app: `flask run`, `python -m grau.server` (granian), tests.

App creation lives outside the package so another entry file can serve a
subset of the API: `create_app(blueprints=[...])`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, redirect, request, send_from_directory
from flask.ctx import AppContext, RequestContext
from flask.globals import _cv_app, _cv_request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface, SessionMixin
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)
from flask_smorest import Blueprint
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter
from werkzeug.wrappers import Response as WerkzeugResponse

import grau
from grau.accounts.routes import auth_blp, users_blp
from grau.body_stats.routes import blp as body_stats_blp
from grau.catalog.routes import blp as equipment_blp
from grau.catalog.routes import exercises_blp
from grau.cli import grau_cli
from grau.config import Settings, validate
from grau.context import current_request
from grau.db import session as db_session
from grau.http import cache, errors, metrics, observability, ratelimit, security
from grau.http.extensions import GrauApi
from grau.http.openapi import finalize, tags_of
from grau.http.routing import GrauMap
from grau.http.views import check_session_ahead
from grau.moods.routes import blp as mood_tags_blp
from grau.moods.routes import moods_blp
from grau.nutrition.routes import blp as nutrition_blp
from grau.ops.routes import blp as ops_blp
from grau.plans.routes import blp as plans_blp
from grau.portability.routes import blp as portability_blp
from grau.sync.routes import blp as sync_blp
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
    sync_blp,
    portability_blp,
)

API_DESCRIPTION = """\
grau is an open-source backend for fitness tracking, for mobile and web apps.
People log their **body stats** (weight, height, body fat, girths) and read
them summed up per day, week or month; **moods**, labelled with their own
**mood tags**; **nutrition entries** (water, energy, nutrients) with daily
totals; and **workouts** with their sets, of **exercises** and **equipment**
from grau's catalog or their own (with each exercise's progress); and keep
**plans** of what to train. **Sync:** an app keeps an offline copy through
the changes feed (`GET /v1/changes`) and pushes its offline writes in one
batch. **Portability:** people bring their history in from Strong, Hevy or
another grau (`POST /v1/imports`) and take all of it with them
(`GET /v1/export`).

**Auth:** register with `POST /v1/users`, log in with `POST /v1/auth/login`,
then send `Authorization: Bearer <access_token>`. Refresh with
`POST /v1/auth/refresh` (refresh tokens are single use).

**Conventions:** errors are RFC 9457 problem details
(`application/problem+json`); lists return `{"items", "pagination"}` and take
`page`, `page_size` (max 100) and `sort`; reads return an `ETag` and honour
`If-None-Match`; writes honour an optional `If-Match` (412 when stale); `POST`
accepts an `Idempotency-Key`. Timestamps are RFC 3339 with an offset.

**Rate limits:** login and registration are limited per client address and
per account (the email sent), refresh per address, and every authenticated
operation per user. A request over a limit gets 429 with `Retry-After`
(seconds); rate-limited operations also send `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset`. Handle 429 on every
operation the same way (wait `Retry-After` seconds, then retry).

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
            # (OWASP API9: say who it is for and where it runs; one document serves each.)
            "servers": [
                {
                    "url": "/",
                    "description": "The server this document was loaded from: a local, "
                    "staging or production grau alike, each serving its own document.",
                    "x-internal": False,
                }
            ],
            "security": [{"bearerAuth": []}],
        },
    }


# Endpoints whose body is a file, not JSON.
FILE_UPLOADS = {"portability.Imports"}
FILE_TYPES = ("multipart/form-data", "application/octet-stream", "text/csv", "application/json")


def _require_json_bodies() -> Any:
    """415 for a body that is not JSON, before any view tries to parse it."""
    asked = current_request()
    if asked.method not in ("POST", "PUT", "PATCH") or asked.routing_exception is not None:
        return None  # nothing to parse, or no such route or method: its 404/405 comes first
    has_body = asked.content_length or asked.environ.get("HTTP_TRANSFER_ENCODING")
    if asked.endpoint in FILE_UPLOADS:
        if has_body and asked.mimetype not in FILE_TYPES:
            errors.abort(
                415,
                "Send the file as multipart/form-data (field `file`), text/csv "
                "or application/json.",
            )
        return None
    if has_body and not asked.is_json:
        errors.abort(415, "Send the request body as application/json.")
    return None


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with nesting too deep for the parser a 400 like any other bad JSON."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            # Flask turns a ValueError from the body parser into 400 Bad Request.
            raise ValueError("JSON nested too deeply") from exc


class NoCookieSessions(SessionInterface):
    """grau keeps no cookie session (tokens travel in headers): Flask's default would
    build a signing serializer from SECRET_KEY on every request for nothing."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask then uses its empty NullSession

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


class RoutedContext(RequestContext):
    """Flask's request context, which also leaves the route the request matched in its
    environ (`observability.URL_RULE`): the envelope's metrics read it there once Flask
    has let go of the request, so they need no Flask hook."""

    def match_request(self) -> None:
        super().match_request()
        self.request.environ[observability.URL_RULE] = self.request.url_rule


_UNSET: Any = object()  # (an argument not given, as Flask's own `_sentinel`)


def _given(exc: Any) -> bool:
    """Whether a teardown was given its error (None included), not a sentinel: ours, or
    Flask's own, which its request context passes on to the app context's `pop`."""
    return exc is None or isinstance(exc, BaseException)


class QuietAppContext(AppContext):
    """Flask's app context, its `appcontext_pushed` and `appcontext_popped` signals sent
    only where something receives them: a send without receivers is a few Python calls
    that do nothing, twice a request. Flask's lines, with its context variable and
    tokens (Flask has no public switch for this; development/upstream.md)."""

    def push(self) -> None:
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _UNSET) -> None:
        try:
            if len(self._cv_tokens) == 1:
                if not _given(exc):
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            popped = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if popped is not self:
            raise AssertionError(f"Popped wrong app context. ({popped!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)


# The hosts (`Host` header, server address) `GrauFlask.create_url_adapter` has bound to, at
# most this many: a client chooses the header, so a full map is emptied, not grown.
HOSTS_MAX = 64


def _wsgi_text(value: str | None) -> str | None:
    """A WSGI environ string as Werkzeug decodes it (latin-1 bytes read as UTF-8): an
    ASCII string is itself, so only others are decoded."""
    if value is None or value.isascii():
        return value
    return value.encode("latin1").decode(errors="replace")


class GrauFlask(Flask):
    """Flask, with what it does per request for features grau does not use left out.

    Each override does what Flask's does for grau's configuration, and hands over
    to Flask's own wherever a feature it skips is in use (a hook registered per
    blueprint, `SERVER_NAME`, trusted hosts, host or subdomain matching), so an app
    that adds one behaves as Flask documents. `test_flask_tunings` holds both.
    """

    json_provider_class = JSONProvider
    url_map_class = GrauMap
    session_interface = NoCookieSessions()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._is_async: dict[Any, bool] = {}
        # Per (scheme, Host header, SERVER_NAME, SERVER_PORT): the request's `host` and the
        # URL adapter's server name, as Werkzeug works them out (see create_url_adapter).
        self._hosts: dict[tuple[Any, ...], tuple[str, str]] = {}

    def request_context(self, environ: dict[str, Any]) -> RequestContext:
        return RoutedContext(self, environ)

    def app_context(self) -> AppContext:
        return QuietAppContext(self)

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Flask's adapter, bound to the request as `Map.bind_to_environ` binds it, with
        the host worked out once per host: Werkzeug validates the `Host` header, strips
        the scheme's port and IDNA-encodes the name on every request (about a twelfth
        of what a cached read runs). Only where Flask's default routing applies."""
        config = self.config
        if request is None and config["SERVER_NAME"] is None:
            return None  # (as Flask's: nothing to bind outside a request without it)
        if (
            request is None
            or config["TRUSTED_HOSTS"] is not None
            or config["SERVER_NAME"] is not None
            or self.url_map.host_matching
            or self.subdomain_matching
        ):
            return super().create_url_adapter(request)
        environ = request.environ
        scheme = environ["wsgi.url_scheme"]
        key = (
            scheme,
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
        )
        known = self._hosts.get(key)
        if known is None or "HTTP_UPGRADE" in environ:  # (a WebSocket's scheme differs)
            adapter = super().create_url_adapter(request)
            if adapter is not None and "HTTP_UPGRADE" not in environ:
                if len(self._hosts) >= HOSTS_MAX:
                    self._hosts.clear()
                self._hosts[key] = (request.host, adapter.server_name)
            return adapter
        request.host, server_name = known
        script_name = _wsgi_text(environ.get("SCRIPT_NAME"))
        path_info = _wsgi_text(environ.get("PATH_INFO"))
        return MapAdapter(
            self.url_map,
            server_name,
            "/" if script_name is None else script_name,
            self.url_map.default_subdomain or "",
            scheme,
            "/" if path_info is None else path_info,
            environ["REQUEST_METHOD"],
            _wsgi_text(environ.get("QUERY_STRING")),
        )

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Flask's, with a likely cache hit's session check sent before Flask starts on the
        request (`grau.http.views.check_session_ahead`), its answer dropped afterwards if
        the request never asked for it."""
        if not check_session_ahead(self, environ):
            return super().wsgi_app(environ, start_response)
        try:
            return super().wsgi_app(environ, start_response)
        finally:
            db_session.settle_early(self, environ)

    def full_dispatch_request(self) -> Response:
        """Flask's, `request_started` sent only where something receives it (a send
        without receivers is a few Python calls that do nothing, on every request)."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            answer = self.preprocess_request()
            if answer is None:
                answer = self.dispatch_request()
        except Exception as exc:
            answer = self.handle_user_exception(exc)
        return self.finalize_request(answer)

    def finalize_request(self, rv: Any, from_error_handler: bool = False) -> Response:
        """Flask's, `request_finished` sent only where something receives it."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def preprocess_request(self) -> Any:
        """Flask's, where every before-request hook is the app's (grau's): those, in
        order, without working out the request's blueprints to look for others."""
        hooks = self.before_request_funcs
        if self.url_value_preprocessors or len(hooks) > (None in hooks):
            return super().preprocess_request()
        for before in hooks.get(None, ()):
            answer = self.ensure_sync(before)()
            if answer is not None:
                return answer
        return None

    def process_response(self, response: Response) -> Response:
        """Flask's, where no after-request hook is registered (grau has none): the
        request's own (`after_this_request`), and the session, if there is one."""
        if self.after_request_funcs:
            return super().process_response(response)
        context = _cv_request.get()
        for func in context._after_request_functions:
            response = self.ensure_sync(func)(response)
        session = context._session
        if session is not None and not self.session_interface.is_null_session(session):
            self.session_interface.save_session(self, session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _UNSET) -> None:
        """Flask's, where no teardown-request hook is registered (grau's teardown is the
        app context's): the signal alone."""
        if self.teardown_request_funcs:
            return super().do_teardown_request(exc)
        if request_tearing_down.receivers:  # (none: blinker's send would do nothing)
            if not _given(exc):
                exc = sys.exc_info()[1]
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
        return None

    def do_teardown_appcontext(self, exc: BaseException | None = _UNSET) -> None:
        """Flask's (the app's teardown functions, then the signal), the signal sent only
        where something receives it: a send without receivers is a few Python calls
        that do nothing, on every request."""
        if not _given(exc):
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self.ensure_sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def dispatch_request(self) -> Any:
        """Flask's, run once more on the primary when a read failed on a replica
        (`grau.db.session.read_again_on_primary`): a GET is safe to repeat."""
        if db_session.REPLICAS not in self.extensions:
            return self._dispatch()
        try:
            return self._dispatch()
        except Exception as exc:
            if not db_session.read_again_on_primary(exc):
                raise
        # The headers the first run left for the answer (its RateLimit) come again.
        request.environ.pop(observability.EXTRA_HEADERS, None)
        return self._dispatch()

    def _dispatch(self) -> Any:
        """Flask's `dispatch_request`, the request read from its context variable: through
        Flask's `request_ctx` proxy, a read first fails the proxy's own attribute lookup,
        and CPython 3.11 formats that AttributeError's message before the proxy's
        `__getattr__` runs (about a hundredth of a cached read)."""
        asked = _cv_request.get().request
        if asked.routing_exception is not None:
            self.raise_routing_exception(asked)
        rule: Any = asked.url_rule
        if getattr(rule, "provide_automatic_options", False) and asked.method == "OPTIONS":
            return self.make_default_options_response()
        view_args: dict[str, Any] = asked.view_args  # type: ignore[assignment]
        return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's check, made once per function: it otherwise inspects every hook and
        view for `async def` on every request, and grau's functions never change.

        Keyed by the function under a bound method: each read of `view.get` is a new
        bound method (and Flask's own MethodView, which an app may still use, binds its
        methods to a new instance per request).
        """
        target = getattr(func, "__func__", func)
        is_async = self._is_async.get(target)
        if is_async is None:
            is_async = self._is_async[target] = super().ensure_sync(func) is not func
        return self.async_to_sync(func) if is_async else func


def _home() -> WerkzeugResponse:
    """`/`: a visitor (a browser, someone trying the API by hand) is sent to the docs."""
    return redirect("docs", code=302)


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

    served = list(DEFAULT_BLUEPRINTS if blueprints is None else blueprints)
    app = GrauFlask("grau")
    app.config.update(settings)
    app.config.update(_openapi_config(app))
    app.config["API_SPEC_OPTIONS"]["tags"] = tags_of(served)
    app.config["DEBUG"] = False
    if settings["TRUSTED_PROXIES"] > 0:
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    observability.configure_logging(app.config["LOG_LEVEL"])

    metrics.init_app(app)
    security.init_app(app)
    db_session.init_app(app)
    metrics.count_replica_reads(app)
    cache.init_app(app)
    ratelimit.init_app(app)
    app.before_request(_require_json_bodies)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.add_url_rule("/", "home", _home)
    app.cli.add_command(grau_cli)

    api = GrauApi(app)
    errors.init_app(app)  # after the Api: its handlers replace flask-smorest's
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The access_token from POST /v1/auth/login: a JWT issued and "
            "checked as RFC8725 (JWT Best Current Practices) recommends. One algorithm "
            "(HS256) is accepted, never `none`; `exp`, `sub`, `sid` and `typ` are required "
            "and `typ` must be `access`, so a refresh token or another kind of JWT is refused; "
            "and every request also checks that the token's session is alive.",
        },
    )
    for blp in served:
        api.register_blueprint(blp)
    finalize(api.spec)
    app.extensions["grau.api"] = api
    # Last: the outermost layer.
    observability.init_app(app, security.headers_for, metrics.recorder(app))
    return app
