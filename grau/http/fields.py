"""Field types every resource shares: safe text, strict numbers, bounded timestamps, ids."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

# Fields that accept a datetime refuse ones this far from today: a typo or a
# fuzzer, not a measurement (and PostgreSQL's range stops at year 294276).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)

# The bounds the spec states for what every field of a kind holds (grau.http.openapi.bounds):
# a count, position or version fits PostgreSQL's integer; a timestamp as text is at most
# this long (RFC 3339 with microseconds and an offset is 32 characters; longer is refused).
COUNT_MAX = 2**31 - 1
TIMESTAMP_MAX_LENGTH = 64
PROBLEM_TEXT_MAX = 2000  # a problem's detail and instance are cut to this length


class FullMatch(validate.Regexp):
    """A Regexp over the whole string. Python's `$` also matches before a final
    newline, JSON Schema's does not: the spec's pattern is the rule."""

    def __init__(self, regex: str, *, error: str) -> None:
        super().__init__(regex, error=error)
        self.whole = re.compile(regex)

    def __call__(self, value: str) -> str:  # type: ignore[override]
        if self.whole.fullmatch(value) is None:
            raise ma.ValidationError(self.error.format(input=value, regex=self.whole.pattern))
        return value


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")


# The spec's statement of `_no_nul`, so generated clients and fuzzers know it.
NO_NUL_PATTERN = r"^[^\u0000]*$"


class Text(fields.String):
    """A string with a length cap and no NUL bytes (PostgreSQL rejects them)."""

    def __init__(self, *, max_length: int = 255, min_length: int = 0, **kwargs: Any) -> None:
        validators: list[Any] = [validate.Length(min=min_length, max=max_length), _no_nul]
        extra = kwargs.pop("validate", None)
        if extra is not None:
            validators.extend(extra if isinstance(extra, list) else [extra])
        if not any(isinstance(v, validate.Regexp) for v in validators):
            # A Regexp validator documents its own pattern, which excludes NUL already.
            kwargs["metadata"] = {"pattern": NO_NUL_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(validate=validators, **kwargs)


class Number(fields.Float):
    """A JSON number: unlike marshmallow's Float, refuses "72.5" and true."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class WholeNumber(fields.Integer):
    """JSON Schema's `integer`: `4` and `4.0` (no fraction), never `4.5`, `"4"` or `true`.

    marshmallow's strict Integer also refuses `4.0`, which the spec calls an
    integer; its lax one takes `"4"`, which the spec does not.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return int(value)


class StrictBoolean(fields.Boolean):
    """A JSON true or false: marshmallow's Boolean also takes 1, "yes" and "on"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _not_too_far(value: datetime) -> None:
    if value < EARLIEST:
        raise ma.ValidationError("Must not be before 1900-01-01.")
    if value > datetime.now(UTC) + FUTURE_SKEW:
        raise ma.ValidationError("Must not be in the future.")


class Timestamp(fields.AwareDateTime):
    """An RFC 3339 timestamp with an offset; naive input is refused, output is UTC."""

    def __init__(self, *, bounded: bool = True, **kwargs: Any) -> None:
        if bounded:
            kwargs.setdefault("validate", _not_too_far)
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str) and len(value) > TIMESTAMP_MAX_LENGTH:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00
            raise ma.ValidationError("Out of the supported date range.") from exc

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def past_date(value: date) -> None:
    if value < EARLIEST.date() or value > date.today():
        raise ma.ValidationError("Must be between 1900-01-01 and today.")


def client_id() -> fields.UUID:
    """A create's optional `id`: the app names the item it makes (offline, say)."""
    return fields.UUID(
        metadata={
            "description": "Optional: the new item's id, chosen by the app (a random UUID), "
            "so it can refer to the item before the server has seen it. The same id with "
            "the same body again replays the first answer; an id already used by another "
            "item is a 409.",
            "example": "6f1c2b7e-4d0a-4b8e-9a35-2c7d1e9f0b14",
        }
    )


def how_many(
    description: str, example: int, *, high: int = COUNT_MAX, low: int = 0
) -> fields.Integer:
    """A count (or position) a response shows, with the bounds it cannot leave."""
    return fields.Integer(
        validate=validate.Range(min=low, max=high),
        metadata={"description": description, "example": example},
    )


def one_of(choices: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A string enum that documents its choices in the spec."""
    return fields.String(validate=validate.OneOf(choices), **kwargs)
