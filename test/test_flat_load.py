"""grau's Schema loads a request body without marshmallow's per-field wrapping, and gives
what marshmallow gives: the same dict for a body it takes, marshmallow's own errors for
one it refuses (every other test compares the two on each body it loads: conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import pytest
from conftest import MARSHMALLOW_DESERIALIZE
from marshmallow import fields

from grau.body_stats.schemas import BodyStatCreate
from grau.http.schemas import Schema

BODY = {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": "2026-11-30T07:00:00Z"}


@pytest.fixture
def marshmallow_loops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The bodies that went through marshmallow's own loop."""
    loops: list[Any] = []

    def counted(self: ma.Schema, data: Any, **kwargs: Any) -> Any:
        loops.append(data)
        return MARSHMALLOW_DESERIALIZE(self, data, **kwargs)

    monkeypatch.setattr(ma.Schema, "_deserialize", counted)
    yield loops


def _marshmallows(schema: ma.Schema, data: Any, **kwargs: Any) -> Any:
    """What marshmallow alone makes of `data`: the result, or its error messages."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Schema, "_deserialize", MARSHMALLOW_DESERIALIZE)
        return _loaded(schema, data, **kwargs)


def _loaded(schema: ma.Schema, data: Any, **kwargs: Any) -> Any:
    try:
        return schema.load(data, **kwargs)
    except ma.ValidationError as error:
        return error.messages


def test_a_body_of_known_valid_fields_skips_marshmallows_loop(marshmallow_loops: list[Any]) -> None:
    loaded = BodyStatCreate().load(dict(BODY, note="after a run"))
    assert loaded == {
        "type": "weight",
        "value": 72.5,
        "unit": "kg",
        "recorded_at": datetime(2026, 11, 30, 7, tzinfo=UTC),
        "note": "after a run",
    }
    assert marshmallow_loops == []


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        (dict(BODY, colour="red"), {}),  # an unknown field
        (dict(BODY, value="heavy"), {}),  # a value its field refuses
        (dict(BODY, recorded_at=None), {}),
        ({k: v for k, v in BODY.items() if k != "unit"}, {}),  # a required field missing
        ({"note": "only this"}, {"partial": True}),
        ([BODY, BODY], {"many": True}),
        ("not an object", {}),
    ],
)
def test_every_other_load_is_marshmallows_own(
    marshmallow_loops: list[Any], data: Any, kwargs: dict[str, Any]
) -> None:
    schema = BodyStatCreate()
    assert _loaded(schema, data, **kwargs) == _marshmallows(schema, data, **kwargs)
    assert marshmallow_loops


class Renamed(Schema):
    """Fields whose body key, result key and default differ from their names."""

    sent_as = fields.String(data_key="sentAs", attribute="stored_as")
    counted = fields.Integer(load_default=3)
    plain = fields.String()
    shown = fields.String(dump_only=True)


@pytest.mark.parametrize(
    "data",
    [
        {"sentAs": "a", "plain": "b"},
        {"counted": 7},
        {},
        {"sent_as": "a"},  # the attribute's name is not the body's key
        {"shown": "x"},  # a field only dumped is unknown to a load
        {"counted": "seven"},
    ],
)
def test_keys_defaults_and_fields_only_dumped_load_as_marshmallow_loads_them(
    data: dict[str, Any],
) -> None:
    schema = Renamed()
    assert repr(_loaded(schema, data)) == repr(_marshmallows(schema, data))


class Dotted(Schema):
    inner = fields.String(attribute="outer.inner")


def test_a_dotted_attribute_is_nested_by_marshmallow(marshmallow_loops: list[Any]) -> None:
    assert Dotted().load({"inner": "x"}) == {"outer": {"inner": "x"}}
    assert marshmallow_loops


class Inner(Schema):
    name = fields.String()
    secret = fields.String()


def test_a_copy_with_fewer_fields_loads_only_those() -> None:
    """A Nested field's `only` copies the schema instance and sets its fields again: the
    copy must not keep the loop its original made when it first loaded a body."""
    inner = Inner()
    assert inner.load({"name": "a", "secret": "s"}) == {"name": "a", "secret": "s"}

    class Outer(Schema):
        child = fields.Nested(inner, only=("name",))

    data = {"child": {"name": "a", "secret": "s"}}
    assert _loaded(Outer(), data) == _marshmallows(Outer(), data)
    assert _loaded(Outer(), data) == {"child": {"secret": ["Unknown field."]}}


def test_a_list_of_bodies_reports_each_refused_one_as_marshmallow_does() -> None:
    data = [{"name": 1}, {"name": "fine"}, {"secret": 2}]
    assert _loaded(Inner(many=True), data) == _marshmallows(Inner(many=True), data)
