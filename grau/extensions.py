"""The flask-smorest Api and Blueprint grau uses, and the accessor for the app's cache."""

from __future__ import annotations

import http
import json
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import current_app
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser

from grau.cache import Cache
from grau.errors import PROBLEM_JSON
from grau.schemas import Problem


class JSONBodyParser(FlaskParser):
    """webargs reads a missing JSON body as `{}`; every grau body is required, so it is a 422.

    JSON nested deeper than the parser's recursion limit is invalid JSON (400), not a 500.
    """

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            # (An empty `doc` would read as "no body" to webargs.)
            raise json.JSONDecodeError("nested too deeply", "<body>", 0) from None

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        data = super().load_json(req, schema)
        if data is missing:
            # Keyed like marshmallow's own whole-body errors ("Invalid input type.").
            raise ma.ValidationError({"_schema": ["Send the request body as a JSON object."]})
        return data


class Blueprint(flask_smorest.Blueprint):
    """The Blueprint every grau resource uses: flask-smorest's, with grau's body parser."""

    ARGUMENTS_PARSER = JSONBodyParser()

    def arguments(self, schema: type[ma.Schema] | ma.Schema, *args: Any, **kwargs: Any) -> Any:
        # webargs builds a schema from a class on every request; an instance is built once.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


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


def cache() -> Cache:
    cache: Cache = current_app.extensions["grau.cache"]
    return cache
