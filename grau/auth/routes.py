"""/v1/auth: log in, refresh, log out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView

from grau.auth import service
from grau.auth.schemas import LoginRequest, RefreshRequest, TokenPair
from grau.auth.tokens import authenticated, current_session_id
from grau.db.session import db
from grau.extensions import Blueprint
from grau.openapi import errors
from grau.ratelimit import rate_limited

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/v1/auth",
    description="Sessions: exchange credentials for tokens, rotate and revoke them.",
)


def _refresh_ttl() -> timedelta:
    return timedelta(seconds=current_app.config["REFRESH_TOKEN_TTL"])


@blp.route("/login")
class Login(MethodView):
    @rate_limited("RATELIMIT_LOGIN", per="address")
    @rate_limited("RATELIMIT_LOGIN", per="account")
    @blp.arguments(LoginRequest)
    @blp.response(200, TokenPair)
    @errors(401)
    @blp.doc(operationId="login")
    def post(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """Log in

        Exchange email and password for an access token (short-lived) and a
        refresh token (single use). Rate limited per client address and per
        account; 401 does not say which of email or password was wrong.
        """
        email, password = credentials["email"], credentials["password"]
        return service.login(db(), email, password, _refresh_ttl())


@blp.route("/refresh")
class Refresh(MethodView):
    @rate_limited("RATELIMIT_LOGIN", per="address")
    @blp.arguments(RefreshRequest)
    @blp.response(200, TokenPair)
    @errors(401)
    @blp.doc(operationId="refreshTokens")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Refresh tokens

        Spend a refresh token for a new token pair. Each refresh token works
        once: presenting a spent one revokes its whole session.
        """
        return service.refresh(db(), body["refresh_token"], _refresh_ttl())


@blp.route("/logout")
class Logout(MethodView):
    @authenticated
    @blp.response(204)
    @blp.doc(operationId="logout")
    def post(self) -> tuple[str, int]:
        """Log out

        Revoke this session: its access token and refresh token stop working
        at once, on every instance.
        """
        service.logout(db(), current_session_id())
        return "", 204
