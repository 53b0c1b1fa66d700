"""What grau adds to the spec flask-smorest builds: operationIds, headers, errors.

flask-smorest documents schemas, arguments and responses from the decorators.
The decorators here mark the rest (error statuses, conditional requests,
idempotency) and `finalize` turns the marks into OpenAPI once every blueprint
is registered, then names every operation by one rule (see `operation_id`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import APISpec

F = TypeVar("F", bound=Callable[..., Any])

METHOD_VERBS = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}
MARK = "x-grau"


def mark(func: Any, **marks: Any) -> None:
    doc = func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    manual.setdefault(MARK, {}).update(marks)


def add_responses(func: Any, codes: tuple[int, ...]) -> None:
    doc = func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for code in codes:
        name = HTTPStatus(code).name
        if name not in responses.setdefault(code, []):
            responses[code].append(name)


def _decorate(apply: Callable[[Any], None]) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        apply(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorator


def errors(*codes: int) -> Callable[[F], F]:
    """Document the error statuses an operation can return (problem+json)."""
    return _decorate(lambda f: add_responses(f, codes))


def mark_authenticated(func: Any) -> None:
    """Document an operation as needing a bearer token (and so able to 401).

    Called by the decorator that enforces it, so the spec cannot drift from
    the code: an operation without it is documented as public.
    """
    mark(func, auth=True)


def conditional_read(func: F) -> F:
    """A GET that returns an ETag and honours If-None-Match (304)."""
    return _decorate(lambda f: mark(f, etag=True))(func)


def conditional_write(func: F) -> F:
    """A write that honours an optional If-Match (412 when stale)."""

    def apply(f: Any) -> None:
        mark(f, if_match=True)
        add_responses(f, (412,))

    return _decorate(apply)(func)


def operation_id(path: str, method: str) -> str:
    """`listBodyStats`, `createBodyStat`, `getBodyStat`, `updateBodyStat`, ...

    The last literal path segment names the resource; a parent item segment
    (`/workouts/{workout_id}/sets`) prefixes it (`listWorkoutSets`).
    """
    segments = [s for s in path.strip("/").split("/") if s and not re.fullmatch(r"v\d+", s)]
    is_item = segments[-1].startswith("{")
    literals = [s for s in segments if not s.startswith("{")]
    resource = _pascal(literals[-1])
    parents = [
        _singular(_pascal(literals[i]))
        for i, seg in enumerate(literals[:-1])
        if f"{{{seg}" in path or _followed_by_param(segments, seg)
    ]
    prefix = "".join(parents)
    if is_item:
        return f"{METHOD_VERBS[method]}{prefix}{_singular(resource)}"
    if method == "get":
        return f"list{prefix}{resource}"
    if method == "post":
        return f"create{prefix}{_singular(resource)}"
    return f"{method}{prefix}{resource}"


def _followed_by_param(segments: list[str], literal: str) -> bool:
    index = segments.index(literal)
    return index + 1 < len(segments) and segments[index + 1].startswith("{")


def _pascal(segment: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", segment))


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


HEADERS = {
    "ETag": {
        "description": "Version of the returned representation; send it back in "
        "If-None-Match (reads) or If-Match (writes).",
        "schema": {"type": "string", "example": '"3f2a9c0d1b7e4f6a8c21"'},
    },
    "Location": {
        "description": "URL of the created resource.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0, "example": 30},
    },
    "WWW-Authenticate": {
        "description": "The bearer challenge, with the reason the token was refused.",
        "schema": {"type": "string", "example": 'Bearer realm="grau", error="invalid_token"'},
    },
}

PARAMETERS = {
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "An ETag from an earlier read: 304 Not Modified if it still matches.",
        "schema": {"type": "string"},
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag you last read. The write is refused with 412 if the "
        "resource changed since; without it the write is unconditional.",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A unique key (e.g. a UUID) per intended creation: a retry with "
        "the same key and body returns the first response and creates nothing new.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
}


def finalize(spec: APISpec) -> None:
    """Apply the marks, document shared headers and name every operation."""
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, str(parameter["in"]), parameter)
    for path, operations in spec._paths.items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            _apply_marks(spec, op, method)
            op.setdefault("operationId", operation_id(path, method))


def _apply_marks(spec: APISpec, op: dict[str, Any], method: str) -> None:
    def _ref(kind: str, name: str) -> dict[str, str]:
        return spec.components.get_ref(kind, name)

    marks = op.pop(MARK, {})
    responses = op.setdefault("responses", {})
    params = op.setdefault("parameters", [])
    if marks.get("auth"):
        responses.setdefault("401", _ref("response", "UNAUTHORIZED"))
    else:
        op["security"] = []
    if marks.get("etag"):
        params.append(_ref("parameter", "IfNoneMatch"))
        responses.setdefault("304", {"description": "Not Modified: your copy is current."})
        responses["304"].setdefault("headers", {})["ETag"] = _ref("header", "ETag")
    if marks.get("if_match"):
        params.append(_ref("parameter", "IfMatch"))
    if marks.get("idempotent"):
        params.append(_ref("parameter", "IdempotencyKey"))
    for status, response in responses.items():
        if not isinstance(response, dict) or "$ref" in response:
            continue
        headers = response.setdefault("headers", {}) if status.startswith("2") else None
        if headers is None:
            continue
        if marks.get("etag") or (marks.get("if_match") and method != "delete"):
            headers.setdefault("ETag", _ref("header", "ETag"))
        if status == "201":
            headers.setdefault("Location", _ref("header", "Location"))
        if not headers:
            del response["headers"]
    if not params:
        del op["parameters"]
    op["responses"] = dict(sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])))
