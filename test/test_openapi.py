"""The committed OpenAPI document is current, valid, and complete enough for SDKs and docs."""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"
# Operations anyone may call; every other one needs a bearer token.
PUBLIC_OPERATIONS = {"getHealth", "getReadiness", "login", "refreshTokens", "createUser"}


def _render() -> str:
    spec = importlib.util.spec_from_file_location(
        "write_openapi", ROOT / "scripts/write_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def committed_text() -> str:
    return COMMITTED.read_text()


@pytest.fixture(scope="module")
def spec(committed_text: str) -> dict[str, Any]:
    return json.loads(committed_text)  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _name(path: str, method: str, op: dict[str, Any]) -> str:
    return f"{method.upper()} {path} ({op.get('operationId')})"


def _resolve(spec: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        obj = target
    return obj


def _security(spec: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    return op.get("security", spec.get("security", []))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ drift


def test_committed_document_matches_the_code(committed_text: str) -> None:
    generated = _render()
    if committed_text != generated:
        diff = difflib.unified_diff(
            committed_text.splitlines(),
            generated.splitlines(),
            str(COMMITTED),
            "generated",
            lineterm="",
        )
        pytest.fail(
            "openapi/openapi.json is stale (run `make openapi`):\n" + "\n".join(list(diff)[:60])
        )


def test_served_document_matches_the_committed_one(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == spec


# --------------------------------------------------------------------- validity


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_first_server_is_relative(spec: dict[str, Any]) -> None:
    # Swagger UI's "Try it out" calls servers[0]: relative means the origin serving the docs.
    url = spec["servers"][0]["url"]
    parts = urlsplit(url)
    assert not parts.scheme and not parts.netloc, url
    assert url.startswith("/"), url


# ------------------------------------------------------------------- operations


def test_every_operation_is_named_tagged_and_described(spec: dict[str, Any]) -> None:
    missing = [
        f"{_name(path, method, op)}: {field}"
        for path, method, op in _operations(spec)
        for field in ("operationId", "tags", "summary", "description")
        if not op.get(field)
    ]
    assert not missing, "\n".join(missing)


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in _operations(spec)]
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_body_stat_operation_ids(spec: dict[str, Any]) -> None:
    ids = {
        (method, path): op["operationId"]
        for path, method, op in _operations(spec)
        if path.startswith("/v1/body-stats")
    }
    assert ids == {
        ("get", "/v1/body-stats"): "listBodyStats",
        ("post", "/v1/body-stats"): "createBodyStat",
        ("get", "/v1/body-stats/{stat_id}"): "getBodyStat",
        ("patch", "/v1/body-stats/{stat_id}"): "updateBodyStat",
        ("delete", "/v1/body-stats/{stat_id}"): "deleteBodyStat",
        ("get", "/v1/body-stats/summary"): "getBodyStatSummary",
    }


def test_operations_with_a_path_parameter_document_404(spec: dict[str, Any]) -> None:
    missing = [
        _name(path, method, op)
        for path, method, op in _operations(spec)
        if re.search(r"\{[^}]+\}", path) and "404" not in op["responses"]
    ]
    assert not missing, "\n".join(missing)


def test_public_operations_are_exactly_the_expected_ones(spec: dict[str, Any]) -> None:
    public = {op["operationId"] for _, _, op in _operations(spec) if not _security(spec, op)}
    assert public == PUBLIC_OPERATIONS


def test_protected_operations_document_401_and_bearer_security(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    problems = []
    for path, method, op in _operations(spec):
        security = _security(spec, op)
        if not security:
            continue
        if "401" not in op["responses"]:
            problems.append(f"{_name(path, method, op)}: no 401")
        for requirement in security:
            for scheme in requirement:
                if scheme not in schemes:
                    problems.append(f"{_name(path, method, op)}: unknown scheme {scheme}")
    assert not problems, "\n".join(problems)
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"


def test_protected_operations_answer_401_without_a_token(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    """The spec's security matches what the code enforces."""
    wrong = []
    for path, method, op in _operations(spec):
        if not _security(spec, op):
            continue
        url = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        response = client.open(url, method=method.upper())
        if response.status_code != 401 or not response.headers.get("WWW-Authenticate"):
            wrong.append(f"{_name(path, method, op)}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


# -------------------------------------------------------------------- responses


def test_error_responses_are_problem_details(spec: dict[str, Any]) -> None:
    problems = []
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            if not (status == "default" or status[0] in "45"):
                continue
            content = _resolve(spec, response).get("content", {})
            schema = content.get(PROBLEM_JSON, {}).get("schema", {})
            if list(content) != [PROBLEM_JSON] or schema.get("$ref") != PROBLEM_REF:
                problems.append(f"{_name(path, method, op)} {status}: {content}")
    assert not problems, "\n".join(problems)


def test_problem_schema_has_the_rfc_9457_members(spec: dict[str, Any]) -> None:
    properties = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "instance"} <= set(properties)


def _body_schemas(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, method, op in _operations(spec):
        bodies = [("requestBody", _resolve(spec, op["requestBody"]))] if "requestBody" in op else []
        bodies += [(status, _resolve(spec, r)) for status, r in op["responses"].items()]
        for where, body in bodies:
            for media, content in body.get("content", {}).items():
                if "schema" in content:
                    found.append(
                        (f"{_name(path, method, op)} {where} {media}", media, content["schema"])
                    )
    return found


def test_request_and_response_bodies_use_named_schemas(spec: dict[str, Any]) -> None:
    # Inline schemas become `Response200` or worse in generated SDKs.
    anonymous = [where for where, _, schema in _body_schemas(spec) if set(schema) != {"$ref"}]
    assert not anonymous, "\n".join(anonymous)


def test_every_enum_and_free_form_object_a_property_holds_is_a_named_schema(
    spec: dict[str, Any],
) -> None:
    """Generators name what the spec leaves anonymous by its place, and number clashes
    (`Status1`, `BodyType0`): each enum and map of a schema is a component of its own."""
    anonymous = []
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            inner = prop.get("items", prop)
            kinds = (
                inner.get("type") if isinstance(inner.get("type"), list) else [inner.get("type")]
            )
            if ("enum" in inner and "integer" not in kinds) or {"object", "null"} <= set(kinds):
                anonymous.append(f"{name}.{field}")
    assert not anonymous, "\n".join(anonymous)


def test_enum_members_have_names_generators_can_use(spec: dict[str, Any]) -> None:
    """Choices such as `%` or `DD.MM.YYYY` carry `x-enumNames`, one distinct identifier each."""
    for name, schema in spec["components"]["schemas"].items():
        choices = schema.get("enum", [])
        if all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(choice)) for choice in choices):
            continue
        names = schema.get("x-enumNames", [])
        assert len(names) == len(choices) == len(set(names)), name
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", member) for member in names), name


def test_every_json_request_body_has_an_example_that_its_schema_accepts(
    spec: dict[str, Any],
) -> None:
    """What Swagger UI pre-fills and ReDoc shows: valid, and free of what would make a second
    reader's try fail (a create's client-chosen `id`)."""
    import jsonschema_rs  # the validator schemathesis checks with (2020-12)

    refused = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue  # a path's shared parameters
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is None:
                continue
            example = media.get("example")
            schema = {**media["schema"], "components": spec["components"]}
            validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
            if example is None or "id" in example or not validator.is_valid(example):
                refused.append(f"{method} {path}")
    assert not refused, refused


def test_every_named_schema_is_documented(spec: dict[str, Any]) -> None:
    """A schema has a description, or every one of its fields a description or example."""
    undocumented = []
    for name, schema in spec["components"]["schemas"].items():
        if schema.get("description"):
            continue
        for field, prop in schema.get("properties", {}).items():
            if set(prop) == {"$ref"}:
                continue  # documented where the referenced schema is
            if not (prop.get("description") or "example" in prop or "examples" in prop):
                undocumented.append(f"{name}.{field}")
    assert not undocumented, "\n".join(undocumented)


def test_every_problem_response_shows_an_example_of_its_own_status(spec: dict[str, Any]) -> None:
    # Without one, Swagger UI shows the Problem schema's generic 404 under a 401.
    wrong = []
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            media = _resolve(spec, response).get("content", {}).get(PROBLEM_JSON)
            if media is None:
                continue
            example = media.get("example", {})
            expected = 500 if status == "default" else int(status)
            if example.get("status") != expected or example.get("type") != "about:blank":
                wrong.append(f"{_name(path, method, op)} {status}: {example}")
    assert not wrong, "\n".join(wrong)


def test_tags_are_declared_described_and_read_as_titles(spec: dict[str, Any]) -> None:
    # Tags title Swagger UI and ReDoc sections and Postman folders: "Body stats", not "body-stats".
    declared = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert all(declared.values()), declared
    assert all(name[0].isupper() and "-" not in name for name in declared), declared
    used = {tag for _, _, op in _operations(spec) for tag in op["tags"]}
    assert used == set(declared)


def test_idempotent_creates_document_their_key_replays_and_conflicts(spec: dict[str, Any]) -> None:
    posts = [
        (path, op)
        for path, method, op in _operations(spec)
        if method == "post" and "201" in op["responses"]
    ]
    assert posts
    for path, op in posts:
        params = {_resolve(spec, p)["name"] for p in op.get("parameters", [])}
        assert "Idempotency-Key" in params, path
        assert {"409", "422"} <= set(op["responses"]), path
        headers = op["responses"]["201"]["headers"]
        assert {"Location", "ETag", "Idempotent-Replayed"} <= set(headers), path
