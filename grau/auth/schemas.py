"""Auth request and response schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from grau.schemas import Schema, Text


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
        metadata={
            "description": "Send as `Authorization: Bearer <access_token>`.",
            "example": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
        }
    )
    token_type = fields.String(validate=validate.OneOf(["bearer"]), metadata={"example": "bearer"})
    expires_in = fields.Integer(
        metadata={"description": "Seconds until the access token expires.", "example": 900}
    )
    refresh_token = fields.String(
        metadata={
            "description": "Single use: POST it to /v1/auth/refresh for a new pair.",
            "example": "q3V0...Zx8",
        }
    )
