"""GrauFlask: what it leaves out of Flask's per-request work changes nothing Flask documents.

Each override does Flask's work for grau's configuration and hands over to
Flask's own where a feature it skips is in use; these tests hold both halves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask, after_this_request, request, url_for
from flask_smorest import Blueprint
from werkzeug.test import EnvironBuilder

from app import HOSTS_MAX, GrauFlask
from grau.ops.routes import blp as ops_blp

ADAPTER_FIELDS = (
    "server_name",
    "script_name",
    "subdomain",
    "url_scheme",
    "path_info",
    "default_method",
    "query_args",
    "websocket",
)


def _environ(**kwargs: Any) -> dict[str, Any]:
    overrides = kwargs.pop("environ_overrides", {})
    environ = EnvironBuilder(**kwargs).get_environ()
    environ.update(overrides)
    return environ


# Hosts and paths as clients send them: ports a scheme implies, capitals, a name
# IDNA encodes, no Host header at all (HTTP/1.0), a header Werkzeug refuses as a host,
# a path and query that are not ASCII (UTF-8 bytes as WSGI's latin-1), a mount point.
ENVIRONS: dict[str, dict[str, Any]] = {
    "plain": {"path": "/health", "base_url": "http://api.example.com/"},
    "port 80 on http": {"path": "/health", "headers": {"Host": "api.example.com:80"}},
    "port 443 on https": {
        "path": "/health",
        "base_url": "https://api.example.com/",
        "headers": {"Host": "api.example.com:443"},
    },
    "another port": {"path": "/health", "headers": {"Host": "Api.Example.COM:8443"}},
    "IDNA": {"path": "/health", "headers": {"Host": "bücher.example"}},
    "no Host header": {
        "path": "/health",
        "environ_overrides": {"HTTP_HOST": None, "SERVER_NAME": "10.0.0.7", "SERVER_PORT": "8000"},
    },
    "invalid host": {"path": "/health", "headers": {"Host": "a b/c"}},
    "not ASCII": {
        "path": "/v1/exercises",
        "environ_overrides": {
            "PATH_INFO": "/v1/exercises/caf\u00c3\u00a9",
            "QUERY_STRING": "q=caf\u00c3\u00a9",
        },
    },
    "mounted": {"path": "/health", "environ_overrides": {"SCRIPT_NAME": "/grau"}},
    "query": {"path": "/v1/exercises", "query_string": "page=2&q=row"},
    "POST": {"path": "/v1/body-stats", "method": "POST"},
}


def _cleaned(environ: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in environ.items() if value is not None}


@pytest.mark.parametrize("case", ENVIRONS)
def test_the_url_adapter_is_flasks_for_every_host_and_path(app: Flask, case: str) -> None:
    """Bound twice (the first works the host out, the second reuses it), the adapter and
    the request's host are what Flask's own `create_url_adapter` makes."""
    environ = _cleaned(_environ(**ENVIRONS[case]))
    expected_request = app.request_class(dict(environ))
    expected = Flask.create_url_adapter(app, expected_request)
    assert expected is not None
    for _ in range(2):
        asked = app.request_class(dict(environ))
        adapter = app.create_url_adapter(asked)
        assert adapter is not None
        assert asked.host == expected_request.host
        for name in ADAPTER_FIELDS:
            assert getattr(adapter, name) == getattr(expected, name), name


def test_urls_built_for_a_request_name_its_host(app: Flask) -> None:
    """Every link a request builds comes from its adapter: with a host seen before, it
    still names the host asked for."""
    for host in ("api.example.com", "api.example.com", "other.example:8080", "api.example.com"):
        with app.test_request_context("/", headers={"Host": host}):
            assert url_for("home", _external=True) == f"http://{host}/"


def test_the_hosts_remembered_are_bounded(make_app) -> None:
    """The Host header is the client's to choose: the map of hosts never outgrows
    HOSTS_MAX, however many a client sends."""
    grau = make_app()
    client = grau.test_client()
    for index in range(HOSTS_MAX * 3):
        assert client.get("/health", headers={"Host": f"h{index}.example"}).status_code == 200
        assert len(grau._hosts) <= HOSTS_MAX


@pytest.mark.parametrize(
    "config",
    [{"TRUSTED_HOSTS": ["api.example.com"]}, {"SERVER_NAME": "api.example.com"}],
)
def test_a_host_setting_gets_flasks_own_binding(make_app, config) -> None:
    """With trusted hosts or a server name, Flask binds (and refuses what it refuses)."""
    grau = make_app(config)
    client = grau.test_client()
    assert client.get("/health", headers={"Host": "api.example.com"}).status_code == 200
    refused = client.get("/health", headers={"Host": "evil.example"})
    if "TRUSTED_HOSTS" in config:
        assert refused.status_code == 400
    assert not grau._hosts


def _with_hooks(
    make_app: Callable[..., Flask],
    on_blueprint: Callable[[Blueprint], None] = lambda probe: None,
    on_app: Callable[[Flask], None] = lambda grau: None,
) -> Any:
    """A client of an app with a `probe` blueprint (GET /probe answers the hooks it saw),
    hooks registered on the blueprint before the app is built and on the app after."""
    probe = Blueprint("probe", __name__, url_prefix="/probe")

    @probe.route("")
    def answer() -> dict[str, Any]:
        return {"seen": list(request.environ.get("probe.seen", []))}

    on_blueprint(probe)
    grau = make_app(blueprints=[ops_blp, probe])
    on_app(grau)
    return grau.test_client()


def _note(label: str) -> None:
    request.environ.setdefault("probe.seen", []).append(label)


def test_blueprint_hooks_run_as_flask_runs_them(make_app) -> None:
    """A hook of a blueprint's (which grau itself does not register) runs where Flask
    runs it: GrauFlask hands such an app to Flask's own hook handling."""
    torn_down: list[str] = []

    def register(probe: Blueprint) -> None:
        probe.before_request(lambda: _note("blueprint before"))

        @probe.after_request
        def after(response: Any) -> Any:
            response.headers["X-Probe-After"] = "blueprint"
            return response

        probe.teardown_request(lambda exc: torn_down.append("blueprint"))

    client = _with_hooks(make_app, on_blueprint=register)
    response = client.get("/probe")
    assert response.status_code == 200
    assert response.get_json() == {"seen": ["blueprint before"]}
    assert response.headers["X-Probe-After"] == "blueprint"
    assert torn_down == ["blueprint"]


