"""Health and readiness reports."""

from __future__ import annotations

from marshmallow import fields, validate

from grau.http.schemas import Schema


class Health(Schema):
    """The process is up."""

    COMPLETE = True

    status = fields.String(validate=validate.OneOf(["ok"]), metadata={"example": "ok"})


class DependencyCheck(Schema):
    """The state of one dependency."""

    JSON_SCHEMA = {"required": ["status"]}

    status = fields.String(
        validate=validate.OneOf(["ok", "down", "disabled"]), metadata={"example": "ok"}
    )
    detail = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Why it is not ok.", "example": "timeout"},
    )


class Readiness(Schema):
    """Whether this instance can serve traffic, and the state of what it depends on."""

    COMPLETE = True

    status = fields.String(
        validate=validate.OneOf(["ok", "degraded"]),
        metadata={
            "description": "`ok`, or `degraded`: Redis is down and the API answers "
            "from the database (slower, still correct).",
            "example": "ok",
        },
    )
    database = fields.Nested(DependencyCheck)
    redis = fields.Nested(DependencyCheck)
