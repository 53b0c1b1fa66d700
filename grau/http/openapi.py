"""What grau adds to the spec flask-smorest builds: operationIds, headers, errors.

flask-smorest documents schemas, arguments and responses from the decorators.
The decorators here mark the rest on the view function (error statuses,
conditional requests, idempotency; `marks_of`), and `ContractPlugin`, an
apispec plugin, turns the marks into OpenAPI as flask-smorest documents each
operation, titles its tags (`tag_name`) and names it by one rule
(`operation_id`). `register_components` gives every problem response its
example and headers; `tags_of` the document's tag list; `finalize` adds the
schemas' cross-field rules once every blueprint is registered, names their enums,
and splits a body with `CASES` into a `oneOf` of named cases; `bounds` states
the length of every id, date and timestamp and the size of every integer.
Only public APIs of flask-smorest and apispec are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields

from grau.http.deprecation import SPEC_HEADERS as DEPRECATION_HEADERS
from grau.http.errors import PROBLEM_JSON, VALIDATION_DETAIL
from grau.http.fields import TIMESTAMP_MAX_LENGTH
from grau.http.schemas import Case, OneOf

F = TypeVar("F", bound=Callable[..., Any])

METHOD_VERBS = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}
MARKS = "grau_contract"  # the attribute the decorators here set on a view function
INT32 = 2**31 - 1
ENTITY_TAGS_MAX = 1024  # an If-Match or If-None-Match list of ETags, at the most


def marks_of(func: Any) -> dict[str, Any]:
    """What the decorators here marked on a view function (its wrappers carry the marks
    of what they wrap: `functools.wraps` copies them)."""
    return dict(getattr(func, MARKS, {}))


def mark(func: Any, **marks: Any) -> None:
    # A new dict each time: a wrapper starts with the very dict of what it wraps.
    setattr(func, MARKS, {**marks_of(func), **marks})


# A create's 200: its body named a reading the user has by `source` and `external_id`.
UPDATED_AT_SOURCE = (
    "The body's `source` and `external_id` name a reading the user already has: that "
    "reading, updated with the fields sent (unchanged if they match), instead of a new one."
)


def add_responses(func: Any, codes: tuple[int, ...]) -> None:
    """Document error statuses (problem+json) an operation can return."""
    known = marks_of(func).get("errors", ())
    mark(func, errors=(*known, *(code for code in codes if code not in known)))


def _decorate(apply: Callable[[Any], None]) -> Callable[[F], F]:
    """A decorator that only documents: it marks the function (on a copy of its doc,
    see `mark`) and returns it, adding no call to the request path."""

    def decorator(func: F) -> F:
        apply(func)
        return func

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
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


HEADERS = {
    "ETag": {
        "description": "Version of the returned representation; send it back in "
        "If-None-Match (reads) or If-Match (writes).",
        # RFC 9110 entity-tag: quoted, optionally weak (W/).
        "schema": {
            "type": "string",
            "maxLength": 64,
            "pattern": '^(W/)?"[^"]*"$',
            "example": '"3f2a9c0d1b7e4f6a8c21"',
        },
    },
    "Idempotent-Replayed": {
        "description": "`true` on the stored response to an earlier request with the same "
        "Idempotency-Key: nothing new was created.",
        "schema": {"type": "string", "enum": ["true"], "example": "true"},
    },
    "Location": {
        "description": "URL of the created resource.",
        "schema": {"type": "string", "format": "uri-reference", "maxLength": 2048},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 86_400,  # the longest window grau limits by is a day
            "example": 30,
        },
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the current window of the limit closest to "
        "being reached.",
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": INT32,
            "example": 600,
        },
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that window.",
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": INT32,
            "example": 0,
        },
    },
    "X-RateLimit-Reset": {
        "description": "When that window resets (Unix time, seconds).",
        "schema": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "maximum": 253_402_300_799,  # 9999-12-31T23:59:59Z
            "example": 1795680000,
        },
    },
    "RateLimit-Policy": {
        "description": "The limit this answer is about (IETF RateLimit headers draft): its "
        "name, quota `q` and window `w` in seconds. `user` on every answer the per-user limit "
        'counts, e.g. `"user";q=600;w=60`; on a 429, the limit that refused (`login`, '
        "`register`, `refresh`, `export`, `import` or `user`).",
        "schema": {"type": "string", "maxLength": 64, "pattern": r'^"[a-z]+";q=[0-9]+;w=[0-9]+$'},
        "example": '"user";q=600;w=60',
    },
    "RateLimit": {
        "description": "What is left of that limit (IETF RateLimit headers draft): `r` "
        "requests in the `t` seconds until the window ends. For `user`, as this server "
        "process knows it (other processes' last few requests may not be in it yet).",
        "schema": {"type": "string", "maxLength": 64, "pattern": r'^"[a-z]+";r=[0-9]+;t=[0-9]+$'},
        "example": '"user";r=598;t=41',
    },
    "WWW-Authenticate": {
        "description": "The bearer challenge, with the reason the token was refused.",
        "schema": {
            "type": "string",
            "maxLength": 512,
            "example": 'Bearer realm="grau", error="invalid_token"',
        },
    },
}

# Visible ASCII (RFC 9110 VCHAR): what survives a header intact; grau.http.idempotency enforces it.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E]+$"

PARAMETERS = {
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "An ETag from an earlier read: 304 Not Modified if it still matches.",
        "schema": {"type": "string", "maxLength": ENTITY_TAGS_MAX},
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag you last read. The write is refused with 412 if the "
        "resource changed since; without it the write is unconditional.",
        "schema": {"type": "string", "maxLength": ENTITY_TAGS_MAX},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A key you make up per intended creation (a new UUID is best), 1 to "
        "255 visible ASCII characters: a retry with the same key and body within 24 hours "
        "returns the first response and creates nothing new. The same key with another body "
        "is a 422. A retry while the first request is still running waits for it and returns "
        "its response (in the rare case that cannot be settled, a 409 with Retry-After). Keys "
        "are per user; a signed-out request's key is scoped by its body. Leave it out and the "
        "request is simply not deduplicated.",
        # No example: documentation tools would fill one in for every visitor to share.
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": IDEMPOTENCY_KEY_PATTERN,
        },
    },
}


# Headers grau always sends with these error statuses (grau.http.errors, grau.http.ratelimit).
ERROR_HEADERS = {
    401: ("WWW-Authenticate",),
    412: ("ETag",),
    429: (
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "RateLimit-Policy",  # the limit that refused: the per-user one, or login, export...
        "RateLimit",
    ),
    503: ("Retry-After",),
}

# A typical `detail` per status, so each error response shows its own example
# instead of the Problem schema's generic 404.
PROBLEM_DETAILS = {
    401: "The access token has expired; refresh it.",
    404: "No resource exists at this URL, or it is not yours.",
    409: "This conflicts with data that already exists.",
    410: "This cursor can no longer be read on from; sync again without a cursor.",
    412: "The resource changed since you read it; fetch it again (see ETag).",
    422: VALIDATION_DETAIL,
    429: "Too many requests; retry after the number of seconds in Retry-After.",
    500: "An unexpected error occurred; it has been logged.",
    503: "The service is temporarily unavailable; retry after Retry-After seconds.",
}


def tag_name(blueprint: str) -> str:
    """`body-stats` -> `Body stats`: a section in Swagger UI and ReDoc, a folder in Postman.

    Only the display name: operationIds and endpoint names do not depend on it.
    """
    return " ".join(re.split(r"[-_]", blueprint)).capitalize()


def tags_of(blueprints: Iterable[Any]) -> list[dict[str, Any]]:
    """The document's tags, one per blueprint, in order, by display name (`tag_name`):
    given to the spec as its top-level `tags` (flask-smorest's are the raw names)."""
    return [{"name": tag_name(blp.name), "description": blp.description} for blp in blueprints]


# Bodies that are files, not JSON: named, so generated clients give them a type.
FILES = {
    "ZipArchive": {
        "type": "string",
        "format": "binary",
        "maxLength": 2**31,
        "description": "A ZIP archive.",
    },
    "ExportFile": {
        "type": "string",
        "format": "binary",
        "maxLength": 20 * 1024 * 1024,
        "description": "A file another app (or grau) exported, as it was written (UTF-8).",
    },
    "FileUpload": {
        "type": "object",
        "properties": {
            "file": {
                "type": "string",
                "format": "binary",
                "maxLength": 20 * 1024 * 1024,
                "description": "The file.",
            }
        },
        "required": ["file"],
        "additionalProperties": False,
        "description": "A form with one file.",
    },
}


def register_components(spec: APISpec, problem: Any) -> None:
    """The headers, parameters and file bodies operations refer to, and a problem+json
    response per error status (lazily: only those an operation refers to appear)."""
    for name, schema in FILES.items():
        spec.components.schema(name, schema)
    for name, header in {**HEADERS, **DEPRECATION_HEADERS}.items():
        spec.components.header(name, header)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, str(parameter["in"]), parameter)
    for status in HTTPStatus:
        response: dict[str, Any] = {"description": status.phrase}
        if status >= 400:
            response.update(_problem_response(spec, problem, status))
        spec.components.response(status.name, response, lazy=True)
    default = {"description": "Unexpected error", **_problem_response(spec, problem, 500)}
    spec.components.response("DEFAULT_ERROR", default, lazy=True)


