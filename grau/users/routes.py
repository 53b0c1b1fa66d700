"""/v1/users: registration and the signed-in user's profile."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from grau import views
from grau.auth.tokens import authenticated, current_principal, current_user_id
from grau.db.session import db
from grau.extensions import Blueprint
from grau.idempotency import idempotent
from grau.openapi import conditional_read, conditional_write, errors
from grau.ratelimit import rate_limited
from grau.users import service
from grau.users.schemas import User, UserCreate, UserUpdate

blp = Blueprint("users", __name__, url_prefix="/v1/users", description="Accounts and profiles.")

USERS = views.Resource(schema=User(), endpoint="users.Me", id_arg="")


@blp.route("")
class Users(MethodView):
    @rate_limited("RATELIMIT_REGISTER", per="address")
    @rate_limited("RATELIMIT_REGISTER", per="account")
    @idempotent
    @blp.arguments(UserCreate)
    @blp.response(201, User)
    @errors(409)
    def post(self, data: dict[str, Any]) -> Response:
        """Register

        Create an account. Only `email` and `password` are required; the
        profile can be filled in later with PATCH /v1/users/me.
        """
        return USERS.created(service.register(db(), data))


@blp.route("/me")
class Me(MethodView):
    @authenticated
    @blp.response(200, User)
    @errors(404)
    @conditional_read
    @blp.doc(operationId="getCurrentUser")
    def get(self) -> Response:
        """Get my profile

        The signed-in user's account and profile, with an ETag for
        conditional reads and writes.
        """
        principal = current_principal()
        return USERS.item(principal, lambda: service.get(db(), principal.user_id))

    @authenticated
    @blp.arguments(UserUpdate)
    @blp.response(200, User)
    @errors(403, 404, 409)
    @conditional_write
    @blp.doc(operationId="updateCurrentUser")
    def patch(self, changes: dict[str, Any]) -> Response:
        """Update my profile

        Partial update: only the fields sent change. Changing `email` or
        `password` needs `current_password` (403 if it is wrong); a new
        password signs out every session.
        """
        user = service.update(db(), current_user_id(), changes, if_match=views.if_match())
        return USERS.updated(user)

    @authenticated
    @blp.response(204)
    @errors(404)
    @conditional_write
    @blp.doc(operationId="deleteCurrentUser")
    def delete(self) -> Response:
        """Delete my account

        Deletes the account and every entry it owns, and revokes its tokens.
        """
        service.delete(db(), current_user_id(), if_match=views.if_match())
        return USERS.deleted()
