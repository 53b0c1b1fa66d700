"""Security headers, CORS from an allow-list, and JSON no parser can choke on."""

from __future__ import annotations

import uuid

import pytest

PROBLEM_JSON = "application/problem+json"
ORIGIN = "https://app.grau.example"


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/v1/users/me", "/v1/nowhere"])
def test_every_response_says_nosniff(client, path):
    response = client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"


NOT_STORED = {
    "authenticated": lambda client, user: client.get("/v1/users/me", headers=user.headers),
    "tokens": lambda client, user: client.post(
        "/v1/auth/login", json={"email": user.email, "password": user.password}
    ),
    "an API error": lambda client, user: client.get("/v1/users/me"),
}


@pytest.mark.parametrize("response", NOT_STORED)
def test_api_responses_are_not_stored_by_caches(client, user, response):
    assert NOT_STORED[response](client, user).headers["Cache-Control"] == "no-store"


def test_api_response_forbids_framing_and_active_content(client, user):
    response = client.get("/v1/users/me", headers=user.headers)

    csp = response.headers["Content-Security-Policy"]
    assert csp == "default-src 'none'; frame-ancestors 'none'"


def test_health_may_be_cached(client):
    response = client.get("/health")

    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_no_store_response_still_revalidates_with_if_none_match(client, user):
    """no-store keeps caches out; a client's own copy revalidates with its ETag."""
    first = client.get("/v1/users/me", headers=user.headers)

    again = client.get(
        "/v1/users/me", headers={**user.headers, "If-None-Match": first.headers["ETag"]}
    )

    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "no-store"


def test_production_app_never_runs_in_debug_mode(make_app):
    production = make_app({"GRAU_ENV": "production", "SECRET_KEY": "s" * 48})

    assert (production.debug, production.config["PROPAGATE_EXCEPTIONS"]) == (False, None)


# ------------------------------------------------------------------------------ CORS


@pytest.fixture
def cors_client(build_app):
    return build_app({"CORS_ORIGINS": f"{ORIGIN}, https://other.grau.example/"}).test_client()


def test_allowed_origin_may_read_the_response_and_etag_and_retry_after_without_credentials(
    cors_client, user
):
    response = cors_client.get("/v1/users/me", headers={**user.headers, "Origin": ORIGIN})

    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert {"ETag", "Location", "Retry-After", "X-Request-ID"} <= exposed
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_origin_listed_with_a_trailing_slash_is_allowed(cors_client, user):
    origin = "https://other.grau.example"

    response = cors_client.get("/v1/users/me", headers={**user.headers, "Origin": origin})

    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_preflight_from_an_allowed_origin_lists_methods_and_headers(cors_client):
    response = cors_client.options(
        "/v1/body-stats/" + str(uuid.uuid4()),
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )

    assert response.status_code == 200
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert all(h in allowed for h in ("authorization", "content-type", "if-match"))


def test_other_origin_gets_no_cors_headers(cors_client, user):
    response = cors_client.get(
        "/v1/users/me", headers={**user.headers, "Origin": "https://evil.example"}
    )

    assert response.status_code == 200  # the browser, not grau, withholds it
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_from_another_origin_gets_no_cors_headers(cors_client):
    response = cors_client.options(
        "/v1/body-stats",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origin_is_allowed_by_default(client, user):
    response = client.get("/v1/users/me", headers={**user.headers, "Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers


# -------------------------------------------------------------------- hostile JSON


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["arrays", "objects"],
)
def test_json_nested_past_the_parser_limit_gets_400(client, user, body):
    response = client.post(
        "/v1/mood-tags",
        data=body,
        headers={**user.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.mimetype == PROBLEM_JSON


def test_deeply_nested_login_body_gets_a_4xx(build_app):
    """Login reads the body before the view (its per-account limit): no 500 there either."""
    limited = build_app({"RATELIMIT_ENABLED": True, "CACHE_KEY_PREFIX": uuid.uuid4().hex})

    response = limited.test_client().post(
        "/v1/auth/login",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
