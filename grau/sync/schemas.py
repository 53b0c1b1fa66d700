"""The changes feed's query and page."""

from __future__ import annotations

from marshmallow import fields, validate

from grau.http.schemas import Schema, Text, Timestamp, one_of
from grau.sync.service import RESOURCES, SCOPES

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
CURSOR_MAX = 512
EXAMPLE_CURSOR = "WyIzZjJjLi4uIiwxMjA0LCJib2R5X3N0YXQiLCIuLi4iLDE3OTY1MDAwMDBd.c2lnbmF0dXJl"


class ChangesQuery(Schema):
    cursor = Text(
        max_length=CURSOR_MAX,
        metadata={
            "description": "The `next_cursor` of the last page read: the changes since. "
            "Leave it out to read everything there is, from the start.",
            "example": EXAMPLE_CURSOR,
        },
    )
    limit = fields.Integer(
        load_default=LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=LIMIT_MAX),
        metadata={"description": f"Changes per page (at most {LIMIT_MAX}).", "example": 100},
    )
    scope = one_of(
        SCOPES,
        load_default="user",
        metadata={
            "description": "`user`: everything the signed-in user owns. `catalog`: grau's "
            "own exercises and equipment, which every user reads (their own feed).",
            "example": "user",
        },
    )


class Change(Schema):
    """One item that changed: as its own GET shows it now, or that it was deleted."""

    COMPLETE = True

    resource = one_of(
        RESOURCES,
        metadata={"description": "What kind of item: which GET shows it.", "example": "body_stat"},
    )
    id = fields.UUID(
        metadata={
            "description": "The item's id.",
            "example": "8a3c1f62-2d4b-4e8f-9c1a-5b7d9e0f1a2b",
        }
    )
    op = one_of(
        ("upsert", "delete"),
        metadata={
            "description": "`upsert`: store `data` under this id (new or changed). "
            "`delete`: remove the item with this id, if you have it.",
            "example": "upsert",
        },
    )
    version = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "The item's version (null for a delete).", "example": 3},
    )
    changed_at = Timestamp(
        bounded=False,
        metadata={
            "description": "When the server made this change (UTC).",
            "example": "2026-11-21T18:02:44.090000+00:00",
        },
    )
    data = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The item exactly as its own GET returns it; null for a delete.",
            "example": {"id": "8a3c1f62-2d4b-4e8f-9c1a-5b7d9e0f1a2b", "type": "weight"},
        },
    )


class ChangesPage(Schema):
    """A page of the feed, oldest change first."""

    COMPLETE = True

    changes = fields.List(
        fields.Nested(Change),
        validate=validate.Length(max=LIMIT_MAX),
        metadata={"description": "This page's changes, in the order they were made."},
    )
    next_cursor = Text(
        max_length=CURSOR_MAX,
        metadata={
            "description": "Send it as `cursor` to read on. The last page's is the one to "
            "keep for the next sync.",
            "example": EXAMPLE_CURSOR,
        },
    )
    has_more = fields.Boolean(
        metadata={"description": "Whether more changes follow right now.", "example": False}
    )
