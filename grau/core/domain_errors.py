"""What a service says went wrong, in the domain's words: no statuses, no HTTP.

Services raise these; `grau.http.errors` answers each kind with its problem response
(one table there says which status each kind is), so a service can be called and
tested without a request, and a route never translates errors by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A refusal a client can act on: `detail` says why, `errors` names the fields."""

    def __init__(self, detail: str | None = None, *, errors: Mapping[str, Any] | None = None):
        super().__init__(detail or "")
        self.detail = detail
        self.errors = dict(errors) if errors else None


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's to see (the two look alike)."""


class Forbidden(DomainError):
    """The caller may not do this: change a row of grau's catalog, or prove who they
    are with the wrong current password."""


class Conflict(DomainError):
    """The change clashes with data that exists (a taken email, a used sequence)."""


class Stale(DomainError):
    """The caller's copy is out of date: the version they wrote against has changed."""


class Gone(DomainError):
    """What the caller holds can no longer be used, and will not be again: a changes-feed
    cursor that is malformed, another feed's, or older than what the server keeps."""


class Invalid(DomainError):
    """The input breaks a rule its schema cannot state: `Invalid(field, message)`,
    or `Invalid.fields({...})` for several fields or nested ones."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(errors={field: [message]})

    @classmethod
    def fields(cls, errors: Mapping[str, Any]) -> Invalid:
        error = cls.__new__(cls)
        DomainError.__init__(error, errors=errors)
        return error


class Unauthenticated(DomainError):
    """The caller's credentials do not (or no longer) identify a live session.

    `reason` is the RFC 6750 error code the challenge carries (`invalid_token`);
    None for a login refused, where no token was sent."""

    def __init__(self, detail: str, reason: str | None = "invalid_token") -> None:
        super().__init__(detail)
        self.reason = reason
