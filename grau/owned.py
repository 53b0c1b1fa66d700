"""Everything a user owns, resource by resource: how each kind of item is read and
shown, exactly as its own GET shows it. The changes feed (grau.sync) and the export
(grau.portability) both list items of every kind through it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grau.accounts.models import User
from grau.accounts.routes import USERS
from grau.body_stats.routes import RESOURCE as BODY_STAT
from grau.body_stats.service import BODY_STATS
from grau.catalog.routes import EQUIPMENT_RESOURCE, EXERCISE_RESOURCE
from grau.catalog.service import EQUIPMENT, EXERCISES
from grau.http.views import AS_STORED, Resource
from grau.moods.routes import MOOD_RESOURCE, MOOD_TAG_RESOURCE
from grau.moods.service import MOOD_TAGS, MOODS
from grau.nutrition.routes import RESOURCE as NUTRITION_ENTRY
from grau.nutrition.service import NUTRITION
from grau.plans.routes import PLAN_RESOURCE
from grau.plans.service import PLANS
from grau.workouts.routes import SETS, WORKOUT_RESOURCE
from grau.workouts.service import WORKOUT_SETS, WORKOUTS


@dataclass(frozen=True)
class Kind:
    """One kind of item a user owns."""

    # Its service (an `OwnedService`, or a nested one for sets); None: the profile, which
    # is the user row itself.
    service: Any
    resource: Resource  # how its GET shows it: `resource.dump(shown(item))`

    @property
    def model(self) -> type[Any]:
        return self.service.model if self.service is not None else User

    @property
    def options(self) -> tuple[Any, ...]:
        return getattr(self.service, "options", ())  # a nested service has none

    def shown(self, item: Any) -> Any:
        """The item as a read that asks for nothing shows it (`AS_STORED`)."""
        present = getattr(self.service, "present", None)
        return present(item, AS_STORED)[0] if present else item

    def load(self, session: Session, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, Any]:
        """Items by id, shown: one query (and its loader options' queries)."""
        model = self.model
        items = session.scalars(select(model).where(model.id.in_(ids)).options(*self.options))
        return {item.id: self.shown(item) for item in items}


# By the changes feed's names for them.
KINDS: dict[str, Kind] = {
    "profile": Kind(None, USERS),
    "body_stat": Kind(BODY_STATS, BODY_STAT),
    "nutrition_entry": Kind(NUTRITION, NUTRITION_ENTRY),
    "mood_tag": Kind(MOOD_TAGS, MOOD_TAG_RESOURCE),
    "mood": Kind(MOODS, MOOD_RESOURCE),
    "equipment": Kind(EQUIPMENT, EQUIPMENT_RESOURCE),
    "exercise": Kind(EXERCISES, EXERCISE_RESOURCE),
    "workout": Kind(WORKOUTS, WORKOUT_RESOURCE),
    "workout_set": Kind(WORKOUT_SETS, SETS),
    "plan": Kind(PLANS, PLAN_RESOURCE),
}
