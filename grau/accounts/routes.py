"""/v1/users: registration and the signed-in user's profile; /v1/auth: sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, current_app

from grau.accounts import service
from grau.accounts.schemas import (
    LoginRequest,
    RefreshRequest,
    TokenPair,
    User,
    UserCreate,
    UserUpdate,
)
from grau.db.session import db
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import conditional_read, conditional_write, errors
from grau.http.ratelimit import rate_limited
from grau.http.views import authenticated, current_principal, current_session_id, current_user_id

users_blp = Blueprint(
    "users", __name__, url_prefix="/v1/users", description="Accounts and profiles."
)

USERS = views.Resource(schema=User(), endpoint="users.Me", id_arg="")


@users_blp.route("")
class Users(MethodView):
    @rate_limited("RATELIMIT_REGISTER", per="address")
    @rate_limited("RATELIMIT_REGISTER", per="account")
    @idempotent
    @users_blp.arguments(UserCreate)
    @users_blp.response(201, User)
    @errors(409)
    def post(self, data: dict[str, Any]) -> Response:
        """Register

        Create an account. Only `email` and `password` are required; the
        profile can be filled in later with PATCH /v1/users/me.
        """
        return USERS.created(service.register(db(), data))


@users_blp.route("/me")
class Me(MethodView):
    @authenticated
    @users_blp.response(200, User)
    @errors(404)
    @conditional_read
    @users_blp.doc(operationId="getCurrentUser")
    def get(self) -> Response:
        """Get my profile

        The signed-in user's account and profile, with an ETag for
        conditional reads and writes.
        """
        principal = current_principal()
        return USERS.item(principal, lambda: service.get(db(), principal.user_id))

    @authenticated
    @users_blp.arguments(UserUpdate)
    @users_blp.response(200, User)
    @errors(403, 404, 409)
    @conditional_write
    @users_blp.doc(operationId="updateCurrentUser")
    def patch(self, changes: dict[str, Any]) -> Response:
        """Update my profile

        Partial update: only the fields sent change. Changing `email` or
        `password` needs `current_password` (403 if it is wrong); a new
        password signs out every session.
        """
        user_id = current_user_id()
        return views.stale_shows_current(
            USERS,
            lambda: USERS.updated(
                service.update(db(), user_id, changes, if_match=views.if_match())
            ),
            lambda: service.get(db(), user_id),
        )

    @authenticated
    @users_blp.response(204)
    @errors(404)
    @conditional_write
    @users_blp.doc(operationId="deleteCurrentUser")
    def delete(self) -> Response:
        """Delete my account

        Deletes the account and every entry it owns, and revokes its tokens.
        """
        user_id = current_user_id()

        def write() -> Response:
            service.delete(db(), user_id, if_match=views.if_match())
            return USERS.deleted()

        return views.stale_shows_current(USERS, write, lambda: service.get(db(), user_id))


auth_blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/v1/auth",
    description="Sessions: exchange credentials for tokens, rotate and revoke them.",
)


def _refresh_ttl() -> timedelta:
    return timedelta(seconds=current_app.config["REFRESH_TOKEN_TTL"])


@auth_blp.route("/login")
class Login(MethodView):
    @rate_limited("RATELIMIT_LOGIN", per="address")
    @rate_limited("RATELIMIT_LOGIN", per="account")
    @auth_blp.arguments(LoginRequest)
    @auth_blp.response(200, TokenPair)
    @errors(401)
    @auth_blp.doc(operationId="login")
    def post(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """Log in

        Exchange email and password for an access token (short-lived) and a
        refresh token (single use). Rate limited per client address and per
        account; 401 does not say which of email or password was wrong.
        """
        email, password = credentials["email"], credentials["password"]
        return service.login(db(), email, password, _refresh_ttl())


@auth_blp.route("/refresh")
class Refresh(MethodView):
    @rate_limited("RATELIMIT_LOGIN", per="address")
    @auth_blp.arguments(RefreshRequest)
    @auth_blp.response(200, TokenPair)
    @errors(401)
    @auth_blp.doc(operationId="refreshTokens")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Refresh tokens

        Spend a refresh token for a new token pair. Each refresh token works
        once: presenting a spent one revokes its whole session.
        """
        return service.refresh(db(), body["refresh_token"], _refresh_ttl())


@auth_blp.route("/logout")
class Logout(MethodView):
    @authenticated
    @auth_blp.response(204)
    @auth_blp.doc(operationId="logout")
    def post(self) -> tuple[str, int]:
        """Log out

        Revoke this session: its access token and refresh token stop working
        at once, on every instance.
        """
        service.logout(db(), current_session_id())
        return "", 204