def test_url_value_preprocessors_run(make_app) -> None:
    def register(grau: Flask) -> None:
        grau.url_value_preprocessor(lambda endpoint, values: _note(f"values {endpoint}"))

    client = _with_hooks(make_app, on_app=register)
    assert client.get("/probe").get_json() == {"seen": ["values probe.answer"]}


def test_app_hooks_run_in_order_and_may_answer(make_app) -> None:
    """The app's own before-request hooks run in order (grau's refusal of non-JSON
    bodies first); one that answers ends the request; `after_this_request` runs."""

    def register(grau: Flask) -> None:
        grau.before_request(lambda: _note("app before"))

        @grau.before_request
        def refuse() -> Any:
            if request.args.get("refuse"):
                return {"refused": True}, 418
            return None

        @grau.before_request
        def later() -> None:
            _note("app later")

            @after_this_request
            def tag(response: Any) -> Any:
                response.headers["X-After-This"] = "yes"
                return response

    client = _with_hooks(make_app, on_app=register)
    answered = client.get("/probe")
    assert answered.get_json() == {"seen": ["app before", "app later"]}
    assert answered.headers["X-After-This"] == "yes"
    refused = client.get("/probe?refuse=1")
    assert refused.status_code == 418
    assert refused.get_json() == {"refused": True}


def test_teardown_signal_is_sent_with_the_error(app: Flask) -> None:
    """`request_tearing_down` (which Flask extensions listen to) is sent for every request
    with the error it ended with: the one given, else the one being handled."""
    from flask.signals import request_tearing_down

    seen: list[Any] = []

    def listener(sender: Any, exc: BaseException | None = None, **extra: Any) -> None:
        seen.append(exc)

    given = LookupError("given")
    with request_tearing_down.connected_to(listener, app), app.test_request_context("/"):
        app.do_teardown_request(given)
        app.do_teardown_request(None)
        try:
            raise KeyError("handled")
        except KeyError as handled:
            app.do_teardown_request()
            assert seen == [given, None, handled]
    assert app.test_client().get("/health").status_code == 200


