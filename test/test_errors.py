"""One error format everywhere: RFC 9457 problem details, never a stack trace."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from flask import Flask

PROBLEM_JSON = "application/problem+json"


def problem_summary(response: Any) -> dict[str, Any]:
    """What every problem response must carry, in one comparable dict."""
    body = response.get_json(force=True, silent=True) or {}
    return {
        "content_type": response.mimetype,
        "type": body.get("type"),
        "title": body.get("title"),
        "status": body.get("status"),
        "has_detail": isinstance(body.get("detail"), str) and body["detail"] != "",
    }


def expected(status: int, title: str) -> dict[str, Any]:
    return {
        "content_type": PROBLEM_JSON,
        "type": "about:blank",
        "title": title,
        "status": status,
        "has_detail": True,
    }


ERRORS: dict[str, tuple[Callable[[Any], Any], int, str]] = {
    "unknown path": (lambda c: c.get("/v1/no-such-thing"), 404, "Not Found"),
    "unknown root path": (lambda c: c.get("/nope"), 404, "Not Found"),
    "stat id that is not a uuid": (lambda c: c.get("/v1/body-stats/not-a-uuid"), 404, "Not Found"),
    "method not allowed": (lambda c: c.delete("/v1/body-stats"), 405, "Method Not Allowed"),
    "not json": (
        lambda c: c.post("/v1/users", data="email=a", content_type="text/plain"),
        415,
        "Unsupported Media Type",
    ),
    "broken json": (
        lambda c: c.post("/v1/users", data='{"email": ', content_type="application/json"),
        400,
        "Bad Request",
    ),
    "validation": (
        lambda c: c.post("/v1/users", json={"email": "x"}),
        422,
        HTTPStatus.UNPROCESSABLE_ENTITY.phrase,  # "Unprocessable Content" from Python 3.13
    ),
    "no token": (lambda c: c.get("/v1/users/me"), 401, "Unauthorized"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_error_is_a_problem_document_naming_the_request_path_as_instance(client, case):
    send, status, title = ERRORS[case]

    response = send(client)

    assert response.status_code == status
    assert problem_summary(response) == expected(status, title)
    assert response.json["instance"] == response.request.path


def test_the_instance_of_a_path_with_any_characters_is_a_percent_encoded_uri_reference(client):
    """RFC 9457's `instance` is a URI reference: the spec says so, and it holds for any path."""
    import jsonschema_rs  # schemathesis' validator, which checks the responses against the spec

    reference = jsonschema_rs.validator_for({"format": "uri-reference"}, validate_formats=True)
    paths = ["/v1/body-stats/caf\u00e9 \u0001%zz", "/v1/" + "\u00fc" * 3000]

    instances = [client.get(path).json["instance"] for path in paths]

    assert instances[0] == "/v1/body-stats/caf%C3%A9%20%01%25zz"
    assert len(instances[1]) <= 2000
    assert all(reference.is_valid(instance) for instance in instances)


def test_validation_problem_lists_errors_per_field(client):
    response = client.post("/v1/users", json={"email": "x", "password": "short"})

    assert set(response.json["errors"]) == {"email", "password"}


@pytest.mark.parametrize(
    ("url", "method", "allowed"),
    [
        ("/v1/body-stats", "DELETE", {"GET", "POST"}),
        (f"/v1/body-stats/{uuid.uuid4()}", "POST", {"GET", "PATCH", "DELETE"}),
    ],
    ids=["collection", "item"],
)
def test_405_lists_the_allowed_methods(client, user, url, method, allowed):
    response = client.open(url, method=method, json={}, headers=user.headers)

    assert response.status_code == 405
    listed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= listed
    assert method not in listed


# One body per resource with a number; the token replaces its `value`.
NUMBERS = {
    "/v1/body-stats": {"type": "weight", "unit": "kg", "recorded_at": "2026-11-20T07:30:00Z"},
    "/v1/moods": {"recorded_at": "2025-03-01T19:30:00Z"},
    "/v1/nutrition-entries": {"type": "water", "unit": "ml", "recorded_at": "2025-03-01T07:00:00Z"},
}


