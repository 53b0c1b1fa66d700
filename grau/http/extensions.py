"""The flask-smorest Api and Blueprint grau uses."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import flask
import flask.views
import flask_smorest
import marshmallow as ma
from flask_smorest import Api
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser, abort
from werkzeug.routing import UUIDConverter
from werkzeug.wrappers import Response as WerkzeugResponse

from grau.context import current_flask, current_request
from grau.http.openapi import UUID_PARAMETER, ContractPlugin, bounds, register_components
from grau.http.schemas import Problem


class MethodView(flask.views.MethodView):
    """Flask's MethodView, for grau's views: one instance per view (they keep no state
    between requests), and the request's method read without Flask's proxies (two
    context lookups a request)."""

    init_every_request = False

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> Any:
        """Flask's view function, calling the instance's `dispatch_request` itself: Flask's
        asks `current_app.ensure_sync` per request, a proxy read (on CPython 3.11 the
        proxy's own lookup fails first and formats an AttributeError's message), for a
        method that is never async."""
        flasks = super().as_view(name, *class_args, **class_kwargs)
        if (
            cls.init_every_request
            or cls.decorators
            or inspect.iscoroutinefunction(cls.dispatch_request)
        ):
            return flasks
        dispatch = cls(*class_args, **class_kwargs).dispatch_request

        def view(**kwargs: Any) -> Any:
            return dispatch(**kwargs)

        return functools.update_wrapper(view, flasks)  # (its name, view_class, methods...)

    def dispatch_request(self, **kwargs: Any) -> Any:
        method = current_request().method
        handler = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        assert handler is not None, f"Unimplemented method {method!r}"
        return current_flask().ensure_sync(handler)(**kwargs)


class JSONBodyParser(FlaskParser):
    """webargs reads a missing JSON body as `{}`; every grau body is required, so it is a 422.

    JSON nested deeper than the parser's recursion limit is invalid JSON (400), not a 500.

    A query string's arguments are parsed once per schema and remembered: the
    same list or item is read over and over with the same query, and parsing
    it again was the largest cost of a cached read. Only successful parses are
    kept (a refused query is parsed, and refused, every time), and a query
    schema's rules accept tomorrow whatever they accept today, so a
    remembered result never admits what a fresh parse would refuse.
    """

    QUERY_CACHE_MAX = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (schema, query string) -> the parsed arguments, and the names of those that are lists
        self._queries: dict[tuple[Any, bytes], tuple[dict[str, Any], tuple[str, ...]]] = {}

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kw: Any) -> Any:
        if location != "query" or kw.get("validate") is not None:
            return super().parse(argmap, req, location=location, **kw)
        key = (argmap, (req or current_request()).query_string)
        known = self._queries.get(key)
        if known is None:
            parsed = super().parse(argmap, req, location=location, **kw)
            lists = tuple(name for name, value in parsed.items() if isinstance(value, list))
            if len(self._queries) >= self.QUERY_CACHE_MAX:
                self._queries.clear()
            known = self._queries[key] = (parsed, lists)
        # A copy per request, its lists copied too: a view may change what it was given.
        parsed, lists = known
        given = dict(parsed)
        for name in lists:
            given[name] = list(given[name])
        return given

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        try:
            data = super().load_json(req, schema)
        except RecursionError as exc:
            # As webargs' Flask parser answers any other body that is not JSON.
            abort(400, exc=exc, messages={"json": ["Invalid JSON body."]})
        if data is missing:
            # Keyed like marshmallow's own whole-body errors ("Invalid input type.").
            raise ma.ValidationError({"_schema": ["Send the request body as a JSON object."]})
        return data


# The keywords of flask-smorest's `arguments` that only document (its keyword-only
# parameters but `location`); it gives the rest to webargs' `use_args`.
ARGUMENT_DOCS = frozenset(
    name
    for name, parameter in inspect.signature(flask_smorest.Blueprint.arguments).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "location"
)


def _returned(result: Any) -> Any:
    return result


class Blueprint(flask_smorest.Blueprint):
    """The Blueprint every grau resource uses: flask-smorest's, with grau's body parser,
    and its decorators' documentation without their per-request proxy reads.

    Each of flask-smorest's view decorators wraps the view in a function that asks
    `current_app.ensure_sync(view)` on every call: a read through Flask's proxy,
    which on CPython 3.11 first fails the proxy's own lookup and formats an
    AttributeError's message, for a view that is never async. Here each decorator
    documents the view exactly as flask-smorest's does and calls it plainly; a
    result flask-smorest dumps (not a Response) still goes through its wrapper,
    proxy read and all. An `async def` view gets flask-smorest's decorator as is.

    flask-smorest keeps a view's documentation in the function's `_apidoc`, its
    private attribute, and has no public way to document without wrapping: this
    copies it from flask-smorest's own wrapper to grau's (development/upstream.md
    has the note for flask-smorest; test_smorest_decorators compares the two).
    """

    ARGUMENTS_PARSER = JSONBodyParser()

    def arguments(
        self, schema: type[ma.Schema] | ma.Schema, *, location: str = "json", **kwargs: Any
    ) -> Any:
        # webargs builds a schema from a class on every request; an instance is built once.
        if isinstance(schema, type):
            schema = schema()
        documented = super().arguments(schema, location=location, **kwargs)
        given = {name: value for name, value in kwargs.items() if name not in ARGUMENT_DOCS}
        parse = self.ARGUMENTS_PARSER.use_args(schema, location=location, **given)

        def decorator(func: Any) -> Any:
            smorests = documented(func)
            if inspect.iscoroutinefunction(func):
                return smorests
            parsed: Any = parse(func)  # webargs' wrapper, around the view itself
            parsed._apidoc = smorests._apidoc
            return parsed

        return decorator

    def response(self, status_code: Any, schema: Any = None, **kwargs: Any) -> Any:
        documented = super().response(status_code, schema, **kwargs)
        # What flask-smorest does with what a view returned (it dumps a result that is not
        # a Response with the schema): its wrapper, around a view that returns it.
        return _called_plainly(documented, finish=documented(_returned))

    def alt_response(self, *args: Any, **kwargs: Any) -> Any:
        return _called_plainly(super().alt_response(*args, **kwargs))

    @staticmethod
    def doc(**kwargs: Any) -> Any:  # (a staticmethod, as flask-smorest's)
        return _called_plainly(flask_smorest.Blueprint.doc(**kwargs))


def _called_plainly(
    documented: Callable[[Any], Any], finish: Callable[[Any], Any] | None = None
) -> Callable[[Any], Any]:
    """A decorator of flask-smorest's, documenting as it does, that calls the view plainly
    (flask-smorest's wrapper calls it through `current_app.ensure_sync`); `finish`
    handles a result that is not a Response (`response`'s), as flask-smorest would."""

    def decorator(func: Any) -> Any:
        smorests = documented(func)
        if inspect.iscoroutinefunction(func):
            return smorests

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = func(*args, **kwargs)
            if finish is None or isinstance(result, WerkzeugResponse):
                return result  # (a Response alone, flask-smorest returns as it is)
            return finish(result)

        call._apidoc = smorests._apidoc  # type: ignore[attr-defined]
        return call

    return decorator


class GrauApi(Api):
    """flask-smorest's Api with problem+json error responses in the spec.

    grau.http.errors handles every error at the app level: `create_app` registers its
    handlers after this Api's, so they replace flask-smorest's own (which drops
    headers such as `Allow`).
    """

    ERROR_SCHEMA = Problem

    def init_app(self, app: flask.Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        plugins = [*(spec_kwargs or {}).get("extra_plugins", ()), ContractPlugin(app)]
        super().init_app(app, spec_kwargs={**(spec_kwargs or {}), "extra_plugins": plugins})
        self.ma_plugin.converter.add_attribute_function(bounds)
        # A path's UUID: Werkzeug's converter matches the 36-character form only.
        self.register_converter(UUIDConverter, lambda _: {**UUID_PARAMETER})
        # flask-smorest names a response for every status, as application/json; grau's
        # errors are problem+json. The same names, registered again, lazily as before.
        register_components(self.spec, self.ERROR_SCHEMA)
        # The schema of flask-smorest's pagination header, which grau does not send (a
        # page carries its pagination in the body): registered with the header, unused.
        self.spec.components.schemas.pop("PaginationMetadata", None)
