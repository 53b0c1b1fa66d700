"""What every view shares around its body: who asks, and how it is answered.

`authenticated` checks the bearer token (the JWT that `grau.accounts.tokens`
issues) and counts the request against the user's rate limit; a view then
acts for `current_principal()`. Its signature and claims never change, so
each process verifies a token once and remembers the result; its expiry is
checked on every use, and whether its session is alive is asked of the
database (`grau.accounts.tokens.live_session_revision`), in the token check
or in the view's own query.

`Resource` answers for one resource: a page, an item, a created, updated or
deleted one; reads serialized once and cached in the process under the
reader's revision (`grau.http.cache`), with ETags and `If-None-Match` handled.

Each resource declares its views in its own `routes.py`: a `MethodView` for
the collection (`get` lists, `post` creates) and one for the item (`get`,
`patch`, `delete`), whose decorators make the contract and whose docstrings
document it. Their bodies are one call each to a function here, which runs
the resource's service (`grau.core.crud.OwnedService`) for the signed-in user and
answers through its `Resource`:

    list_page          GET    /            paginated, filtered, sorted
    create             POST   /            201, Location, ETag
    read               GET    /<id>        ETag, If-None-Match
    read_in_one_query  GET    /<id>        the same, with the session check in one query
    update             PATCH  /<id>        partial update; optional If-Match (412 when stale)
    delete             DELETE /<id>        optional If-Match
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import jwt
import marshmallow as ma
import orjson
from flask import Flask, Response, current_app, request, url_for
from werkzeug.datastructures import Headers

from grau.accounts.tokens import ALGORITHM, SESSION_REVISIONS, Principal, live_session_revision
from grau.context import current_flask, current_request, request_globals
from grau.core.crud import OwnedService, PageResult, etag_of
from grau.core.domain_errors import Stale
from grau.db.session import (
    READ_METHODS,
    REPLICAS,
    acts_for,
    autocommit,
    db,
    driver_connection,
    send_early,
)
from grau.http.cache import Cached, Key, read_key, responses
from grau.http.errors import abort, problem, unauthorized
from grau.http.openapi import ENTITY_TAGS_MAX, add_responses, mark_authenticated
from grau.http.ratelimit import budget_spent, client_address, count_user
from grau.http.schemas import FlatDump

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

F = TypeVar("F", bound=Callable[..., Any])
VERIFIED_TOKENS_MAX = 10_000
VERIFIED_TOKENS = "grau.verified_tokens"  # app.extensions: claims of tokens this process checked

# ------------------------------------------------------------------------ who asks


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires: int
    budget: str  # the user's rate-limit counter (`count_user`), named once per token


def _signed_claims(token: str, extensions: dict[str, Any]) -> Claims | None:
    """The claims of a token grau signed (expired or not), or None.

    Remembered per process (per app: `extensions` are the app's) once checked.
    """
    verified: dict[str, Claims] = extensions.setdefault(VERIFIED_TOKENS, {})
    known = verified.get(token)
    if known is not None:
        return known
    try:
        raw = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            options={"require": ["sub", "sid", "exp", "typ"], "verify_exp": False},
        )
        if raw["typ"] != "access":
            return None
        user_id = uuid.UUID(raw["sub"])
        claims = Claims(user_id, uuid.UUID(raw["sid"]), int(raw["exp"]), f"user:{user_id}")
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    if len(verified) >= VERIFIED_TOKENS_MAX:
        verified.clear()  # tokens live 15 minutes: forgetting them all only costs a re-check
    verified[token] = claims
    return claims


def _bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header ("" for any other)."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(check_session: bool = True) -> Principal:
    """The principal of the request's bearer token; 401 if there is none, 429 if over the limit.

    `check_session`: ask the database whether the token's session is alive (and read
    the revisions); without it the principal has no revision, and the caller's own
    query must check the session.

    The request counts against the user's rate limit if the token is one grau
    signed and not expired (even if revoked), else against the client's
    address, so forged tokens cannot spread one client over many counters.
    """
    environ = current_request().environ
    header = environ.get("HTTP_AUTHORIZATION", "")
    token = _bearer_token(header)
    bearer = bool(token)
    extensions = current_flask().extensions
    claims = _signed_claims(token, extensions) if bearer else None
    # An expired token counts against the address: a leaked old token must not be able
    # to spend its user's budget.
    live = claims is not None and claims.expires > time.time()
    who = claims.budget if live and claims else f"address:{client_address()}"
    count_user(extensions, environ, who)
    if not header:
        unauthorized("An access token is required.", error=None)
    if not bearer:
        unauthorized("Use 'Authorization: Bearer <access token>'.", error="invalid_request")
    if claims is None:
        unauthorized("The access token is invalid.")
    if not live:
        unauthorized("The access token has expired; refresh it.")
    if REPLICAS in extensions:  # where its reads may go, whose write it is
        acts_for(claims.user_id)
    unchecked = Principal(claims.user_id, claims.session_id, None)
    if not check_session:  # the view's own query checks it (see `authenticated`)
        return unchecked
    return checked_session(unchecked)


def check_session_ahead(app: Flask, environ: dict[str, Any]) -> bool:
    """Send the session check of a read likely answered from the cache as the request
    comes in, before Flask starts on it; True if it was sent.

    A cached read waits for one thing, its session check (`live_session_revision`, one
    round trip), and nothing on its path until then (Flask's request set-up, the route,
    the view's decorators, the token and rate-limit checks) depends on its answer. So
    where the process verified this bearer token before and holds an answer to this
    GET under the latest revision of the user's it knows (`ResponseCache.recent`, the
    hint `read_in_one_query` takes to ask the session check alone), the check is sent
    now (`grau.db.session.send_early`), and the token check reads its answer where it
    would have asked: the database works while Python does. The check still runs after
    the request arrived, so a logout acknowledged before is refused as ever. Not for a
    user this process already counts over the rate limit (that request is a 429, which
    asks the database nothing); one that turns out not to ask it anyway (the limit
    reached in another process meanwhile) drops the answer. True if the check is on its
    way, or no connection could be had for it (the request meets that error where it
    asks the database); any other read asks the database itself, as before."""
    if environ["REQUEST_METHOD"] not in READ_METHODS:
        return False
    token = _bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
    extensions = app.extensions
    claims: Claims | None = extensions.get(VERIFIED_TOKENS, {}).get(token) if token else None
    if claims is None or not extensions["grau.responses"].recent(claims.user_id, environ):
        return False
    now = time.time()
    if claims.expires <= now or budget_spent(extensions, claims.budget, now):
        return False
    return send_early(
        app, environ, SESSION_REVISIONS, session_id=claims.session_id, user_id=claims.user_id
    )


def checked_session(principal: Principal) -> Principal:
    """The principal with the revisions its session check read; 401 if it is revoked."""
    revision = live_session_revision(principal.user_id, principal.session_id)
    if revision is None:
        unauthorized("The access token has been revoked.")
    return Principal(principal.user_id, principal.session_id, revision)


def authenticated(
    func: F | None = None, *, view_checks_session: bool | Callable[[], bool] = False
) -> Any:
    """Require a valid access token; documents 401, and 429 for the per-user rate limit.

    `@authenticated` checks the token's claims and asks the database whether its
    session is alive. `@authenticated(view_checks_session=...)` (True, or a function
    asked per request) is for a view whose own query checks the session as it reads
    or writes (`with_session_check`, a write's one statement): the token check then
    asks the database nothing, the principal has no revision, and the view answers
    401 when its query finds no live session, after its arguments were validated.
    """

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ask = view_checks_session
            principal = authenticate(check_session=not (ask() if callable(ask) else ask))
            request_globals().principal = principal
            return func(*args, **kwargs)

        mark_authenticated(wrapper)
        add_responses(wrapper, (429,))
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def current_principal() -> Principal:
    principal: Principal = request_globals().principal
    return principal


def current_user_id() -> uuid.UUID:
    return current_principal().user_id


def current_session_id() -> uuid.UUID:
    return current_principal().session_id


# ------------------------------------------------------------------ how it is answered


def _etag_of_body(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=10).hexdigest()}"'


def _entity_tags(header: str, value: str) -> str:
    """A conditional header's value, if it is no longer than the spec allows (else a 422)."""
    if len(value) > ENTITY_TAGS_MAX:
        abort(
            422,
            f"{header} must be at most {ENTITY_TAGS_MAX} characters.",
            errors={header: [f"At most {ENTITY_TAGS_MAX} characters."]},
        )
    return value


def if_match() -> str | None:
    """The request's If-Match (None: not sent): the version a write expects, for a service."""
    value = request.headers.get("If-Match")
    return _entity_tags("If-Match", value) if value is not None else None


class JsonResponse(Response):
    """A JSON body with its headers set in full (`json_response`), sent as they are.

    Werkzeug's `get_wsgi_headers` copies the headers to fix up what a response may
    lack or must not carry (a relative Location, a missing Content-Length, the
    entity headers of a 204 or 304); a JSON body with its Content-Length, answered
    200 or 201, needs none of it. About 3 µs of every read."""

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        return self.headers


def json_response(
    body: bytes, status: int = 200, etag: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    sent = [("ETag", etag)] if etag else []
    sent += (headers or {}).items()
    # Every header given at once, the body as a list, and `direct_passthrough`: Werkzeug
    # then sets no header again (each set rescans the list) and hands the list on as the
    # body instead of wrapping it in two iterators. The same headers, in the same order.
    sent += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    # Werkzeug's Headers, holding grau's list as it is (its `_list`): `Headers(sent)`
    # checks each value for newlines and copies it pair by pair (about 2 µs), and
    # grau's values are hashes, numbers, a media type and URLs url_for built.
    held = Headers()
    held._list = sent
    return JsonResponse([body], status=status, headers=held, direct_passthrough=True)


def _not_modified(etag: str, environ: Mapping[str, Any]) -> bool:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if not if_none_match:
        return False
    _entity_tags("If-None-Match", if_none_match)
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _answer(body: bytes, etag: str, environ: Mapping[str, Any]) -> Response:
    """200 with the body, or 304 if the request's If-None-Match names its ETag."""
    if _not_modified(etag, environ):
        return Response(status=304, headers={"ETag": etag})
    return json_response(body, etag=etag)


def uncached(body: bytes) -> Response:
    """A read that is never cached (it depends on more than one resource's writes):
    its ETag is its body's hash, and If-None-Match is honoured all the same."""
    return _answer(body, _etag_of_body(body), request.environ)


def _dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON. orjson: several times faster than json.dumps on the pages and
    items a miss or a write serializes (cached hits send stored bytes)."""
    return orjson.dumps(data)


_ANY_ID = uuid.UUID("00000000-0000-4000-8000-000000000000")  # stands in for an item's id


@dataclass
class Resource:
    """How one owned resource is serialized, cached and located."""

    schema: ma.Schema  # dumps one item
    endpoint: str  # item endpoint for Location, e.g. "body-stats.BodyStat"
    id_arg: str  # its URL argument, e.g. "stat_id"
    # An item's URL around its id, per application root: url_for's answer, built once.
    _locations: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)
    dump: FlatDump = field(init=False, repr=False)  # `schema.dump` for one item, or `.many`
    # The same for a body orjson writes at once (`_dumps`): the same bytes, for less.
    dump_for_orjson: FlatDump = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dump = FlatDump(self.schema)
        self.dump_for_orjson = FlatDump(self.schema, for_orjson=True)

    def location(self, item: Any) -> str:
        """The item's URL, as `url_for(endpoint, <id_arg>=item.id)` gives it."""
        if not self.id_arg:
            return url_for(self.endpoint)
        root = current_request().script_root
        around = self._locations.get(root)
        if around is None:
            ids: dict[str, Any] = {self.id_arg: _ANY_ID}
            url = url_for(self.endpoint, **ids)
            prefix, _, suffix = url.partition(str(_ANY_ID))
            around = self._locations[root] = (prefix, suffix)
        return f"{around[0]}{item.id}{around[1]}"

    @staticmethod
    def _key(principal: Principal) -> Key:
        """This request's cache key, under the revisions its session check read."""
        if principal.revision is None:  # never cache under a revision nobody read
            raise RuntimeError("a cached read needs the revisions its session check read")
        return read_key(principal.user_id, principal.revision, current_request().environ)

    def _cached(self, principal: Principal, produce: Callable[[], tuple[bytes, str]]) -> Response:
        """This request's body from the cache, else from `produce()` -> (body, ETag)."""
        cache = responses()
        if not cache.max_bytes:  # no response cache (CACHE_MAX_MB=0): nothing to look up
            body, etag = produce()
            return _answer(body, etag, current_request().environ)
        key = self._key(principal)
        entry = cache.get(key)
        if entry is None:
            body, etag = produce()
            entry = Cached(etag, body)
            cache.put(key, entry)
        return _answer(entry.body, entry.etag, current_request().environ)

    def hit(self, principal: Principal) -> Response | None:
        """This request's answer if it is cached (None: a miss)."""
        entry = responses().get(self._key(principal))
        if entry is None:
            return None
        return _answer(entry.body, entry.etag, current_request().environ)

    def page(self, principal: Principal, load: Callable[[], PageResult]) -> Response:
        """A cached page of the user's items."""

        def produce() -> tuple[bytes, str]:
            result = load()
            result.items = self.dump_for_orjson.many(result.items)
            body = _dumps(result.envelope())
            return body, _etag_of_body(body)

        return self._cached(principal, produce)

    def item(self, principal: Principal, load: Callable[[], Any | tuple[Any, str]]) -> Response:
        """A cached single item; `load` returns it, or (it as shown, its ETag variant)."""

        def produce() -> tuple[bytes, str]:
            loaded = load()
            shown, variant = loaded if isinstance(loaded, tuple) else (loaded, "")
            return _dumps(self.dump_for_orjson(shown)), etag_of(shown, variant)

        return self._cached(principal, produce)

    def computed(
        self, principal: Principal, schema: ma.Schema, load: Callable[[], Any]
    ) -> Response:
        """A cached read computed from the user's data (a summary), keyed like the others."""

        def produce() -> tuple[bytes, str]:
            body = _dumps(schema.dump(load()))
            return body, _etag_of_body(body)

        return self._cached(principal, produce)

    def created(self, item: Any) -> Response:
        return json_response(
            _dumps(self.dump_for_orjson(item)),
            201,
            etag_of(item),
            {"Location": self.location(item)},
        )

    def updated(self, item: Any) -> Response:
        return json_response(_dumps(self.dump_for_orjson(item)), 200, etag_of(item))

    @staticmethod
    def deleted() -> Response:
        return Response(status=204)


@dataclass
class NestedResource(Resource):
    """`Resource` for children: Location names the parent too.

    Cached reads need nothing more: a read's key holds its path, which names
    the parent, so a child is never served at another parent's URL.
    """

    parent_arg: str = ""  # the parent's URL argument, e.g. "workout_id"
    parent_key: str = ""  # the child's attribute holding it, e.g. "workout_id"

    def created(self, item: Any) -> Response:
        location = url_for(
            self.endpoint, **{self.parent_arg: getattr(item, self.parent_key), self.id_arg: item.id}
        )
        body = _dumps(self.dump_for_orjson(item))
        return json_response(body, 201, etag_of(item), {"Location": location})


def list_page(resource: Resource, service: OwnedService, args: Mapping[str, Any]) -> Response:
    principal = current_principal()
    user_id = principal.user_id
    return resource.page(principal, lambda: service.list_page(db(), user_id, args))


def create(resource: Resource, service: OwnedService, data: Mapping[str, Any]) -> Response:
    """The new item (201); as one statement where the view runs under `single_statement`
    (and so `authenticated(view_checks_session=one_statement)`), else in a transaction.
    A body that names an item the user has (`OwnedService.natural_key`) updates it (200)."""
    if autocommit():
        return resource.created(service.insert_row(driver_connection(), current_principal(), data))
    item, created = service.create_or_update(db(), current_user_id(), data)
    return resource.created(item) if created else resource.updated(item)


def read(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, args: Mapping[str, Any]
) -> Response:
    user_id = current_user_id()
    return resource.item(current_principal(), lambda: service.show(db(), user_id, item_id, args))


def read_in_one_query(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, args: Mapping[str, Any]
) -> Response:
    """`read` for a view whose token check left the session check to this read
    (`authenticated(view_checks_session=True)`): one query checks the session and
    reads the row (`OwnedService.read_row`), converted only on a cache miss.

    Where the answer is likely cached (`ResponseCache.recent`), the query is the
    session check alone, which costs the driver and the database less than fetching
    the row; a write since then makes that a miss, and the read asks again with
    the row."""
    if (id(resource), id(service)) not in _ONE_QUERY_READS:
        if not service.shows_rows(resource.schema):
            raise RuntimeError(f"{service.model.__name__} cannot be read in one query")
        _ONE_QUERY_READS.add((id(resource), id(service)))
    principal = current_principal()
    if responses().recent(principal.user_id, current_request().environ):
        hit = resource.hit(checked_session(principal))
        if hit is not None:
            return hit
    connection = driver_connection()
    principal, row = service.read_row(connection, principal, item_id)
    user_id = principal.user_id
    return resource.item(principal, lambda: service.shown_row(connection, row, user_id, args))


# The (resource, service) pairs `read_in_one_query` found can be read so: where every
# field the item's schema shows is a column and reads load no relationships.
_ONE_QUERY_READS: set[tuple[int, int]] = set()


def update(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, changes: Mapping[str, Any]
) -> Response:
    user_id = current_user_id()
    return stale_shows_current(
        resource,
        lambda: resource.updated(
            service.update(db(), user_id, item_id, changes, if_match=if_match())
        ),
        lambda: service.show(db(), user_id, item_id, AS_STORED),
    )


def delete(resource: Resource, service: OwnedService, item_id: uuid.UUID) -> Response:
    user_id = current_user_id()

    def write() -> Response:
        service.delete(db(), user_id, item_id, if_match=if_match())
        return resource.deleted()

    return stale_shows_current(
        resource, write, lambda: service.show(db(), user_id, item_id, AS_STORED)
    )


# The query of a read that asks for nothing: the item as stored.
AS_STORED: Mapping[str, Any] = {"unit": None}


def stale_shows_current(
    resource: Resource, write: Callable[[], Response], read: Callable[[], Any]
) -> Response:
    """`write()`, whose If-Match may be stale: then a 412 problem that carries the item as
    it is now (`current`, as its GET shows it) and its ETag, so an app merges an edit made
    offline without asking again. `read` returns the item, or (it as shown, its variant)."""
    try:
        return write()
    except Stale as stale:
        db().rollback()  # nothing of the refused write stays; the read starts afresh
        loaded = read()
        shown, variant = loaded if isinstance(loaded, tuple) else (loaded, "")
        return problem(
            412,
            stale.detail,
            headers={"ETag": etag_of(shown, variant)},
            extensions={"current": orjson.loads(_dumps(resource.dump(shown)))},
        )
