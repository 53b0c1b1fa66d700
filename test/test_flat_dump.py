"""`FlatDump`, the fast `schema.dump`: the same JSON bytes as marshmallow's, for every item
schema of grau, on many rows of edge values."""

from __future__ import annotations

import gc
import pickle
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import pytest

import app  # noqa: F401 (imports every blueprint, and so every Resource)
from grau.core.units import InUnit
from grau.http.fields import Number, Text, Timestamp
from grau.http.schemas import PLAIN_CONVERSIONS, FlatDump
from grau.http.views import Resource, _dumps

# Every Resource the route modules built (they are module globals, found where they live).
RESOURCES = sorted(
    (r for r in gc.get_objects() if isinstance(r, Resource)), key=lambda r: r.endpoint
)
FLAT = [r for r in RESOURCES if r.dump.steps is not None]

TEXTS = ["", "kg", "Ünïcødé ✓ 🏋", 'quote " backslash \\ newline \n tab \t', "\x01\x1f", "x" * 1000]
FLOATS = [0.0, -0.0, 72.4, 70, 1e-7, 1e16, 123456789.123456789, 5e-324, 1.7976931348623157e308]
INTEGERS = [0, 1, -5, 2**53 + 1]
MOMENTS = [
    datetime(2026, 1, 1, 8, tzinfo=UTC),
    datetime(2026, 1, 1, 8, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 15, 512000, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
    datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1900, 1, 1, tzinfo=UTC),
    datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def values_for(field: ma.fields.Field, rng: random.Random) -> Any:
    kind = type(field)
    if rng.random() < 0.15:
        return None
    if kind in (ma.fields.String, Text):
        return rng.choice(TEXTS)
    if kind is ma.fields.UUID:
        return uuid.UUID(int=rng.getrandbits(128))
    if kind in (ma.fields.Float, Number):
        return rng.choice(FLOATS) * rng.choice([1, -1])
    if kind is Timestamp:
        return rng.choice(MOMENTS)
    return rng.choice(INTEGERS)


def rows(resource: Resource, count: int) -> list[Any]:
    rng = random.Random(resource.endpoint)
    found = []
    for n in range(count):
        attributes = {
            field.attribute or name: values_for(field, rng)
            for name, field in resource.schema.dump_fields.items()
        }
        if n % 10 == 0:  # now and then an attribute the item lacks: left out of both
            attributes.pop(rng.choice(sorted(attributes)))
        found.append(SimpleNamespace(**attributes))
    return found


def test_the_item_schemas_of_owned_entries_are_dumped_flat() -> None:
    assert {r.endpoint for r in FLAT} >= {
        "body-stats.BodyStat",
        "mood-tags.MoodTag",
        "nutrition-entries.Entry",
        "workouts.WorkoutSetItem",
    }


# Both of a Resource's flat dumps: marshmallow's dict, and the one only orjson writes.
DUMPS = ["dump", "dump_for_orjson"]


@pytest.mark.parametrize("kind", DUMPS)
@pytest.mark.parametrize("resource", FLAT, ids=lambda r: r.endpoint)
def test_a_flat_dump_is_marshmallows_byte_for_byte(resource: Resource, kind: str) -> None:
    dump = getattr(resource, kind)
    for item in rows(resource, 2000):
        assert _dumps(dump(item)) == _dumps(resource.schema.dump(item)), vars(item)


@pytest.mark.parametrize("kind", DUMPS)
@pytest.mark.parametrize("resource", FLAT, ids=lambda r: r.endpoint)
def test_a_flat_page_is_marshmallows_byte_for_byte(resource: Resource, kind: str) -> None:
    items = rows(resource, 100)
    dumped = getattr(resource, kind).many(items)
    assert _dumps(dumped) == _dumps(resource.schema.dump(items, many=True))


@pytest.mark.parametrize("kind", DUMPS)
def test_an_item_shown_in_another_unit_dumps_as_marshmallow_dumps_it(kind: str) -> None:
    stats = next(r for r in FLAT if r.endpoint == "body-stats.BodyStat")
    stored = rows(stats, 1)[0]
    stored.type, stored.value, stored.unit = "weight", 72.4, "kg"
    shown = InUnit(stored, "lb")
    assert _dumps(getattr(stats, kind)(shown)) == _dumps(stats.schema.dump(shown))


def test_the_plain_dump_gives_json_types_only() -> None:
    """`dump` (exports, the sync feed) holds what any JSON or CSV writer takes; only the
    `dump_for_orjson` leaves UUIDs and datetimes as they are."""
    stats = next(r for r in FLAT if r.endpoint == "body-stats.BodyStat")
    for item in rows(stats, 200):
        for value in stats.dump(item).values():
            assert value is None or type(value) in (str, int, float), value


class WithHook(ma.Schema):
    name = ma.fields.String()

    @ma.post_dump
    def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"name": data["name"].upper()}