def _problem_response(spec: APISpec, problem: Any, status: int) -> dict[str, Any]:
    media = {"schema": problem, "example": _problem_example(status)}
    response: dict[str, Any] = {"content": {PROBLEM_JSON: media}}
    refs = ERROR_HEADERS.get(status, ())
    headers = {header: spec.components.get_ref("header", header) for header in refs}
    if headers:
        response["headers"] = headers
    return response


class ContractPlugin(BasePlugin):
    """Completes each operation as flask-smorest documents it, through apispec's plugin
    hook: the statuses, parameters and headers its view's marks call for, its tags'
    display names and its operationId."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.spec: APISpec | None = None

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.spec = spec

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        assert self.spec is not None and path is not None and operations is not None
        view = self.app.view_functions[kwargs["rule"].endpoint]
        view_class = getattr(view, "view_class", None)
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            func = getattr(view_class, method) if view_class is not None else view
            _apply_marks(self.spec, op, method, marks_of(func))
            op["tags"] = [tag_name(tag) for tag in op.get("tags", [])]
            op.setdefault("operationId", operation_id(path, method))


# The longest text each format has: a UUID's canonical form, an ISO date.
FORMAT_LENGTHS = {"uuid": 36, "date": 10, "date-time": TIMESTAMP_MAX_LENGTH}
UUID_PARAMETER = {"type": "string", "format": "uuid", "maxLength": FORMAT_LENGTHS["uuid"]}


def bounds(
    converter: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """An apispec attribute function (`add_attribute_function`): the bounds a field's kind
    implies and its validators do not state. A UUID, date or timestamp is at most as long as
    its format allows (so every string has a `maxLength`); an integer is `int32` if its
    range fits, else `int64` (what generators map to a type)."""
    extra: dict[str, Any] = {}
    length = FORMAT_LENGTHS.get(ret.get("format", ""))
    if length is not None and "maxLength" not in ret:
        extra["maxLength"] = length
    if isinstance(field, fields.Integer) and "format" not in ret:
        low, high = ret.get("minimum", -INT32 - 1), ret.get("maximum", INT32 + 1)
        extra["format"] = "int32" if low >= -INT32 - 1 and high <= INT32 else "int64"
    return extra


def finalize(spec: APISpec) -> None:
    """What needs every blueprint registered first: the schemas' cross-field rules, a
    name for every enum and free-form object a schema's property holds, and the cases
    of the bodies that have them."""
    _merge_cross_field_rules(spec)
    _name_inline_types(spec)
    _split_into_cases(spec)


# One name for a set of choices several schemas' properties share, by the names each would
# give it. A shared set missing here fails the spec's build: a person names it, not a rule.
SHARED_ENUMS = {
    "BodyStatSummaryType": "BodyStatType",
    "BodyStatSummaryUnit": "BodyStatUnit",
    "NutritionEntryType": "NutritionType",
    "NutritionTotalType": "NutritionType",
    "NutritionEntryUnit": "NutritionUnit",
    "NutritionTotalUnit": "NutritionUnit",
    "ExercisePrimaryMuscles": "Muscle",
    "ExerciseSecondaryMuscles": "Muscle",
    "ExerciseProgressUnit": "WeightUnit",
    "PlannedExerciseWeightUnit": "WeightUnit",
    "WorkoutSetWeightUnit": "WeightUnit",
}
# Names for choices whose words alone would make no name or the same one, for generators
# that make an enum's members from its choices (`x-enumNames`): else they strip the
# punctuation and number what clashes (`DDMMYYYY1`).
CHOICE_NAMES = {
    "%": "Percent",
    "YYYY-MM-DD": "YearMonthDay",
    "DD.MM.YYYY": "DayMonthYearDotted",
    "DD/MM/YYYY": "DayMonthYear",
    "MM/DD/YYYY": "MonthDayYear",
}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# What a schema's name drops in its enums' names: a create's and an update's `type` are the item's.
_SCHEMA_SUFFIXES = re.compile(r"(Create|Update|Query)$")
# Keywords of a property that stay beside its reference (they describe the use, not the type).
_USE_KEYWORDS = ("description", "example", "default", "readOnly", "writeOnly", "deprecated")


def _name_inline_types(spec: APISpec) -> None:
    """Move each property's enum (of strings) and free-form object into a named component
    schema, referred to where it was. Generators name inline types from their position,
    and number them when two positions clash (`Status1`, `Type4`, `BodyType0`); a named
    schema is one type everywhere. A set of choices used by several properties is one
    schema: `<Schema><Property>` (e.g. `WorkoutSetKind`), or as `SHARED_ENUMS` names it."""
    schemas = spec.components.schemas
    uses: dict[tuple[Any, ...], set[str]] = {}
    for schema_name, schema in list(schemas.items()):
        for prop, value in (schema.get("properties") or {}).items():
            target = value.get("items") if _types(value) >= {"array"} else value
            if target is not None and _enum_of(target):
                uses.setdefault(_enum_of(target), set()).add(_type_name(schema_name, prop))
    names: dict[tuple[Any, ...], str] = {}
    for choices, candidates in uses.items():
        chosen = {SHARED_ENUMS.get(candidate, candidate) for candidate in candidates}
        if len(chosen) > 1:
            raise ValueError(f"name the choices {choices} in SHARED_ENUMS ({sorted(chosen)})")
        names[choices] = chosen.pop()
    for schema_name, schema in list(schemas.items()):
        for prop, value in (schema.get("properties") or {}).items():
            if _types(value) >= {"array"} and _enum_of(value["items"]):
                value["items"] = _named_enum(spec, names, value["items"])
            elif _enum_of(value):
                schema["properties"][prop] = _named_enum(spec, names, value)
            elif _types(value) == {"object", "null"} and "properties" not in value:
                name = _type_name(schema_name, prop)
                schema["properties"][prop] = _named(spec, name, value, nullable=True)


def _type_name(schema_name: str, prop: str) -> str:
    """The name a property's own type gets: `BodyStatCreate.unit` -> `BodyStatUnit`."""
    return _SCHEMA_SUFFIXES.sub("", schema_name) + _pascal(prop)


