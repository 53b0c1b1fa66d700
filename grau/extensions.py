"""The flask-smorest Api grau uses, and the accessor for the app's cache."""

from __future__ import annotations

import http
from typing import Any

from flask import current_app
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


def cache() -> Cache:
    cache: Cache = current_app.extensions["grau.cache"]
    return cache
