"""Deprecated names: old spellings grau still takes for one minor version, and the headers
that tell a client it used one.

A parameter that was renamed keeps its old name as a deprecated alias
(`deprecated: true` in the spec, "Deprecated: use `<new>`" in its description). A
schema lists its aliases in `RENAMED` (old name -> new name, as sent): the base
`grau.http.schemas.Schema` reads a request's old name as the new one and notes it
here (when both are sent, each is checked and the new one is used), and the response
then carries

- `Deprecation: @<unix time>` (RFC 9745): since when the name is deprecated;
- `Sunset: <HTTP date>` (RFC 8594): from when it may be gone;
- `Link: </docs>; rel="deprecation"`: where the current names are documented.

A request that uses only current names pays nothing for this. README, "API lifecycle",
has the policy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from flask import has_request_context, request
from marshmallow import fields

from grau.http.observability import EXTRA_HEADERS, add_headers

# When this release deprecated its renamed names, and the earliest they may be removed (the
# first release of the next minor version, and not before this date).
DEPRECATED_AT = datetime(2026, 12, 6, tzinfo=UTC)
SUNSET_AT = datetime(2027, 6, 30, tzinfo=UTC)
HEADERS = {
    "Deprecation": f"@{int(DEPRECATED_AT.timestamp())}",
    "Sunset": format_datetime(SUNSET_AT, usegmt=True),
    "Link": '</docs>; rel="deprecation"; type="text/html"',
}


def alias(field: fields.Field, old: str, new: str) -> fields.Field:
    """`field` documented under its old name `old`, deprecated in favour of `new` (a
    schema's `RENAMED` maps `old` to `new`; the value is read as `new`'s)."""
    field.data_key = old
    description = field.metadata.get("description", "")
    field.metadata = {
        **field.metadata,
        "deprecated": True,
        "x-replaced-by": new,  # for tools: contract/spec/breaking.py
        "description": f"Deprecated: use `{new}` (this name is read as `{new}`; if both "
        f"are sent, `{new}` is used; see the Deprecation and Sunset headers). "
        f"{description}".strip(),
    }
    field.required = False
    return field


def renamed(data: Any, renames: dict[str, str]) -> Any:
    """`data` (a request's body or query) with each old name in `renames` read as its new
    one, noting the use for the response's headers. An old name sent beside its new one
    stays, for its alias field to check (the new one is used). Unchanged if no old name
    is there."""
    used = [old for old in renames if old in data]
    if not used:
        return data
    _announce()
    moved = [old for old in used if renames[old] not in data]
    if not moved:
        return data
    data = {key: data[key] for key in data}
    for old in moved:
        data[renames[old]] = data.pop(old)
    return data


def _announce() -> None:
    if not has_request_context():
        return
    if ("Deprecation", HEADERS["Deprecation"]) not in request.environ.get(EXTRA_HEADERS, ()):
        add_headers(request.environ, HEADERS.items())


# RFC 9110's IMF-fixdate, e.g. "Wed, 30 Jun 2027 00:00:00 GMT".
HTTP_DATE = r"^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
# The response headers, as the spec documents them on operations with deprecated names.
SPEC_HEADERS = {
    "Deprecation": {
        "description": "Sent when the request used a deprecated name (RFC 9745): since "
        "when it is deprecated, as `@` and Unix time.",
        "schema": {"type": "string", "maxLength": 24, "pattern": "^@[0-9]+$"},
        "example": HEADERS["Deprecation"],
    },
    "Sunset": {
        "description": "Sent with `Deprecation` (RFC 8594): from when the deprecated name "
        "may be removed, as an HTTP date.",
        "schema": {
            "type": "string",
            "maxLength": 29,
            "pattern": HTTP_DATE,
        },
        "example": HEADERS["Sunset"],
    },
    "Link": {
        "description": 'Sent with `Deprecation`: `</docs>; rel="deprecation"`, where the '
        "current names are documented (RFC 9745).",
        "schema": {"type": "string", "maxLength": 256, "pattern": "^<[^>]+>;.*$"},
        "example": HEADERS["Link"],
    },
}