def choice_name(choice: str) -> str:
    """A choice's name: `CHOICE_NAMES`, else its words in Pascal case (`grau-export` ->
    `GrauExport`, `body_fat` -> `BodyFat`)."""
    return CHOICE_NAMES.get(choice) or "".join(
        word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", choice)
    )


def _choice_names(choices: list[str]) -> list[str]:
    """Member names for an enum's choices (`choice_name`); names that would clash must be
    in `CHOICE_NAMES`."""
    names = [choice_name(choice) for choice in choices]
    if len(set(names)) != len(names) or not all(_IDENTIFIER.match(name) for name in names):
        raise ValueError(f"name the choices {choices} in CHOICE_NAMES (they make {names})")
    return names


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _enum_of(schema: dict[str, Any]) -> tuple[Any, ...]:
    """A string enum's choices (None left out), or () if it is not one."""
    if "enum" not in schema or not _types(schema) <= {"string", "null"}:
        return ()
    return tuple(choice for choice in schema["enum"] if choice is not None)


def _named_enum(
    spec: APISpec, names: dict[tuple[Any, ...], str], value: dict[str, Any]
) -> dict[str, Any]:
    return _named(spec, names[_enum_of(value)], value, nullable="null" in _types(value))


def _named(spec: APISpec, name: str, value: dict[str, Any], *, nullable: bool) -> dict[str, Any]:
    """`value`'s type as the component `name` (made once), and a reference to it that
    keeps the property's own description, example and flags."""
    kind = {k: v for k, v in value.items() if k not in _USE_KEYWORDS}
    kind["type"] = sorted(_types(value) - {"null"})[0]
    if "enum" in kind:
        kind["enum"] = list(_enum_of(value))
        kind["example"] = kind["enum"][0]  # linters look for one where the type is
        if not all(_IDENTIFIER.match(choice) for choice in kind["enum"]):
            kind["x-enumNames"] = _choice_names(kind["enum"])
    if name not in spec.components.schemas:
        spec.components.schema(name, kind)
    elif spec.components.schemas[name] != kind:
        raise ValueError(f"{name} names two different types: {kind}")
    ref = spec.components.get_ref("schema", name)
    use = {k: v for k, v in value.items() if k in _USE_KEYWORDS}
    return {"anyOf": [ref, {"type": "null"}], **use} if nullable else {**ref, **use}