class Nested(ma.Schema):
    inner = ma.fields.Nested(WithHook)


class Upper(ma.fields.String):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return str(value).upper()


class Subclassed(ma.Schema):
    name = Upper()


@pytest.mark.parametrize("schema", [WithHook(), Nested(), Subclassed()])
def test_what_is_not_flat_is_left_to_marshmallow(schema: ma.Schema) -> None:
    item = SimpleNamespace(name="ana", inner=SimpleNamespace(name="ana"))
    dump = FlatDump(schema)
    assert dump.steps is None
    assert dump(item) == schema.dump(item)


def test_a_mapping_is_left_to_marshmallow() -> None:
    stats = next(r for r in FLAT if r.endpoint == "body-stats.BodyStat")
    item = {"id": uuid.uuid4(), "type": "weight", "note": None}
    assert stats.dump(item) == stats.schema.dump(item)


def test_every_plain_conversion_is_what_marshmallow_does() -> None:
    for kind, convert in PLAIN_CONVERSIONS.items():
        field = kind()
        value = {str: "x", float: 72.4, int: 7}.get(convert, MOMENTS[2])  # type: ignore[call-overload]
        if kind is ma.fields.UUID:
            value = uuid.uuid4()
        assert convert(value) == field.serialize("v", {"v": value})


class _OneField(ma.Schema):
    name = ma.fields.String()


class _NoField(ma.Schema):
    pass


@pytest.mark.parametrize("schema", [_OneField(), _NoField()], ids=["one field", "no field"])
@pytest.mark.parametrize("item", [SimpleNamespace(name=7), SimpleNamespace()], ids=["has", "lacks"])
def test_a_schema_of_one_field_or_none_dumps_as_marshmallow(schema: ma.Schema, item: Any) -> None:
    for for_orjson in (False, True):
        assert FlatDump(schema, for_orjson=for_orjson)(item) == schema.dump(item)


@pytest.mark.parametrize(
    "attribute",
    ["with-dash", "class", "\ufb01le"],  # (the ligature: Python reads `ﬁle` as `file`)
    ids=["not an identifier", "a keyword", "normalized by Python"],
)
def test_attributes_no_function_can_name_are_read_step_by_step(attribute: str) -> None:
    class Odd(ma.Schema):
        plain = ma.fields.String()
        odd = ma.fields.String(attribute=attribute)

    schema = Odd()
    item = SimpleNamespace(plain="a", file="wrong", **{attribute: "b"})
    dump = FlatDump(schema)
    assert dump.steps is not None and dump._written is None
    assert dump(item) == schema.dump(item) == {"plain": "a", "odd": "b"}


class _ConvertedThenRead(ma.Schema):
    value = ma.fields.Float()
    later = ma.fields.String()


def _failing(name: str, error: Exception, **plain: Any) -> Any:
    """An item whose attribute `name` is a property raising `error`, and `plain` ones."""

    def fail(_item: Any) -> Any:
        raise error

    return type("Item", (), {**plain, name: property(fail)})()


def test_a_failing_conversion_fails_before_a_later_field_is_read() -> None:
    item = _failing("later", RuntimeError("read too early"), value="not a number")
    for dump in (FlatDump(_ConvertedThenRead()), _ConvertedThenRead().dump):
        with pytest.raises(ValueError):
            dump(item)


def test_a_resource_pickles_with_its_dumps() -> None:
    stats = next(r for r in FLAT if r.endpoint == "body-stats.BodyStat")
    again = pickle.loads(pickle.dumps(stats.dump_for_orjson))
    item = rows(stats, 1)[0]
    assert again(item) == stats.dump_for_orjson(item) and again._written is not None


def test_a_property_that_fails_is_left_out_as_marshmallow_leaves_it() -> None:
    class WithBroken(ma.Schema):
        plain = ma.fields.String()
        broken = ma.fields.String()

    item = _failing("broken", AttributeError("computed from something missing"), plain="a")
    schema = WithBroken()
    assert FlatDump(schema)(item) == schema.dump(item) == {"plain": "a"}
