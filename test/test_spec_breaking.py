"""The breaking-change gate (contract/spec/breaking.py): each rule catches its case,
additive changes pass, and the version and release-tag logic decide as documented."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "openapi.json"


def _load_gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("breaking", ROOT / "contract/spec/breaking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["breaking"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gate = _load_gate()

# A small spec in grau's shape: one collection, one item, shared components.
BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1.2.0"},
    "security": [{"bearerAuth": []}],
    "paths": {
        "/v1/things": {
            "get": {
                "operationId": "listThings",
                "parameters": [
                    {"in": "query", "name": "page", "schema": {"type": "integer"}},
                    {
                        "in": "query",
                        "name": "type",
                        "schema": {"type": "string", "enum": ["a", "b"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ThingPage"}
                            }
                        },
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    },
                    "401": {"$ref": "#/components/responses/UNAUTHORIZED"},
                },
            },
            "post": {
                "operationId": "createThing",
                "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ThingCreate"}}
                    },
                },
                "responses": {
                    "201": {
                        "description": "Created",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                        "headers": {"Location": {"$ref": "#/components/headers/Location"}},
                    }
                },
            },
        },
        "/v1/things/{thing_id}": {
            "parameters": [
                {
                    "in": "path",
                    "name": "thing_id",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "get": {
                "operationId": "getThing",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                        },
                    }
                },
            },
            "delete": {"operationId": "deleteThing", "responses": {"204": {"description": "ok"}}},
        },
        "/v1/auth/login": {
            "post": {
                "operationId": "login",
                "security": [],
                "responses": {"200": {"description": "OK"}},
            }
        },
    },
    "components": {
        "schemas": {
            "ThingCreate": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "weight": {"type": "number"},
                    "note": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name"],
            },
            "Thing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "format": "uuid", "readOnly": True},
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "weight": {"type": "number"},
                    "count": {"type": "integer"},
                    "parent": {"$ref": "#/components/schemas/Thing"},
                },
                "required": ["id", "name"],
            },
            "ThingPage": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}
                },
            },
        },
        "parameters": {
            "IdempotencyKey": {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string"},
            }
        },
        "headers": {
            "ETag": {"schema": {"type": "string"}},
            "Location": {"schema": {"type": "string"}},
        },
        "responses": {"UNAUTHORIZED": {"description": "Unauthorized"}},
    },
}


def changed(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    new = copy.deepcopy(BASE)
    edit(new)
    return new


def breaking(edit: Callable[[dict[str, Any]], Any]) -> list[str]:
    report = gate.compare(BASE, changed(edit))
    return list(report.breaking)


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def list_op(spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"]["/v1/things"]["get"]
    return found


# ------------------------------------------------------------- nothing breaks


def test_an_unchanged_spec_has_no_breaking_changes() -> None:
    assert gate.compare(BASE, copy.deepcopy(BASE)).breaking == []


def test_the_committed_spec_compared_with_itself_passes() -> None:
    spec = json.loads(COMMITTED.read_text())
    report = gate.compare(spec, copy.deepcopy(spec))
    assert (report.breaking, report.notes) == ([], [])


def _additive(spec: dict[str, Any]) -> None:
    spec["paths"]["/v1/other-things"] = {
        "get": {"operationId": "listOtherThings", "responses": {"200": {"description": "OK"}}}
    }
    list_op(spec)["parameters"].append(
        {"in": "query", "name": "sort", "schema": {"type": "string"}}
    )
    list_op(spec)["parameters"][1]["schema"]["enum"].append("c")  # wider request enum
    list_op(spec)["responses"]["429"] = {"description": "Too Many Requests"}
    list_op(spec)["responses"]["200"]["headers"]["Link"] = {"schema": {"type": "string"}}
    create = schema(spec, "ThingCreate")
    create["properties"]["colour"] = {"type": "string"}  # new optional request field
    create["properties"]["weight"]["type"] = ["number", "string"]  # request accepts more
    create["properties"]["note"]["maxLength"] = 10  # bounds are not compared
    thing = schema(spec, "Thing")
    thing["properties"]["colour"] = {"type": "string"}  # new response field
    thing["properties"]["weight"]["type"] = "integer"  # response narrower: still a number
    thing["required"].append("kind")  # a response field now always present
    spec["paths"]["/v1/things"]["post"]["responses"]["200"] = {"description": "replayed"}
    spec["paths"]["/v1/things/{thing_id}"]["get"]["description"] = "reworded"
    item = spec["paths"].pop("/v1/things/{thing_id}")  # a renamed path parameter
    item["parameters"][0]["name"] = "id"
    spec["paths"]["/v1/things/{id}"] = item


def test_additive_changes_pass() -> None:
    assert breaking(_additive) == []


def test_additive_changes_to_the_committed_spec_pass() -> None:
    old = json.loads(COMMITTED.read_text())
    new = copy.deepcopy(old)
    new["paths"]["/v1/new-things"] = {"get": {"operationId": "listNewThings", "responses": {}}}
    for name, component in new["components"]["schemas"].items():
        if "properties" in component:  # an object (not a file's string)
            component["properties"]["x_new"] = {"type": "string", "description": f"new in {name}"}
    assert gate.compare(old, new).breaking == []


# ------------------------------------------------------- each rule, its case

RULES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "removed operation": (
        lambda s: s["paths"]["/v1/things/{thing_id}"].pop("delete"),
        "DELETE /v1/things/{thing_id}: operation removed",
    ),
    "removed path": (
        lambda s: s["paths"].pop("/v1/auth/login"),
        "POST /v1/auth/login: operation removed",
    ),
    "renamed operationId": (
        lambda s: list_op(s).update(operationId="getThings"),
        "GET /v1/things: operationId changed from 'listThings' to 'getThings'",
    ),
    "public operation needs a token": (
        lambda s: s["paths"]["/v1/auth/login"]["post"].pop("security"),
        "POST /v1/auth/login: now requires authentication",
    ),
    "removed query parameter": (
        lambda s: list_op(s)["parameters"].pop(0),
        "GET /v1/things: query parameter `page` removed",
    ),
    "removed header parameter": (
        lambda s: s["paths"]["/v1/things"]["post"].pop("parameters"),
        "POST /v1/things: header parameter `Idempotency-Key` removed",
    ),
    "parameter now required": (
        lambda s: list_op(s)["parameters"][0].update(required=True),
        "GET /v1/things: query parameter `page` is now required",
    ),
    "new required parameter": (
        lambda s: list_op(s)["parameters"].append(
            {"in": "query", "name": "owner", "required": True, "schema": {"type": "string"}}
        ),
        "GET /v1/things: new required query parameter `owner`",
    ),
    "parameter type changed": (
        lambda s: list_op(s)["parameters"][0]["schema"].update(type="string"),
        "GET /v1/things: query parameter `page`: type changed from integer to string",
    ),
    "path parameter type narrowed": (
        lambda s: s["paths"]["/v1/things/{thing_id}"]["parameters"][0]["schema"].update(
            type="integer"
        ),
        "GET /v1/things/{thing_id}: path parameter `thing_id`: type changed from string to integer",
    ),
    "parameter enum narrowed": (
        lambda s: list_op(s)["parameters"][1]["schema"]["enum"].remove("b"),
        'GET /v1/things: query parameter `type`: no longer accepts "b"',
    ),
    "removed request field": (
        lambda s: schema(s, "ThingCreate")["properties"].pop("weight"),
        "POST /v1/things: request body (application/json): field `weight` removed",
    ),
    "request field now required": (
        lambda s: schema(s, "ThingCreate")["required"].append("kind"),
        "POST /v1/things: request body (application/json): field `kind` is now required",
    ),
    "new required request field": (
        lambda s: (
            schema(s, "ThingCreate")["properties"].update(owner={"type": "string"}),
            schema(s, "ThingCreate")["required"].append("owner"),
        ),
        "POST /v1/things: request body (application/json): field `owner` is now required",
    ),
    "request field type changed": (
        lambda s: schema(s, "ThingCreate")["properties"]["weight"].update(type="string"),
        "POST /v1/things: request body (application/json).weight: "
        "type changed from number to string",
    ),
    "request field no longer nullable": (
        lambda s: schema(s, "ThingCreate")["properties"]["note"].update(type="string"),
        "POST /v1/things: request body (application/json).note: "
        "type changed from null|string to string",
    ),
    "request array item type changed": (
        lambda s: schema(s, "ThingCreate")["properties"]["tags"]["items"].update(type="integer"),
        "POST /v1/things: request body (application/json).tags[]: "
        "type changed from string to integer",
    ),
    "request enum narrowed": (
        lambda s: schema(s, "ThingCreate")["properties"]["kind"]["enum"].remove("a"),
        'POST /v1/things: request body (application/json).kind: no longer accepts "a"',
    ),
    "request field gains an enum": (
        lambda s: schema(s, "ThingCreate")["properties"]["name"].update(enum=["x"]),
        'POST /v1/things: request body (application/json).name: now limited to "x"',
    ),
    "request body now required": (
        lambda s: s["paths"]["/v1/things/{thing_id}"]["delete"].update(
            requestBody={"required": True, "content": {"application/json": {"schema": {}}}}
        ),
        "DELETE /v1/things/{thing_id}: request body is now required",
    ),
    "request body removed": (
        lambda s: s["paths"]["/v1/things"]["post"].pop("requestBody"),
        "POST /v1/things: request body removed",
    ),
    "request media type dropped": (
        lambda s: s["paths"]["/v1/things"]["post"]["requestBody"].update(
            content={"application/xml": {"schema": {"type": "object"}}}
        ),
        "POST /v1/things: request body no longer accepts application/json",
    ),
    "removed success status": (
        lambda s: s["paths"]["/v1/things"]["post"]["responses"].pop("201"),
        "POST /v1/things: success status 201 removed",
    ),
    "success status replaced": (
        lambda s: s["paths"]["/v1/things/{thing_id}"]["delete"].update(
            responses={"200": {"description": "OK"}}
        ),
        "DELETE /v1/things/{thing_id}: success status 204 removed",
    ),
    "removed response header": (
        lambda s: list_op(s)["responses"]["200"].pop("headers"),
        "GET /v1/things: 200 response no longer has header `ETag`",
    ),
    "response media type dropped": (
        lambda s: s["paths"]["/v1/things/{thing_id}"]["get"]["responses"]["200"].update(
            content={"text/csv": {"schema": {"type": "string"}}}
        ),
        "GET /v1/things/{thing_id}: 200 response no longer returns application/json",
    ),
    "removed response field": (
        lambda s: schema(s, "Thing")["properties"].pop("count"),
        "GET /v1/things/{thing_id}: 200 response (application/json): field `count` removed",
    ),
    "response field no longer required": (
        lambda s: schema(s, "Thing")["required"].remove("name"),
        "GET /v1/things/{thing_id}: 200 response (application/json): "
        "field `name` is no longer always present",
    ),
    "response field type changed": (
        lambda s: schema(s, "Thing")["properties"]["count"].update(type="string"),
        "GET /v1/things/{thing_id}: 200 response (application/json).count: "
        "type changed from integer to string",
    ),
    "response field becomes nullable": (
        lambda s: schema(s, "Thing")["properties"]["name"].update(type=["string", "null"]),
        "GET /v1/things/{thing_id}: 200 response (application/json).name: "
        "type changed from string to null|string",
    ),
    "response field type widened from integer to number": (
        lambda s: schema(s, "Thing")["properties"]["count"].update(type="number"),
        "GET /v1/things/{thing_id}: 200 response (application/json).count: "
        "type changed from integer to number",
    ),
    "change in a list's items": (
        lambda s: schema(s, "Thing")["properties"].pop("weight"),
        "GET /v1/things: 200 response (application/json).items[]: field `weight` removed",
    ),
    "change inside a recursive schema": (
        lambda s: schema(s, "Thing")["properties"].pop("kind"),
        "GET /v1/things/{thing_id}: 200 response (application/json).parent: field `kind` removed",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_catches_its_case(rule: str) -> None:
    edit, expected = RULES[rule]
    found = breaking(edit)
    assert expected in found, "\n".join(found)


def test_a_removed_read_only_field_does_not_break_requests() -> None:
    # `id` is readOnly: clients never send it, so a request schema may drop it.
    def edit(spec: dict[str, Any]) -> None:
        schema(spec, "ThingCreate")["properties"]["id"] = {"type": "string", "readOnly": True}

    with_id = changed(edit)
    without_id = copy.deepcopy(BASE)
    assert gate.compare(with_id, without_id).breaking == []


def test_allof_parts_are_compared_as_one_schema() -> None:
    def split(spec: dict[str, Any]) -> None:
        create = schema(spec, "ThingCreate")
        spec["components"]["schemas"]["Named"] = {
            "type": "object",
            "properties": {"name": create["properties"].pop("name")},
            "required": create.pop("required"),
        }
        spec["components"]["schemas"]["ThingCreate"] = {
            "allOf": [{"$ref": "#/components/schemas/Named"}, create]
        }

    assert breaking(split) == []
    split_spec = changed(split)
    split_spec["components"]["schemas"]["Named"]["properties"].pop("name")
    assert any("field `name` removed" in c for c in gate.compare(BASE, split_spec).breaking)


def _cases_by_kind(spec: dict[str, Any]) -> None:
    """ThingCreate as grau documents a body with CASES: one of a case per `kind`."""
    create = schema(spec, "ThingCreate")
    for kind in create["properties"]["kind"]["enum"]:
        case = copy.deepcopy(create)
        case["properties"]["kind"] = {"type": "string", "const": kind}
        case["required"] = sorted({*case["required"], "kind"})
        spec["components"]["schemas"][f"Thing{kind.upper()}Create"] = case
    spec["components"]["schemas"]["ThingCreate"] = {
        "oneOf": [{"$ref": f"#/components/schemas/Thing{k.upper()}Create"} for k in "ab"],
        "discriminator": {"propertyName": "kind"},
    }


def test_the_cases_of_a_body_are_compared_as_the_object_they_make_together() -> None:
    assert breaking(_cases_by_kind) == ["POST /v1/things: request body (application/json): "
                                        "field `kind` is now required"]  # fmt: skip

    def without_note(spec: dict[str, Any]) -> None:
        _cases_by_kind(spec)
        schema(spec, "ThingACreate")["properties"].pop("note")

    assert "field `note` removed" not in str(breaking(without_note))  # case B still takes it

    def no_note_anywhere(spec: dict[str, Any]) -> None:
        without_note(spec)
        schema(spec, "ThingBCreate")["properties"].pop("note")

    assert "field `note` removed" in str(breaking(no_note_anywhere))

    def one_kind_gone(spec: dict[str, Any]) -> None:
        _cases_by_kind(spec)
        schema(spec, "ThingCreate")["oneOf"].pop()

    assert 'no longer accepts "b"' in str(breaking(one_kind_gone))


def test_a_wider_response_enum_is_a_note_not_a_break() -> None:
    new = changed(lambda s: schema(s, "Thing")["properties"]["kind"]["enum"].append("c"))
    report = gate.compare(BASE, new)
    assert report.breaking == []
    assert any('kind: may now return "c"' in note for note in report.notes), report.notes


def test_an_enum_moved_to_a_named_schema_is_the_same_type() -> None:
    """grau.http.openapi names every enum: a reference (nullable: anyOf it and null, with a
    description beside it) stands for the inline enum it replaced."""

    def name_it(spec: dict[str, Any]) -> None:
        kind = schema(spec, "Thing")["properties"]["kind"]
        spec["components"]["schemas"]["ThingKind"] = {"type": "string", "enum": kind["enum"]}
        schema(spec, "Thing")["properties"]["kind"] = {
            "anyOf": [{"$ref": "#/components/schemas/ThingKind"}, {"type": "null"}],
            "description": "What it is.",
        }

    nullable = changed(
        lambda s: schema(s, "Thing")["properties"]["kind"].update(
            type=["string", "null"], enum=[*schema(s, "Thing")["properties"]["kind"]["enum"], None]
        )
    )
    report = gate.compare(nullable, changed(name_it))
    assert (report.breaking, report.notes) == ([], [])


def test_a_required_parameter_renamed_with_its_old_name_kept_as_a_deprecated_alias_passes() -> None:
    def rename(spec: dict[str, Any]) -> None:
        page = list_op(spec)["parameters"][0]
        alias = {
            **page,
            "deprecated": True,
            "schema": {**page["schema"], "x-replaced-by": "number"},
        }
        list_op(spec)["parameters"] = [
            {**page, "name": "number", "required": True},
            alias,
            *list_op(spec)["parameters"][1:],
        ]

    required_page = changed(lambda s: list_op(s)["parameters"][0].update(required=True))
    assert gate.compare(required_page, changed(rename)).breaking == []
    unkept = changed(rename)
    list_op(unkept)["parameters"].pop(1)
    assert "new required query parameter `number`" in " ".join(
        gate.compare(required_page, unkept).breaking
    )


# ------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        ("1.2.0", "2.0.0", True),
        ("1.2.0", "1.3.0", False),
        ("1.2.0", "1.2.1", False),
        ("0.1.0", "0.2.0", True),
        ("0.1.0", "0.1.5", False),
        ("0.1.0", "1.0.0", True),
        ("2.0.0", "1.9.0", False),
        ("0.1.0", "0.1.0", False),
        ("0.1.0", "unknown", False),
    ],
)
def test_breaking_changes_need_a_major_bump_or_a_minor_one_in_0x(
    old: str, new: str, allowed: bool
) -> None:
    assert gate.allows_breaking(old, new) is allowed


def test_the_message_names_the_version_needed() -> None:
    assert gate.required_bump("0.1.3") == "0.2.0"
    assert gate.required_bump("1.4.2") == "2.0.0"


# ------------------------------------------------------------------- the CLI


def _write(path: Path, spec: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return path


def _login_removed_in_2_0_0(spec: dict[str, Any]) -> None:
    spec["paths"].pop("/v1/auth/login")
    spec["info"]["version"] = "2.0.0"


@pytest.mark.parametrize(
    ("edit", "status"),
    [(_login_removed_in_2_0_0, 0), (_additive, 0), (lambda s: s["paths"].pop("/v1/auth/login"), 1)],
    ids=["a break with a major bump", "an additive change", "a break without a bump"],
)
def test_cli_fails_only_on_a_break_without_a_bump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, status: int
) -> None:
    base = _write(tmp_path / "base.json", BASE)
    new = _write(tmp_path / "new.json", changed(edit))
    assert gate.main([str(new), "--base", str(base)]) == status
    if status:  # the message names the break and the version it needs
        out = capsys.readouterr().out
        assert "POST /v1/auth/login: operation removed" in out
        assert "2.0.0" in out


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_without_a_release_tag_the_baseline_is_the_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _write(tmp_path / "openapi" / "openapi.json", BASE)
    _write(tmp_path / "openapi" / "baseline" / "openapi.json", BASE)
    _git(tmp_path, "init", "-q")
    assert gate.main([str(spec)]) == 0
    assert "baseline" in capsys.readouterr().out
    _write(spec, changed(lambda s: s["paths"].pop("/v1/auth/login")))
    assert gate.main([str(spec)]) == 1


def test_missing_baseline_and_tag_is_an_error(tmp_path: Path) -> None:
    spec = _write(tmp_path / "openapi" / "openapi.json", BASE)
    with pytest.raises(SystemExit, match="--write-baseline"):
        gate.main([str(spec)])


def test_write_baseline_copies_the_spec(tmp_path: Path) -> None:
    spec = _write(tmp_path / "openapi" / "openapi.json", BASE)
    assert gate.main([str(spec), "--write-baseline"]) == 0
    baseline = tmp_path / "openapi" / "baseline" / "openapi.json"
    assert baseline.read_text() == spec.read_text()


def test_the_last_release_tag_wins_over_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _write(tmp_path / "openapi" / "openapi.json", BASE)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "release")
    _git(tmp_path, "tag", "v1.2.0")
    # The baseline says login never existed, the tag says it did: the tag decides.
    _write(
        tmp_path / "openapi" / "baseline" / "openapi.json",
        changed(lambda s: s["paths"].pop("/v1/auth/login")),
    )
    _write(spec, changed(lambda s: s["paths"].pop("/v1/auth/login")))
    assert gate.main([str(spec)]) == 1
    out = capsys.readouterr().out
    assert "release tag v1.2.0" in out
    assert "POST /v1/auth/login: operation removed" in out