def _merge_cross_field_rules(spec: APISpec) -> None:
    """Add each schema's `JSON_SCHEMA` rules, and `required` for `COMPLETE` output schemas."""
    plugin = next(p for p in spec.plugins if isinstance(p, MarshmallowPlugin))
    assert plugin.converter is not None
    for key, name in plugin.converter.refs.items():
        schema_class = key[0]  # key: (schema class, modifiers...)
        component = spec.components.schemas.get(name)
        if component is None:
            continue
        component.update(deepcopy(getattr(schema_class, "JSON_SCHEMA", {})))
        together = getattr(schema_class, "TOGETHER", ())
        if together:
            component["dependentRequired"] = {
                name: [other for other in together if other != name] for name in together
            }
        if getattr(schema_class, "COMPLETE", False):
            component["required"] = list(component.get("properties", {}))


# Keywords of a property that describe its use, kept when a case gives it another type.
_CASE_KEPT = ("description", "readOnly", "writeOnly", "deprecated")


def _split_into_cases(spec: APISpec) -> None:
    """Document each schema that has `CASES` as `oneOf` its cases, each a component named
    after it (`BodyStatCreate` -> `BodyStatWeightCreate`, itself one of
    `BodyStatWeightKgCreate`, ...), with a discriminator where the cases have one."""
    for name, schema_class in _schema_classes(spec).items():
        cases = getattr(schema_class, "CASES", None)
        component = spec.components.schemas.get(name)
        if cases is None or component is None:
            continue
        match = _SCHEMA_SUFFIXES.search(name)
        suffix = match.group(0) if match else ""
        split = _one_of(spec, component, cases, name.removesuffix(suffix), suffix)
        component.clear()
        component.update(split)


