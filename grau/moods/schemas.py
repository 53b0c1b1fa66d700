"""Mood tag and mood schemas: create, update, read, page and list query of each."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.http.fields import FullMatch, Text, Timestamp, WholeNumber, client_id, one_of
from grau.http.pages import PageArgs, page_schema, sort_field
from grau.http.schemas import Schema, ServerTimestamps
from grau.moods.models import MOOD_LABELS, TAG_CATEGORIES

# A mood with more tags than this is a client bug, not a day; it also bounds
# the `IN (...)` list that resolves them.
MAX_TAGS_PER_MOOD = 50
LABEL_MAX = 50  # mood_tags.label is VARCHAR(50)
ICON_MAX = 64  # mood_tags.icon is VARCHAR(64)
# At least one visible character and no NUL; linear, so a long blank string
# costs nothing to refuse.
VISIBLE = FullMatch(
    r"^\s*[^\s\u0000][^\u0000]*$", error="Must contain a visible character and no NUL."
)
VALUE_DOC = ", ".join(f"{value} {label}" for value, label in enumerate(MOOD_LABELS))

# ------------------------------------------------------------------------ mood tags

CATEGORY = {
    "description": "What kind of thing the tag names.",
    "example": "weather",
}
LABEL = {
    "description": f"The tag's name, unique among the user's tags (exact match), "
    f"1 to {LABEL_MAX} characters with at least one visible one.",
    "example": "Rainy",
}
ICON = {
    "description": f"An emoji or icon name shown with the tag, up to {ICON_MAX} characters.",
    "example": "cloud-rain",
}


def _label(**kwargs: Any) -> fields.String:
    return Text(min_length=1, max_length=LABEL_MAX, validate=VISIBLE, metadata=LABEL, **kwargs)


def _icon(**kwargs: Any) -> fields.String:
    return Text(max_length=ICON_MAX, allow_none=True, metadata=ICON, **kwargs)


class MoodTagCreate(Schema):
    """A new tag."""

    id = client_id()

    category = one_of(TAG_CATEGORIES, required=True, metadata=CATEGORY)
    label = _label(required=True)
    icon = _icon()


class MoodTagUpdate(Schema):
    """A partial change: only the fields sent change."""

    category = one_of(TAG_CATEGORIES, metadata=CATEGORY)
    label = _label()
    icon = _icon()


class MoodTag(ServerTimestamps):
    """A tag as stored."""

    id = fields.UUID(
        dump_only=True,
        metadata={
            "description": "The tag's id.",
            "example": "0c5e2d8a-7f41-4b1e-9d3a-2e6f8b7c1a90",
        },
    )
    category = one_of(TAG_CATEGORIES, dump_only=True, metadata=CATEGORY)
    label = _label(dump_only=True)
    icon = _icon(dump_only=True)


MoodTagPage = page_schema(MoodTag, "MoodTagPage")
TAG_SORTS = ("label", "-label", "category", "-category", "created_at", "-created_at")


class MoodTagQuery(PageArgs):
    """Filters and order for the tag list."""

    category = one_of(
        TAG_CATEGORIES,
        metadata={"description": "Only tags of this category.", "example": "weather"},
    )
    sort = sort_field(TAG_SORTS, "label")


# ---------------------------------------------------------------------------- moods

VALUE = {
    "description": f"How the user felt, 0 to 6: {VALUE_DOC}.",
    "example": 4,
}
MOOD_LABEL = {
    "description": f"The name of `value` ({VALUE_DOC}); set by the server.",
    "example": "good",
}
NOTE = {"description": "Free text, up to 1000 characters.", "example": "Long walk after work"}
RECORDED_AT = {
    "description": "When the user felt this (RFC 3339 with offset).",
    "example": "2026-11-20T19:30:00+01:00",
}
TAG_IDS = {
    "description": "Ids of the user's own mood tags on this mood, each at most once "
    f"(up to {MAX_TAGS_PER_MOOD}). Sending it replaces the whole set; `[]` removes every "
    "tag. An id that is not one of the user's tags is refused with 422 on `tag_ids`. "
    "Returned ordered by label (by Unicode code point, whatever the database).",
    "example": ["0c5e2d8a-7f41-4b1e-9d3a-2e6f8b7c1a90"],
    # States what `_distinct` enforces, so generated clients and fuzzers know it.
    "uniqueItems": True,
}


def _value(*, query: bool = False, **kwargs: Any) -> fields.Integer:
    """A mood value: a JSON integer in bodies, digits in a query string."""
    field = fields.Integer if query else WholeNumber
    return field(validate=validate.Range(min=0, max=len(MOOD_LABELS) - 1), **kwargs)


def _distinct(ids: list[uuid.UUID]) -> None:
    if len(set(ids)) != len(ids):
        raise ma.ValidationError("Each tag id at most once.")


def _tag_ids(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.UUID(),
        validate=[validate.Length(max=MAX_TAGS_PER_MOOD), _distinct],
        # No ids in the example: a tag is the user's own, so none would exist for a reader.
        metadata={**TAG_IDS, "example": []},
        **kwargs,
    )


class TagIds(fields.List):
    """A mood's tags as ids, ordered by label.

    Sorted here rather than by the database: a write's response (tags as
    assigned) and a later read (tags as loaded) then agree, whatever the
    database's collation.
    """

    def __init__(self) -> None:
        super().__init__(
            fields.UUID(),
            attribute="tags",
            dump_only=True,
            validate=validate.Length(max=MAX_TAGS_PER_MOOD),
            metadata=TAG_IDS,
        )

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        ordered = sorted(value or (), key=lambda tag: (tag.label, str(tag.id)))
        return super()._serialize([tag.id for tag in ordered], attr, obj, **kwargs)


class MoodCreate(Schema):
    """A new mood entry."""

    id = client_id()

    value = _value(required=True, metadata=VALUE)
    recorded_at = Timestamp(required=True, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)
    tag_ids = _tag_ids()


class MoodUpdate(Schema):
    """A partial change: only the fields sent change (`tag_ids` as a whole)."""

    value = _value(metadata=VALUE)
    recorded_at = Timestamp(metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, metadata=NOTE)
    tag_ids = _tag_ids()


class Mood(ServerTimestamps):
    """A mood entry as stored."""

    id = fields.UUID(
        dump_only=True,
        metadata={
            "description": "The mood's id.",
            "example": "7d3f9b2c-5a1e-4c8d-b6f0-1e2a3b4c5d6e",
        },
    )
    value = _value(dump_only=True, metadata=VALUE)
    label = one_of(MOOD_LABELS, dump_only=True, metadata=MOOD_LABEL)
    recorded_at = Timestamp(dump_only=True, bounded=False, metadata=RECORDED_AT)
    note = Text(max_length=1000, allow_none=True, dump_only=True, metadata=NOTE)
    tag_ids = TagIds()


MoodPage = page_schema(Mood, "MoodPage")
MOOD_SORTS = ("recorded_at", "-recorded_at", "value", "-value", "created_at", "-created_at")


class MoodQuery(PageArgs):
    """Filters and order for the mood list."""

    recorded_from = Timestamp(
        bounded=False,
        metadata={
            "description": "Only moods recorded at or after this moment.",
            "example": "2026-11-01T00:00:00+01:00",
        },
    )
    recorded_to = Timestamp(
        bounded=False,
        metadata={
            "description": "Only moods recorded at or before this moment; not before "
            "`recorded_from`.",
            "example": "2026-11-30T23:59:59+01:00",
        },
    )
    tag_id = fields.UUID(
        metadata={
            "description": "Only moods carrying this tag (an id that is not one of the "
            "user's tags matches nothing).",
            "example": "0c5e2d8a-7f41-4b1e-9d3a-2e6f8b7c1a90",
        }
    )
    value_min = _value(
        query=True, metadata={"description": "Only moods with at least this value.", "example": 0}
    )
    value_max = _value(
        query=True,
        metadata={
            "description": "Only moods with at most this value; not below `value_min`. "
            "Equal to `value_min` for one exact value.",
            "example": 2,
        },
    )
    sort = sort_field(MOOD_SORTS, "-recorded_at")

    @ma.validates_schema
    def _ranges(self, data: dict[str, Any], **_: Any) -> None:
        errors = {}
        start, end = data.get("recorded_from"), data.get("recorded_to")
        if start is not None and end is not None and start > end:
            errors["recorded_to"] = ["Must not be before recorded_from."]
        low, high = data.get("value_min"), data.get("value_max")
        if low is not None and high is not None and low > high:
            errors["value_max"] = ["Must not be below value_min."]
        if errors:
            raise ma.ValidationError(errors)
