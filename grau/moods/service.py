"""Mood tag and mood rules: tags named by id must be the user's own, and tag deletes reach moods."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, selectinload

from grau.core import crud
from grau.core.domain_errors import Invalid
from grau.db.model import utcnow
from grau.moods.models import Mood, MoodTag, mood_tag_links

# ------------------------------------------------------------------------------ moods


def _own_tags(session: Session, user_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]) -> list[MoodTag]:
    """The user's tags with these ids, in one query; 422 on `tag_ids` if any is not theirs."""
    if not tag_ids:
        return []
    found = list(
        session.scalars(select(MoodTag).where(MoodTag.user_id == user_id, MoodTag.id.in_(tag_ids)))
    )
    # The schema refuses repeated ids, so a shortfall means a foreign or unknown one.
    if len(found) != len(tag_ids):
        known = {tag.id for tag in found}
        # The same words for someone else's tag and for none at all: no existence leak.
        unknown = ", ".join(str(tag_id) for tag_id in tag_ids if tag_id not in known)
        raise Invalid("tag_ids", f"Not one of your mood tags: {unknown}.")
    return found


def _assign_mood(
    session: Session, user_id: uuid.UUID, mood: Mood, values: Mapping[str, Any]
) -> None:
    changes = dict(values)
    # Tags first: the lookup's autoflush then has no half-applied change to write.
    if "tag_ids" in changes:
        mood.tags = _own_tags(session, user_id, changes.pop("tag_ids"))
    crud.apply_changes(mood, changes)


def _filter_moods(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "recorded_from" in args:
        query = query.where(Mood.recorded_at >= args["recorded_from"])
    if "recorded_to" in args:
        query = query.where(Mood.recorded_at <= args["recorded_to"])
    if "value_min" in args:
        query = query.where(Mood.value >= args["value_min"])
    if "value_max" in args:
        query = query.where(Mood.value <= args["value_max"])
    if "tag_id" in args:
        # The link row is enough: the mood is the user's, so a tag on it is too.
        carrying = select(mood_tag_links.c.mood_id).where(mood_tag_links.c.tag_id == args["tag_id"])
        query = query.where(Mood.id.in_(carrying))
    return query


MOODS = crud.OwnedService(
    Mood,
    filter=_filter_moods,
    assign=_assign_mood,
    # One more query per page or item, however many moods and tags.
    options=(selectinload(Mood.tags),),
    conflict="One of the tags was deleted meanwhile; read the tags again and retry.",
)

# -------------------------------------------------------------------------- mood tags


def _filter_tags(query: Select[Any], args: Mapping[str, Any]) -> Select[Any]:
    if "category" in args:
        query = query.where(MoodTag.category == args["category"])
    return query


class MoodTagService(crud.OwnedService):
    """Tags, whose delete also changes the moods that carried them."""

    def delete(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, if_match: str | None
    ) -> None:
        tag = self.get_writable(session, user_id, item_id, if_match=if_match)
        # The database drops the links (ON DELETE CASCADE); the moods' `tag_ids`
        # change with them, so their version (ETag) must too.
        carrying = select(mood_tag_links.c.mood_id).where(mood_tag_links.c.tag_id == tag.id)
        session.execute(
            update(Mood)
            .where(Mood.id.in_(carrying))
            .values(version=Mood.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        crud.remove(session, tag, user_id)


MOOD_TAGS = MoodTagService(
    MoodTag,
    filter=_filter_tags,
    conflict="You already have a mood tag with this label.",
)