def _one_of(
    spec: APISpec, base: dict[str, Any], one_of: OneOf, prefix: str, suffix: str
) -> dict[str, Any]:
    refs: list[tuple[Case, dict[str, str]]] = []
    for case in one_of.cases:
        schema = _case_of(base, case)
        if case.cases is not None:
            schema = _one_of(spec, schema, case.cases, prefix, suffix)
        name = prefix + case.name + suffix
        spec.components.schema(name, schema)
        refs.append((case, spec.components.get_ref("schema", name)))
    split: dict[str, Any] = {"oneOf": [ref for _, ref in refs]}
    if one_of.discriminator is not None:
        key = one_of.discriminator
        mapping = {str(_const(case, key)): ref["$ref"] for case, ref in refs}
        split["discriminator"] = {"propertyName": key, "mapping": mapping}
    if base.get("description"):
        split["description"] = base["description"]
    return split


def _const(case: Case, field: str) -> Any:
    rule = case.field(field)
    if rule is None or "const" not in rule:
        raise ValueError(f"case {case.name} gives {field} no constant to tell it apart by")
    return rule["const"]


def _case_of(base: dict[str, Any], case: Case) -> dict[str, Any]:
    """`base` narrowed to `case`: its fields' schemas replaced, its requirements added."""
    schema = deepcopy(base)
    properties = schema["properties"]
    required = [*schema.get("required", ()), *case.required]
    for field, rule in case.fields:
        if rule is None:
            del properties[field]
            required = [name for name in required if name != field]
            continue
        before = properties[field]
        properties[field] = {**rule, **{k: before[k] for k in _CASE_KEPT if k in before}}
        if _types(rule) == {"null"}:
            properties[field]["example"] = None
        elif (example := _example_for(rule, before.get("example"))) is not None:
            properties[field]["example"] = example
    schema["required"] = sorted(set(required))
    if not schema["required"]:
        del schema["required"]
    if case.description:
        schema["description"] = case.description
    # A dependency that every instance of the case satisfies says nothing more.
    dependent = {
        field: needs
        for field, needs in schema.pop("dependentRequired", {}).items()
        if field in properties and not set(needs) <= set(schema["required"])
    }
    if dependent:
        schema["dependentRequired"] = dependent
    return schema


