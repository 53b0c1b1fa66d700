"""OWASP API8/API4 inputs, generated from the spec: hostile bodies get a 4xx problem, never a 500.

Every operation with a request body gets: NUL bytes in each string field,
each number field far out of range, each date far in the past or future,
an unknown field, invalid UTF-8, malformed and deeply nested JSON, the wrong
content types and a body over the size limit. Each answer is a 4xx
`application/problem+json` (the audit also fails any 5xx and any stack
trace), and test_zz_audit checks the server logged no traceback: nothing
reached the database as an error.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from client import PROBLEM_JSON, Client
from conftest import BASE_URL, SPEC, User, fill

from contract.spec.walk import Operation, set_at

WITH_BODY = [op for op in SPEC.operations if SPEC.body_schema(op) is not None]
# Default MAX_CONTENT_LENGTH is 1 MiB; the live stack keeps it.
TOO_LARGE = 2 * 1024 * 1024


def _fields(schema: dict[str, Any], where: tuple = ()) -> list[tuple[tuple, dict[str, Any]]]:
    """(path, schema) of every scalar field of a body, nested ones included."""
    found = []
    schema = SPEC.resolve(schema)
    for name, prop in schema.get("properties", {}).items():
        prop = SPEC.resolve(prop)
        if prop.get("readOnly"):
            continue
        kind = prop.get("type", "object")
        kinds = kind if isinstance(kind, list) else [kind]
        if "object" in kinds:
            found += _fields(prop, (*where, name))
        elif "array" in kinds:
            items = SPEC.resolve(prop.get("items", {}))
            if "properties" in items:
                found += _fields(items, (*where, name, 0))
            else:
                found.append(((*where, name), prop))
        else:
            found.append(((*where, name), prop))
    return found


def _exists(body: Any, where: tuple) -> bool:
    for key in where[:-1]:
        try:
            body = body[key]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(body, dict)


def _hostile_values(prop: dict[str, Any]) -> list[Any]:
    kinds = prop.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    values: list[Any] = []
    if "string" in kinds and "enum" not in prop:
        fmt = prop.get("format")
        if fmt == "date-time":
            values += [
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-12:00",
                "2026-13-45T99:99:99Z",
            ]
        elif fmt == "date":
            values += ["0001-01-01", "9999-12-31"]
        elif fmt != "uuid":
            values += ["nul\x00byte", "x" * (prop.get("maxLength", 10_000) + 1)]
    if {"integer", "number"} & set(kinds):
        values += [10**30, -(10**30), 1e308, -1e308]
    if "array" in kinds:
        values += [["x"] * (prop.get("maxItems", 1000) + 1)]
    return values


CASES = [
    (op, where, value)
    for op in WITH_BODY
    for where, prop in _fields(SPEC.body_schema(op))
    for value in _hostile_values(prop)
]


def _send(user: User, op: Operation, **kwargs: Any):
    # Public operations (login, registration) are limited per address and per
    # account: each case comes from an address and names an account of its own.
    client = user.client if op.protected else Client(BASE_URL, user.client.audit, "I")
    body = kwargs.get("body")
    if not op.protected and isinstance(body, dict) and body.get("email") == _example_email(op):
        kwargs["body"] = {**body, "email": f"sec-in-{uuid.uuid4().hex[:12]}@example.com"}
    return client.request(op.method.upper(), fill(op.path, user.ids), **kwargs)


def _example_email(op: Operation) -> Any:
    return (SPEC.create_body(op, {}) or {}).get("email")


def _assert_refused(reply, *statuses: int) -> None:
    assert reply.status in statuses, str(reply)
    assert reply.content_type == PROBLEM_JSON, str(reply)


@pytest.fixture(scope="module")
def user(new_user) -> User:
    from conftest import populate

    return populate(new_user("I"))


@pytest.mark.parametrize(
    ("op", "where", "value"),
    CASES,
    ids=[f"{op.id}:{'.'.join(map(str, w))}={str(v)[:24]!r}" for op, w, v in CASES],
)
def test_a_hostile_field_value_is_a_422(user: User, op, where, value):
    body = SPEC.create_body(op, user.ids) or {}
    if not _exists(body, where):
        body = (
            set_at({**body}, where[:1], {} if len(where) > 1 else None) if len(where) == 1 else body
        )
    if not _exists(body, where):
        pytest.fail(f"cannot place a value at {where} in a body of {op}")
    body = set_at(body, where, value)

    _assert_refused(_send(user, op, body=body), 422)


@pytest.mark.parametrize("op", WITH_BODY, ids=[op.id for op in WITH_BODY])
def test_an_unknown_field_is_a_422(user: User, op):
    body = {**(SPEC.create_body(op, user.ids) or {}), "is_admin": True}

    reply = _send(user, op, body=body)

    _assert_refused(reply, 422)
    assert "is_admin" in reply.json["errors"]


RAW_BODIES = {
    "invalid utf-8": (b'{"name": "\xff\xfe\xfd"}', "application/json", 400),
    "malformed json": (b'{"name": ', "application/json", 400),
    "nested arrays": (b"[" * 50_000 + b"]" * 50_000, "application/json", 400),
    "nested objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json", 400),
    "a json array": (b"[1, 2, 3]", "application/json", 422),
    "a json string": (b'"name"', "application/json", 422),
    "text/plain": (b'{"name": "x"}', "text/plain", 415),
    "form": (b"name=x", "application/x-www-form-urlencoded", 415),
    "xml": (b"<name>x</name>", "application/xml", 415),
    "too large": (b'{"note": "' + b"x" * TOO_LARGE + b'"}', "application/json", 413),
}
RAW_CASES = [(op, kind) for op in WITH_BODY for kind in RAW_BODIES]


@pytest.mark.parametrize(("op", "kind"), RAW_CASES, ids=[f"{op.id}:{k}" for op, k in RAW_CASES])
def test_a_malformed_body_is_a_4xx_problem(user: User, op, kind):
    data, content_type, status = RAW_BODIES[kind]

    reply = _send(user, op, raw=data, headers={"Content-Type": content_type})

    _assert_refused(reply, status)