def test_every_signal_is_sent_to_its_receivers(make_app) -> None:
    """Flask's request and app-context signals reach whatever listens, once a request
    and with what Flask sends (GrauFlask leaves a send out only where nothing does)."""
    from flask import signals

    names = [  # in the order Flask sends them
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    grau = make_app()
    assert grau.test_client().get("/health").status_code == 200  # (connected after a request)
    seen: list[tuple[str, Any, dict[str, Any]]] = []
    listeners = {
        name: (lambda sender, _name=name, **extra: seen.append((_name, sender, extra)))
        for name in names
    }
    for name in names:
        getattr(signals, name).connect(listeners[name], grau)
    try:
        answer = grau.test_client().get("/health")
    finally:
        for name in names:
            getattr(signals, name).disconnect(listeners[name], grau)
    assert answer.status_code == 200
    assert [name for name, _, _ in seen] == names
    assert all(sender is grau for _, sender, _ in seen)
    extras = {name: extra for name, _, extra in seen}
    assert extras["request_finished"]["response"].status_code == 200
    assert extras["request_tearing_down"]["exc"] is None
    assert extras["appcontext_tearing_down"]["exc"] is None
    seen.clear()
    assert grau.test_client().get("/health").status_code == 200
    assert seen == []  # (disconnected: nothing is sent, and nothing fails)


def test_app_context_teardown_signal_is_sent_with_the_error(app: Flask) -> None:
    from flask.signals import appcontext_tearing_down

    seen: list[Any] = []

    def listener(sender: Any, exc: BaseException | None = None, **extra: Any) -> None:
        seen.append(exc)

    given = LookupError("given")
    with appcontext_tearing_down.connected_to(listener, app), app.app_context():
        app.do_teardown_appcontext(given)
        try:
            raise KeyError("handled")
        except KeyError as handled:
            app.do_teardown_appcontext()
            assert seen == [given, handled]


def test_grau_flask_is_the_app_class(app: Flask) -> None:
    assert isinstance(app, GrauFlask)


def test_every_view_class_is_graus_one_instance_method_view(app: Flask) -> None:
    """grau's MethodView makes one instance per view: no view may keep per-request state
    on `self` (none defines `__init__`), and every resource's view is one of them."""
    from grau.http.extensions import MethodView

    classes = {
        view.view_class for view in app.view_functions.values() if hasattr(view, "view_class")
    }
    assert classes, "no MethodViews found"
    for view_class in classes:
        assert issubclass(view_class, MethodView), view_class
        assert "__init__" not in vars(view_class), view_class


class _Listing(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    tags = ma.fields.List(ma.fields.String(), load_default=list)


def test_a_remembered_query_is_given_to_each_request_as_its_own_copy(app: Flask) -> None:
    """Query strings are parsed once per schema: each request gets the same arguments as a
    fresh parse, in a copy (lists too) it may change without changing the next one's."""
    from grau.http.extensions import JSONBodyParser

    parser = JSONBodyParser()
    schema = _Listing()
    with app.test_request_context("/?page=2&tags=a&tags=b"):
        first = parser.parse(schema, location="query")
        first["tags"].append("changed")
        first["page"] = 99
        second = parser.parse(schema, location="query")
    assert second == {"page": 2, "tags": ["a", "b"]}
    assert len(parser._queries) == 1


def test_a_refused_query_is_refused_every_time_and_not_remembered(app: Flask) -> None:
    from werkzeug.exceptions import UnprocessableEntity

    from grau.http.extensions import JSONBodyParser

    parser = JSONBodyParser()
    for _ in range(2):
        with app.test_request_context("/?page=0"), pytest.raises(UnprocessableEntity):
            parser.parse(_Listing(), location="query")
    assert not parser._queries


def test_the_remembered_queries_are_bounded(app: Flask, monkeypatch) -> None:
    from grau.http.extensions import JSONBodyParser

    parser = JSONBodyParser()
    monkeypatch.setattr(JSONBodyParser, "QUERY_CACHE_MAX", 5)
    schema = _Listing()
    for page in range(1, 13):
        with app.test_request_context(f"/?page={page}"):
            assert parser.parse(schema, location="query")["page"] == page
        assert len(parser._queries) <= 5


def test_a_method_views_function_is_flasks_but_for_the_proxy(make_app) -> None:
    """grau's MethodView's view function carries what Flask's does (its class, methods,
    name, doc) and answers as Flask's; a class with `decorators` or an async
    `dispatch_request` keeps Flask's own, decorators applied."""
    from grau.http.extensions import MethodView

    probe = Blueprint("probe", __name__, url_prefix="/probe")

    class Plain(MethodView):
        """Plain's doc."""

        def get(self, name: str) -> dict[str, Any]:
            return {"name": name, "method": request.method}

        def post(self, name: str) -> tuple[dict[str, Any], int]:
            return {"posted": name}, 201

    def tagged(view: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            answer = view(**kwargs)
            answer["decorated"] = True
            return answer

        return wrapper

    class Decorated(MethodView):
        decorators = [tagged]

        def get(self) -> dict[str, Any]:
            return {}

    plain = Plain.as_view("plain")
    assert (plain.view_class, plain.__name__, plain.__doc__) == (Plain, "plain", Plain.__doc__)
    assert plain.methods == {"GET", "POST"} and plain.provide_automatic_options is None
    decorated = Decorated.as_view("decorated")
    assert decorated.view_class is Decorated and not hasattr(decorated, "__wrapped__")
    probe.add_url_rule("/plain/<name>", view_func=plain)
    probe.add_url_rule("/decorated", view_func=decorated)
    client = make_app(blueprints=[ops_blp, probe]).test_client()
    assert client.get("/probe/plain/a").get_json() == {"name": "a", "method": "GET"}
    assert client.head("/probe/plain/a").status_code == 200
    assert client.post("/probe/plain/b").status_code == 201
    refused = client.delete("/probe/plain/c")
    assert refused.status_code == 405 and set(refused.headers["Allow"].split(", ")) == {
        "GET",
        "HEAD",
        "POST",
        "OPTIONS",
    }
    assert client.get("/probe/decorated").get_json() == {"decorated": True}
    assert client.get("/probe/nowhere").status_code == 404
    options = client.options("/probe/plain/a")  # Flask's automatic OPTIONS answer
    assert options.status_code == 200 and "POST" in options.headers["Allow"]


def test_an_app_context_popped_with_flasks_placeholder_tears_down_with_no_error(
    app: Flask,
) -> None:
    """A request context pushed again while another app's context is current pushes an
    app context of its own, and Flask pops that with its placeholder for "no error
    given": the teardown gets None (the error being handled), not the placeholder."""
    from flask.signals import appcontext_tearing_down

    seen: list[Any] = []

    def listener(sender: Any, exc: Any = None, **extra: Any) -> None:
        seen.append(exc)

    context = app.test_request_context("/")
    with appcontext_tearing_down.connected_to(listener, app):
        context.push()
        with Flask("other").app_context():
            context.push()
            context.pop()  # (Flask's RequestContext.pop hands its app context the placeholder)
        context.pop()
    assert seen == [None, None]


def test_a_view_made_per_request_is_flasks_own(make_app) -> None:
    """A grau MethodView that asks for an instance per request gets Flask's view function
    (one shared instance would be used by every thread at once)."""
    from grau.http.extensions import MethodView

    made: list[Any] = []

    class PerRequest(MethodView):
        init_every_request = True

        def get(self) -> dict[str, Any]:
            made.append(self)
            return {}

    probe = Blueprint("probe", __name__, url_prefix="/probe")
    probe.add_url_rule("/per-request", view_func=PerRequest.as_view("per_request"))
    client = make_app(blueprints=[ops_blp, probe]).test_client()
    assert client.get("/probe/per-request").status_code == 200
    assert client.get("/probe/per-request").status_code == 200
    assert len(made) == 2 and made[0] is not made[1]
