"""Revisions: numbers in the database that change whenever what a user can read changes.

- `users.revision` counts the commits that changed a user's data (their
  profile or anything they own). `bump_user` adds one in the transaction that
  makes the change, so the change and the new number become visible together:
  no crash, timeout or Redis outage can separate them.
- `catalog_revision.revision` does the same for grau's own catalog (the
  exercises and equipment everyone reads), bumped by the seed.

Every authenticated read reads both in the query that checks its token's
session (`grau.accounts.tokens`; an item read's query joins the item to it), and
the response cache (`grau.http.cache`) keys a body by them. A write therefore
needs no invalidation: once it is acknowledged, every later request reads the
new revision, on every instance, and finds no body for it. A body cached
before the write is still there, but under a key nobody asks for again.

Every authenticated write takes its user's row lock first, in the token check
(grau.accounts.tokens), and keeps it until its transaction ends; `bump_user`'s
UPDATE then changes a row the transaction already holds. So one user's writes
commit one at a time, in revision order, and no write takes an item's lock
before its user's: writers cannot deadlock on each other's locks. A create
that is one statement (`bumped_user`, grau.core.crud's `insert_row`) locks no item
at all: its WITH clause bumps, and so locks, the user, and it commits at once.

A commit that changes user data without a bump would let a cached body hide
it. `guard` turns that mistake into an error at the commit instead of a stale
read in production: rows of models marked `Bookkeeping` (login sessions,
refresh tokens, idempotency keys: nothing a read shows) are the only ones a
commit may change without a bump, whether it changes them as objects or with
an UPDATE or DELETE statement.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from sqlalchemy import CTE, BigInteger, CheckConstraint, Table, bindparam, event, exists, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from grau.accounts.models import AuthSession, User
from grau.db.model import Base, Bookkeeping

GUARDED = "grau.guarded"
BUMPED = "grau.revision_bumped"
CHANGED = "grau.user_data_changed"


class CatalogRevision(Bookkeeping, Base):
    """The catalog's revision: one row, bumped whenever the seed changes the catalog."""

    __tablename__ = "catalog_revision"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class Revision(NamedTuple):
    """What a user can read, as of one moment: their data's and the catalog's revision.

    (A named tuple: part of every cached read's key, hashed and compared in C.)"""

    user: int
    catalog: int


# A Core statement on the session's connection: the ORM's bulk-update path costs
# several times more CPU than the UPDATE itself. `updated_at` is named so that its
# `onupdate` does not fire: the revision moved, the profile did not change.
_users: Table = User.__table__  # type: ignore[assignment]
BUMP_USER = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"))
    .values(revision=_users.c.revision + 1, updated_at=_users.c.updated_at)
)


def bumped_user() -> CTE:
    """`BUMP_USER` as the WITH clause of a write that is one statement (PostgreSQL).

    It bumps, and so locks, the user (parameter `user_id`) only while the login
    session (parameter `session_id`) is alive as of the statement's start, and
    returns the user's id: a statement that takes its rows from it changes
    nothing for a session revoked, or an account deleted, before it began (a
    revocation committed while it runs is as concurrent as one committed right
    after the token check of a write in a transaction).
    """
    alive = exists().where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.user_id == _users.c.id,
        AuthSession.revoked_at.is_(None),
    )
    return BUMP_USER.where(alive).returning(_users.c.id).cte("bumped_user")


def bump_user(session: Session, user_id: uuid.UUID) -> None:
    """Mark the user's data as changed by this transaction (call right before committing)."""
    session.flush()  # the change itself first: its errors are the caller's to map
    session.connection().execute(BUMP_USER, {"user_id": user_id})
    session.info[BUMPED] = True


def bump_catalog(session: Session) -> None:
    """Mark grau's catalog as changed by this transaction."""
    changed = session.execute(
        update(CatalogRevision)
        .where(CatalogRevision.id == 1)
        .values(revision=CatalogRevision.revision + 1),
        execution_options={"synchronize_session": False},
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.add(CatalogRevision(id=1, revision=1))
    session.info[BUMPED] = True


class UnrevisedChange(RuntimeError):
    """A commit changed rows a read shows without bumping a revision (a bug in grau)."""


def guard(session: Session) -> None:
    """Refuse, in this session (a request's), a commit of user data without a bump."""
    session.info[GUARDED] = True


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    if not session.info.get(GUARDED) or session.info.get(CHANGED):
        return
    dirty = (obj for obj in session.dirty if session.is_modified(obj))
    if any(not isinstance(obj, Bookkeeping) for obj in (*session.new, *session.deleted, *dirty)):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state: ORMExecuteState) -> None:
    """An UPDATE, DELETE or INSERT statement run through the session changes rows too."""
    session = state.session
    if not session.info.get(GUARDED) or session.info.get(CHANGED):
        return
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, Bookkeeping):
        session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _check(session: Session) -> None:
    if not session.info.get(GUARDED):
        return
    session.flush()  # the commit's own flush comes after this hook
    if session.info.get(CHANGED) and not session.info.get(BUMPED):
        raise UnrevisedChange("this commit changes user data without revisions.bump_user")


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop(BUMPED, None)
