"""The changes feed's query and page."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from grau.http.fields import COUNT_MAX, FullMatch, StrictBoolean, Text, Timestamp, one_of
from grau.http.openapi import IDEMPOTENCY_KEY_PATTERN
from grau.http.schemas import Schema
from grau.sync.batch import MAX_OPERATIONS, METHODS, not_batchable
from grau.sync.service import RESOURCES, SCOPES

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
CURSOR_MAX = 512
PATH_MAX = 512
BODY_FIELDS_MAX = 64  # more fields than any request body of the API has
HEADER_MAX = 200
EXAMPLE_CURSOR = "WyIzZjJjLi4uIiwxMjA0LCJib2R5X3N0YXQiLCIuLi4iLDE3OTY1MDAwMDBd.c2lnbmF0dXJl"


class ChangesQuery(Schema):
    cursor = Text(
        min_length=1,
        max_length=CURSOR_MAX,
        metadata={
            "description": "The `next_cursor` of the last page read (an opaque string): "
            "the changes since. Leave it out to read everything there is, from the start.",
            # No example: a made-up cursor is not one grau signed (410), and documentation
            # tools would send it.
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
        validate=validate.Range(min=1, max=COUNT_MAX),
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


# --------------------------------------------------------------------------- batch


def _few_fields(body: dict[str, Any]) -> None:
    if len(body) > BODY_FIELDS_MAX:
        raise ma.ValidationError(f"At most {BODY_FIELDS_MAX} fields.")


class BatchOperation(Schema):
    """One write, as the request it stands for."""

    method = one_of(
        METHODS, required=True, metadata={"description": "Its method.", "example": "POST"}
    )
    path = Text(
        required=True,
        max_length=PATH_MAX,
        # Visible ASCII only: anything else in a path is percent-encoded, as on the wire.
        validate=FullMatch(
            r"^/v1/[\x21-\x7e]*$",
            error="Must be a path of the API, starting with /v1/, in visible ASCII "
            "(percent-encode anything else).",
        ),
        metadata={
            "description": "Its path, as in the single request (ids chosen by the app for "
            "items an earlier operation creates work here).",
            "example": "/v1/body-stats",
        },
    )
    body = fields.Dict(
        allow_none=True,
        validate=_few_fields,
        metadata={
            "maxProperties": BODY_FIELDS_MAX,
            "description": "Its JSON body (a create's or a change's), if it has one: "
            "checked as that request's body when the operation runs.",
            "x-checked-as": "the request body of the operation's method and path",
            "example": {
                "type": "weight",
                "value": 72.4,
                "unit": "kg",
                "recorded_at": "2026-11-20T07:30:00+01:00",
            },
        },
    )
    if_match = Text(
        max_length=HEADER_MAX,
        allow_none=True,
        # What a header can carry: printable ASCII (an ETag, or a list of them).
        validate=FullMatch(r"^[\x21-\x7e][\x20-\x7e]*$", error="Not a valid If-Match."),
        metadata={"description": "Its If-Match header.", "example": None},
    )
    idempotency_key = Text(
        max_length=255,
        allow_none=True,
        validate=FullMatch(IDEMPOTENCY_KEY_PATTERN, error="1 to 255 visible ASCII characters."),
        metadata={
            "description": "Its Idempotency-Key header.",
            "example": "5b0e7c1a-8d3f-4e2b-9a6c-1f0d2e3c4b5a",
        },
    )

    @ma.validates_schema
    def _batchable(self, data: dict[str, Any], **_: Any) -> None:
        reason = not_batchable(data.get("method", ""), data.get("path", ""))
        if reason and "path" in data:
            raise ma.ValidationError({"path": [reason]})


class Batch(Schema):
    """Writes to run in order, in one request."""

    operations = fields.List(
        fields.Nested(BatchOperation),
        required=True,
        validate=validate.Length(min=1, max=MAX_OPERATIONS),
        metadata={"description": f"1 to {MAX_OPERATIONS} operations, run in this order."},
    )
    atomic = StrictBoolean(
        load_default=False,
        metadata={
            "description": "`true`: all or nothing, in one transaction; the first failure "
            "undoes the others and stops the batch. `false` (default): each operation "
            "stands alone.",
            "example": False,
        },
    )


class BatchResult(Schema):
    """What one operation got: the answer its single request would have got."""

    COMPLETE = True

    status = fields.Integer(
        validate=validate.Range(min=100, max=599),
        metadata={
            "description": "Its status. 424: not applied, because an atomic batch failed.",
            "example": 201,
        },
    )
    headers = fields.Dict(
        keys=fields.String(validate=validate.Length(max=64)),
        values=fields.String(validate=validate.Length(max=2048)),
        metadata={
            "description": "Its answer's ETag, Location, Idempotent-Replayed, Retry-After "
            "and rate-limit headers, where it had them.",
            "example": {"ETag": '"3f2a9c0d1b7e4f6a8c21"', "Location": "/v1/body-stats/..."},
        },
    )
    body = fields.Raw(
        allow_none=True,
        metadata={
            "description": "Its answer's JSON body (null for a 204): the item, or a problem.",
            "example": {"id": "6f1c2b7e-4d0a-4b8e-9a35-2c7d1e9f0b14"},
        },
    )


class BatchAnswer(Schema):
    """One result per operation, in order."""

    COMPLETE = True

    committed = fields.Boolean(
        metadata={
            "description": "Whether the operations' changes were kept: false only for an "
            "atomic batch that failed (then none were).",
            "example": True,
        }
    )
    results = fields.List(
        fields.Nested(BatchResult),
        validate=validate.Length(max=MAX_OPERATIONS),
        metadata={"description": "One result per operation, in the order they were sent."},
    )
