"""grau's Blueprint decorators: flask-smorest's documentation and answers, without its
per-request `current_app` reads.

Each decorator must document a view exactly as flask-smorest's own does, answer
exactly as it does, and (the reason it exists) call a view that answers with a
Response without reading Flask's proxies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_smorest
import marshmallow as ma
import pytest
from flask import Flask, Response
from flask_smorest import arguments, response

from grau.http.extensions import Blueprint
from grau.ops.routes import blp as ops_blp


class Query(ma.Schema):
    name = ma.fields.String(load_default="world")
    times = ma.fields.Integer(load_default=1)


class Shown(ma.Schema):
    greeting = ma.fields.String()
    secret = ma.fields.String(load_only=True)


def _decorated(blueprint: flask_smorest.Blueprint) -> dict[str, Callable[..., Any]]:
    """The same views under `blueprint`'s decorators, with every kind of answer."""

    @blueprint.arguments(Query, location="query", description="who", required=False)
    @blueprint.response(200, Shown, description="a greeting", headers={"X-A": {"schema": {}}})
    @blueprint.alt_response(404, description="nobody", success=False)
    @blueprint.doc(operationId="greet", summary="Greet")
    def dumped(args: dict[str, Any]) -> Any:
        return {"greeting": f"hello {args['name']}", "secret": "never shown"}

    @blueprint.arguments(Query, location="query")
    @blueprint.response(201, Shown)
    def with_status(args: dict[str, Any]) -> Any:
        return {"greeting": args["name"]}, 202, {"X-Extra": "1"}

    @blueprint.response(200, Shown)
    def answered() -> Any:
        return Response(b'{"as":"is"}', status=203, mimetype="application/json")

    @blueprint.response(200)
    def answered_with_status() -> Any:
        return Response(b"{}", mimetype="application/json"), 206

    return {
        "dumped": dumped,
        "with_status": with_status,
        "answered": answered,
        "answered_with_status": answered_with_status,
    }


def _client(make_app: Callable[..., Flask], blueprint: flask_smorest.Blueprint) -> Any:
    for name, view in _decorated(blueprint).items():
        blueprint.add_url_rule(f"/{name}", endpoint=name, view_func=view)
    return make_app(blueprints=[ops_blp, blueprint]).test_client()


def test_views_are_documented_as_flask_smorest_documents_them() -> None:
    ours = _decorated(Blueprint("ours", __name__))
    theirs = _decorated(flask_smorest.Blueprint("theirs", __name__))
    for name, view in ours.items():
        assert _by_class(view._apidoc) == _by_class(theirs[name]._apidoc), name


def _by_class(doc: Any) -> Any:
    """A view's documentation with each schema as its class (grau's Blueprint gives
    webargs an instance of an argument schema's class, built once)."""
    if isinstance(doc, dict):
        return {key: _by_class(value) for key, value in doc.items()}
    if isinstance(doc, list):
        return [_by_class(value) for value in doc]
    return type(doc) if isinstance(doc, ma.Schema) else doc


@pytest.mark.parametrize(
    "path",
    ["/dumped", "/dumped?name=you", "/with_status?name=me", "/answered", "/answered_with_status"],
)
def test_views_answer_as_flask_smorests(make_app: Callable[..., Flask], path: str) -> None:
    ours = _client(make_app, Blueprint("probe", __name__, url_prefix="/probe"))
    theirs = _client(make_app, flask_smorest.Blueprint("probe", __name__, url_prefix="/probe"))
    mine, expected = ours.get(f"/probe{path}"), theirs.get(f"/probe{path}")
    assert (mine.status_code, mine.get_data()) == (expected.status_code, expected.get_data())
    assert mine.headers.get("X-Extra") == expected.headers.get("X-Extra")


def test_a_refused_argument_is_refused_as_before(make_app: Callable[..., Flask]) -> None:
    client = _client(make_app, Blueprint("probe", __name__, url_prefix="/probe"))
    refused = client.get("/probe/dumped", query_string={"times": "many"})
    assert refused.status_code == 422


class _NoProxy:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"current_app.{name} was read")


def test_a_view_answering_a_response_reads_no_proxy(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of it: between the app and a view that answers with a Response, no
    decorator reads `current_app` (flask-smorest's wrappers do, per call)."""
    client = _client(make_app, Blueprint("probe", __name__, url_prefix="/probe"))
    for module in (arguments, response, flask_smorest.blueprint):
        monkeypatch.setattr(module, "current_app", _NoProxy())
    assert client.get("/probe/answered").status_code == 203
    # A result flask-smorest dumps goes through its own wrapper, which reads it (a 500 here).
    assert client.get("/probe/dumped").status_code == 500


def test_an_async_view_keeps_flask_smorests_decorators() -> None:
    blueprint = Blueprint("probe", __name__)

    async def view() -> Any:
        return {}

    for decorate, module in [
        (blueprint.response(200, Shown), response),
        (blueprint.doc(summary="s"), flask_smorest.blueprint),
        (blueprint.alt_response(404), response),
    ]:
        assert decorate(view).__code__.co_filename == module.__file__
