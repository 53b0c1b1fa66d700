"""OWASP API1 (BOLA), generated from the spec: another user's items are a 404, on every path.

User A owns one item of every resource in the spec; user B owns one too.
B then calls every operation on every path that names one of A's items
(alone, or mixed with B's own ids on nested paths) with a request that would
be valid for B's own item: each is a 404, and A's data reads the same
before and after. B's lists and summaries never show an id of A's, even
when B filters by one. A body of B's that references A's item (a tag, an
exercise, equipment) is a 422 naming the field. A resource or path added
to the spec is covered with no new test code.
"""

from __future__ import annotations

import itertools
import json

import pytest
from client import PROBLEM_JSON
from conftest import SPEC, User, fill

from contract.spec.walk import Operation, set_at

# Every protected operation on a path with ids, once per mix of owners with A in it.
FOREIGN_CALLS = [
    (op, owners)
    for op in SPEC.operations
    if op.protected and op.params
    for owners in itertools.product("AB", repeat=len(op.params))
    if "A" in owners
]
# Reads without ids: lists, summaries, the profile.
COLLECTION_READS = [op for op in SPEC.operations if op.method == "get" and not op.params]
REFERENCING = [
    (op, ref)
    for op in SPEC.operations
    if op.protected and op.method in ("post", "put", "patch")
    for ref in SPEC.references(op)
]


def _call_id(call: tuple[Operation, tuple[str, ...]]) -> str:
    op, owners = call
    return f"{op.id}[{''.join(owners)}]"


def _path(op: Operation, owners: tuple[str, ...], owner: User, intruder: User) -> str:
    users = {"A": owner, "B": intruder}
    return fill(op.path, {p: users[o].ids[p] for p, o in zip(op.params, owners, strict=True)})


def _as_intruder(op: Operation, owners: tuple[str, ...], owner: User, intruder: User):
    body = SPEC.create_body(op, intruder.ids)
    return intruder.client.request(op.method.upper(), _path(op, owners, owner, intruder), body)


def _snapshot(owner: User) -> dict[str, object]:
    """Every read of A's: items, nested lists and every list and summary, with ETags."""
    seen: dict[str, object] = {}
    for op in SPEC.operations:
        if op.method != "get" or not op.protected:
            continue
        path = fill(op.path, owner.ids)
        query = {"page_size": 100} if _takes(op, "page_size") else None
        reply = owner.client.get(path, query=query)
        body = reply.json
        if isinstance(body, dict) and "next_cursor" in body:
            # The changes feed: a cursor is stamped when issued, so it (and the ETag of a
            # page that holds it) differ from call to call; the changes must not.
            seen[path] = (reply.status, body["changes"])
            continue
        if isinstance(body, dict) and "exported_at" in body:
            # The export: stamped with when it was made; everything it holds must not move.
            seen[path] = (reply.status, {k: v for k, v in body.items() if k != "exported_at"})
            continue
        seen[path] = (reply.status, reply.headers.get("ETag"), body)
    return seen


def _takes(op: Operation, name: str) -> bool:
    return any(SPEC.resolve(p).get("name") == name for p in op.raw.get("parameters", []))


def _ids_of(owner: User) -> set[str]:
    return set(owner.ids.values())


def test_every_resource_in_the_spec_was_created(owner: User):
    assert set(owner.ids) == set(SPEC.item_paths())


@pytest.mark.parametrize("call", FOREIGN_CALLS, ids=map(_call_id, FOREIGN_CALLS))
def test_another_users_item_is_a_404(owner: User, intruder: User, call):
    op, owners = call

    reply = _as_intruder(op, owners, owner, intruder)

    assert reply.status == 404, str(reply)
    assert reply.content_type == PROBLEM_JSON


def test_another_users_attempts_change_nothing(owner: User, intruder: User):
    before = _snapshot(owner)
    for op, owners in FOREIGN_CALLS:
        if op.method != "get":
            _as_intruder(op, owners, owner, intruder)

    after = _snapshot(owner)

    assert after == before


@pytest.mark.parametrize("op", COLLECTION_READS, ids=[op.id for op in COLLECTION_READS])
def test_lists_never_show_another_users_items(owner: User, intruder: User, op: Operation):
    query = {"page_size": 100} if _takes(op, "page_size") else {}
    # Filters that name an item (a tag, equipment) get A's id: still nothing of A's.
    filters = {
        name: owner.ids[param]
        for p in op.raw.get("parameters", [])
        if (name := SPEC.resolve(p)["name"]) and (param := SPEC.reference_param(name))
    }

    replies = [
        intruder.client.get(op.path, query={**query, **filters} if f else query or None)
        for f in ([False, True] if filters else [False])
    ]

    for reply in replies:
        assert reply.status < 500, str(reply)
        leaked = {i for i in _ids_of(owner) if i.encode() in reply.body}
        assert leaked == set(), f"{reply} shows A's {sorted(leaked)}"


@pytest.mark.parametrize(
    ("op", "ref"),
    REFERENCING,
    ids=[f"{op.id}:{'.'.join(map(str, r.where))}" for op, r in REFERENCING],
)
def test_a_body_referencing_another_users_item_is_a_422(owner: User, intruder: User, op, ref):
    body = SPEC.create_body(op, intruder.ids)
    foreign = owner.ids[ref.param]
    was_list = isinstance(_get(body, ref.where), list)
    body = set_at(body, ref.where, [foreign] if was_list else foreign)

    reply = intruder.client.request(op.method.upper(), fill(op.path, intruder.ids), body)

    assert reply.status == 422, str(reply)
    assert ref.field in (reply.json.get("errors") or {}), json.dumps(reply.json)


def _get(body, where):
    for key in where:
        body = body[key]
    return body
