"""OWASP API3, generated from the spec: server-owned fields cannot be set through the API.

A field a response shows (readOnly) that the operation's request body does
not declare is the server's (ids, owners, timestamps, `premium`, `status`,
computed values); so is `user_id`, the owner, which no body declares. Sending
any of them in a create or update is a 422 naming the field, as for any
unknown field (API guide: unknown or read-only fields are refused, never
silently dropped), and nothing changes.
"""

from __future__ import annotations

import pytest
from conftest import SPEC, User, fill

CASES = [
    (op, name, value)
    for op in SPEC.operations
    if op.protected and op.method in ("post", "put", "patch")
    for name, value in SPEC.server_owned(op).items()
]


def test_every_resource_has_server_owned_fields():
    covered = {op.path for op, _, _ in CASES}

    assert {path for path in SPEC.item_paths().values()} <= covered


@pytest.mark.parametrize(
    ("op", "name", "value"), CASES, ids=[f"{op.id}:{name}" for op, name, _ in CASES]
)
def test_a_server_owned_field_in_a_body_is_a_422(owner: User, op, name, value):
    path = fill(op.path, owner.ids)
    before = owner.client.get(path) if op.method != "post" else None
    body = {**SPEC.create_body(op, owner.ids), name: value}

    reply = owner.client.request(op.method.upper(), path, body)

    assert reply.status == 422, str(reply)
    assert name in reply.json["errors"]
    if before is not None:
        assert owner.client.get(path).body == before.body