@pytest.mark.parametrize("url", NUMBERS)
@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_json_number_gets_422_on_its_field(client, user, url, token):
    body = json.dumps({**NUMBERS[url], "value": 0}).replace('"value": 0', f'"value": {token}')

    response = client.post(url, data=body, content_type="application/json", headers=user.headers)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["value"]


def test_uuid_path_parameter_that_is_not_a_uuid_gets_404_with_a_token(client, user):
    response = client.get("/v1/body-stats/12345", headers=user.headers)

    assert response.status_code == 404


# ----------------------------------------------------------------------- 413


def test_a_body_over_max_content_length_gets_413_problem_and_one_under_it_is_accepted(
    build_app, user
):
    small = build_app({"MAX_CONTENT_LENGTH": 1024}).test_client()
    registration = {"email": f"u-{uuid.uuid4().hex[:12]}@example.com", "password": "long enough pw"}
    stat = {"type": "weight", "value": 70, "unit": "kg", "recorded_at": "2025-03-01T08:00:00Z"}

    over = small.post("/v1/users", json={**registration, "first_name": "a" * 2000})
    over_with_a_token = small.post(
        "/v1/body-stats", json={**stat, "note": "n" * 2000}, headers=user.headers
    )
    under = small.post("/v1/users", json=registration)

    assert problem_summary(over) == expected(413, "Request Entity Too Large")
    assert [r.status_code for r in (over, over_with_a_token, under)] == [413, 413, 201]


# ----------------------------------------------------------------------- 500


@pytest.fixture
def failing_client(build_app: Callable[[dict[str, Any]], Flask]) -> Any:
    """A client of an app with one route that fails with an unexpected exception."""
    failing = build_app({})

    @failing.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    return failing.test_client()


def test_unexpected_exception_gets_a_500_problem_that_hides_what_the_log_shows(
    failing_client, caplog
):
    response = failing_client.get("/boom")

    assert response.status_code == 500
    assert problem_summary(response) == expected(500, "Internal Server Error")
    for secret in ["secret detail", "Traceback", "RuntimeError", "boom()"]:
        assert secret not in response.get_data(as_text=True)
    assert any(
        record.exc_info and "secret detail" in str(record.exc_info[1]) for record in caplog.records
    )


# ------------------------------------------------------------ domain errors from services


def test_every_kind_of_domain_error_has_its_status() -> None:
    from grau.core import domain_errors
    from grau.http.errors import DOMAIN_STATUSES

    kinds = {
        kind
        for kind in vars(domain_errors).values()
        if isinstance(kind, type)
        and issubclass(kind, domain_errors.DomainError)
        and kind is not domain_errors.DomainError
    }
    assert kinds == set(DOMAIN_STATUSES)


def _domain_error_cases() -> list[Any]:
    from grau.core.domain_errors import (
        Conflict,
        Forbidden,
        Invalid,
        NotFound,
        Stale,
        Unauthenticated,
    )

    revoked = 'Bearer realm="grau", error="invalid_token", error_description="Revoked."'
    password = {"current_password": ["Incorrect."]}
    return [
        (NotFound("No such plan."), 404, None, None),
        (Forbidden("Not your password.", errors=password), 403, password, None),
        (Conflict("Taken."), 409, None, None),
        (Stale("Changed."), 412, None, None),
        (Invalid("unit", "Not a length."), 422, {"unit": ["Not a length."]}, None),
        (Invalid.fields({"days": {"0": ["Empty."]}}), 422, {"days": {"0": ["Empty."]}}, None),
        (Unauthenticated("Revoked."), 401, None, revoked),
        (Unauthenticated("Wrong password.", reason=None), 401, None, 'Bearer realm="grau"'),
    ]


@pytest.mark.parametrize(("raised", "status", "fields", "challenge"), _domain_error_cases())
def test_a_domain_error_is_answered_with_its_problem(
    build_app: Callable[..., Flask], raised: Exception, status: int, fields: Any, challenge: Any
) -> None:
    app = build_app({})

    @app.get("/raise")
    def raise_it() -> None:
        raise raised

    response = app.test_client().get("/raise")
    assert problem_summary(response)["status"] == status
    assert response.mimetype == PROBLEM_JSON
    assert response.get_json().get("errors") == fields
    assert response.headers.get("WWW-Authenticate") == challenge
