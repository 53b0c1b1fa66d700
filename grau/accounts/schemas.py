"""Account, profile and session request and response schemas."""

from __future__ import annotations

import zoneinfo
from functools import cache

import marshmallow as ma
from marshmallow import fields, validate

from grau.accounts.models import DATE_FORMATS, GENDERS, HEIGHT_UNITS, STATUSES, WEIGHT_UNITS
from grau.http.fields import FullMatch, Text, how_many, past_date
from grau.http.schemas import Schema, ServerTimestamps

USERNAME = FullMatch(r"^[A-Za-z0-9_.-]{3,40}$", error="3-40 letters, digits, '_', '.' or '-'.")
LANGUAGE = FullMatch(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="A BCP 47 language tag, e.g. 'en' or 'de-AT'."
)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> None:
    if value not in _timezones():
        raise ma.ValidationError("An IANA time zone name, e.g. 'Europe/Vienna' or 'UTC'.")


class _Profile(Schema):
    """Profile fields shared by the user schemas; every one is optional."""

    username = Text(
        max_length=40,
        validate=USERNAME,
        allow_none=True,
        metadata={"description": "Public handle, unique.", "example": "ana.runs"},
    )
    first_name = Text(max_length=100, allow_none=True, metadata={"example": "Ana"})
    last_name = Text(max_length=100, allow_none=True, metadata={"example": "Silva"})
    birthday = fields.Date(allow_none=True, validate=past_date, metadata={"example": "1990-04-12"})
    gender = fields.String(
        validate=validate.OneOf(GENDERS),
        metadata={"description": "`unspecified` until the user says.", "example": "female"},
    )
    weight_unit = fields.String(
        validate=validate.OneOf(WEIGHT_UNITS),
        metadata={"description": "Preferred unit for weights.", "example": "kg"},
    )
    height_unit = fields.String(
        validate=validate.OneOf(HEIGHT_UNITS),
        metadata={"description": "Preferred unit for lengths.", "example": "cm"},
    )
    date_format = fields.String(
        validate=validate.OneOf(DATE_FORMATS), metadata={"example": "YYYY-MM-DD"}
    )
    language = Text(max_length=35, validate=LANGUAGE, metadata={"example": "en"})
    # No pattern: a bare `format` lets clients and fuzzers draw names from the zone
    # list; the length cap is stated so every string in the spec has one.
    timezone = fields.String(
        validate=[validate.Length(max=64), _timezone],
        metadata={
            "description": "IANA time zone name.",
            # Not a JSON Schema format: names one of the zones in the IANA database.
            "format": "iana-time-zone",
            "example": "Europe/Vienna",
        },
    )


EMAIL_META = {"description": "Login email address, unique.", "example": "ana@example.com"}


class UserCreate(_Profile):
    """Registration: only `email` and `password` are required."""

    NOT_IN_EXAMPLE = ("username",)  # unique: the example's would be taken after one try

    email = fields.Email(required=True, validate=validate.Length(max=320), metadata=EMAIL_META)
    password = Text(
        required=True,
        min_length=8,
        max_length=128,
        load_only=True,
        metadata={"description": "8 to 128 characters.", "example": "correct horse battery"},
    )


class UserUpdate(_Profile):
    """A partial profile change. Changing `email` or `password` needs `current_password`."""

    NOT_IN_EXAMPLE = ("username", "email")  # unique, and an email change needs the password

    JSON_SCHEMA = {
        "dependentRequired": {"email": ["current_password"], "password": ["current_password"]}
    }

    email = fields.Email(validate=validate.Length(max=320), metadata=EMAIL_META)
    password = Text(
        min_length=8,
        max_length=128,
        load_only=True,
        metadata={
            "description": "New password; signs out every session, this one included.",
            "example": "a new long passphrase",
        },
    )
    current_password = Text(
        max_length=128,
        load_only=True,
        metadata={"description": "Required to change email or password.", "example": "hunter22!"},
    )


class User(ServerTimestamps, _Profile):
    """The signed-in user's account and profile."""

    id = fields.UUID(dump_only=True, metadata={"example": "8a6e0804-2bd0-4672-b79d-d97027f9071a"})
    email = fields.Email(dump_only=True, validate=validate.Length(max=320), metadata=EMAIL_META)
    premium = fields.Boolean(
        dump_only=True, metadata={"description": "Set by grau, not by clients.", "example": False}
    )
    status = fields.String(
        dump_only=True, validate=validate.OneOf(STATUSES), metadata={"example": "active"}
    )


class LoginRequest(Schema):
    """Credentials for a new session."""

    email = fields.Email(
        required=True, validate=validate.Length(max=320), metadata={"example": "ana@example.com"}
    )
    password = Text(
        required=True, min_length=1, max_length=128, metadata={"example": "correct horse battery"}
    )


class RefreshRequest(Schema):
    """A refresh token from login or an earlier refresh; each works once."""

    refresh_token = Text(
        required=True, min_length=1, max_length=1024, metadata={"example": "q3V0...Zx8"}
    )


class TokenPair(Schema):
    """Tokens for the Authorization header and for getting new ones."""

    COMPLETE = True

    access_token = fields.String(
        validate=validate.Length(max=1024),  # its claims are fixed: about 300 characters
        metadata={
            "description": "Send as `Authorization: Bearer <access_token>`.",
            "example": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
        },
    )
    token_type = fields.String(validate=validate.OneOf(["bearer"]), metadata={"example": "bearer"})
    expires_in = how_many("Seconds until the access token expires.", 900, low=1)
    refresh_token = fields.String(
        validate=validate.Length(max=1024),  # what a refresh accepts
        metadata={
            "description": "Single use: POST it to /v1/auth/refresh for a new pair.",
            "example": "q3V0...Zx8",
        },
    )