def _example_for(rule: dict[str, Any], example: Any) -> Any:
    """A field's example in a case: the case's constant, else the field's own if it fits,
    else (a number out of the case's bounds) a round one within them."""
    if "const" in rule:
        return rule["const"]
    if "enum" in rule:
        return example if example in rule["enum"] else rule["enum"][0]
    if not isinstance(example, int | float) or isinstance(example, bool):
        return example
    low, high = rule.get("minimum", example), rule.get("maximum", example)
    if low <= example <= high:
        return example
    tenth = round(high / 10, 1)
    return low if example < low else tenth if tenth >= low else high


def _problem_example(status: int) -> dict[str, Any]:
    example: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if status in PROBLEM_DETAILS:
        example["detail"] = PROBLEM_DETAILS[status]
    if status == 422:
        example["errors"] = {"recorded_at": ["Not a valid datetime."]}
    return example


def _add_request_example(spec: APISpec, body: dict[str, Any]) -> None:
    """A JSON body's example, beside its schema, for documentation tools to pre-fill: one
    that succeeds for every reader. Without it Swagger UI and ReDoc assemble one from the
    schema, with the client-chosen `id` (the second reader to send it gets a 409) and,
    where cross-field rules hold, a type and unit that do not go together."""
    media = body.get("content", {}).get("application/json")
    if media is None or "example" in media or "examples" in media:
        return
    schema = media.get("schema", {})
    example = _example_of(spec, schema, top=True)
    if isinstance(example, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        for field in getattr(_schema_classes(spec).get(name), "NOT_IN_EXAMPLE", ()):
            example.pop(field, None)
    if example is not None:
        media["example"] = example


def _schema_classes(spec: APISpec) -> dict[str, type]:
    """Component name -> the marshmallow schema class it documents."""
    plugin = next(p for p in spec.plugins if isinstance(p, MarshmallowPlugin))
    assert plugin.converter is not None
    return {name: key[0] for key, name in plugin.converter.refs.items()}


def _example_of(spec: APISpec, schema: dict[str, Any], *, top: bool = False) -> Any:
    """An example value built from the examples the schema's parts carry. Left out: what the
    server sets (readOnly), secrets not required (writeOnly: a password change), and a
    create's own `id`, which each reader's app chooses."""
    if "example" in schema:
        return schema["example"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example_of(spec, spec.components.schemas.get(name, {}), top=top)
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return _example_of(spec, options[0])
    if "properties" in schema:
        required = set(schema.get("required", ()))
        example = {}
        for name, prop in schema["properties"].items():
            left_out = prop.get("readOnly") or (prop.get("writeOnly") and name not in required)
            if left_out or (top and name == "id"):
                continue
            value = _example_of(spec, prop)
            if value is not None:
                example[name] = value
        return example
    if "items" in schema:
        item = _example_of(spec, schema["items"])
        return [] if item is None else [item]
    return None


def _apply_marks(spec: APISpec, op: dict[str, Any], method: str, marks: dict[str, Any]) -> None:
    def _ref(kind: str, name: str) -> dict[str, str]:
        return spec.components.get_ref(kind, name)

    # Status codes as the document spells them (flask-smorest's are ints until apispec
    # cleans the operation, after this).
    responses = op["responses"] = {str(code): r for code, r in op.get("responses", {}).items()}
    for code in marks.get("errors", ()):
        responses.setdefault(str(code), _ref("response", HTTPStatus(code).name))
    params = op.setdefault("parameters", [])
    if marks.get("auth"):
        responses.setdefault("401", _ref("response", "UNAUTHORIZED"))
    else:
        op["security"] = []
    if marks.get("etag"):
        params.append("IfNoneMatch")  # a component name: apispec resolves it
        responses.setdefault("304", {"description": "Not Modified: your copy is current."})
        responses["304"].setdefault("headers", {})["ETag"] = _ref("header", "ETag")
    if marks.get("if_match"):
        params.append("IfMatch")  # a component name: apispec resolves it
    if marks.get("etag") or marks.get("if_match"):
        # An If-None-Match or If-Match longer than the spec allows (ENTITY_TAGS_MAX).
        responses.setdefault("422", _ref("response", "UNPROCESSABLE_ENTITY"))
    if marks.get("idempotent"):
        params.append("IdempotencyKey")  # a component name: apispec resolves it
        # A reused key with another body (422), or one still in flight (409).
        responses.setdefault("409", _ref("response", "CONFLICT"))
        responses.setdefault("422", _ref("response", "UNPROCESSABLE_ENTITY"))
    if "requestBody" in op:
        _add_request_example(spec, op["requestBody"])
        # Any body can be malformed JSON (400), too large (413) or not JSON (415).
        for code in (400, 413, 415):
            responses.setdefault(str(code), _ref("response", HTTPStatus(code).name))
    for status, response in responses.items():
        if not isinstance(response, dict) or "$ref" in response:
            continue
        headers = response.setdefault("headers", {}) if status.startswith("2") else None
        if headers is None:
            continue
        if marks.get("etag") or (marks.get("if_match") and method != "delete"):
            headers.setdefault("ETag", _ref("header", "ETag"))
        if status == "201":
            # grau.core.crud answers every create with the stored item's URL and version.
            headers.setdefault("Location", _ref("header", "Location"))
            headers.setdefault("ETag", _ref("header", "ETag"))
        if status == "200" and "201" in responses:  # a create that updated (UPDATED_AT_SOURCE)
            headers.setdefault("ETag", _ref("header", "ETag"))
        if marks.get("idempotent"):
            headers.setdefault("Idempotent-Replayed", _ref("header", "Idempotent-Replayed"))
        if marks.get("auth"):  # counted by the per-user limit (grau.http.ratelimit)
            headers.setdefault("RateLimit-Policy", _ref("header", "RateLimit-Policy"))
            headers.setdefault("RateLimit", _ref("header", "RateLimit"))
        if any(isinstance(p, dict) and p.get("deprecated") for p in params):
            for name in DEPRECATION_HEADERS:  # sent when a deprecated name was used
                headers.setdefault(name, _ref("header", name))
        if not headers:
            del response["headers"]
    if not params:
        del op["parameters"]
    op["responses"] = dict(sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])))
