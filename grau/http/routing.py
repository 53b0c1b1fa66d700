"""Werkzeug's URL map, with the usual request matched without its recursive search.

Werkzeug matches a path by a depth-first search of its state machine: a call
per path segment, static transitions tried before the converters' patterns, and
backtracking when a branch fails. For almost every request the first branch it
tries succeeds: the path is static up to its last segment, which is either
static too (`/v1/body-stats`) or one converter's value (`/v1/body-stats/<uuid>`).
`GrauMatcher` follows that first branch in a loop and returns what Werkzeug's
search would return for it; anything else (no match, a method another rule
takes, trailing-slash and merged-slash redirects, WebSockets, an alias, a value
a converter refuses) goes to Werkzeug's own search, so what a request matches,
and every error and redirect, is Werkzeug's. `test_routing` compares the two
for every route grau has. Werkzeug has no public hook for this: the loop reads
the states its matcher builds (`_root`, `State`, `RulePart`, `Rule._converters`;
development/upstream.md).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, MutableMapping
from typing import Any

from werkzeug.datastructures import ImmutableDict
from werkzeug.routing import Map, Rule, RuleFactory, converters
from werkzeug.routing.converters import ValidationError
from werkzeug.routing.matcher import StateMachineMatcher
from werkzeug.routing.rules import RulePart

GROUP = "__werkzeug_"  # (Werkzeug's name for a converter's group in a part's pattern)


class GrauMatcher(StateMachineMatcher):
    """Werkzeug's matcher, with its first branch followed without recursion."""

    def __init__(self, merge_slashes: bool) -> None:
        super().__init__(merge_slashes)
        # Per dynamic part (by id: parts live as long as the map): its pattern, compiled,
        # or None where the loop leaves the part to Werkzeug.
        self._patterns: dict[int, re.Pattern[str] | None] = {}

    def match(
        self, domain: str, path: str, method: str, websocket: bool
    ) -> tuple[Rule, MutableMapping[str, Any]]:
        found = None if websocket else self._first_branch(domain, path, method)
        if found is None:
            return super().match(domain, path, method, websocket)
        return found

    def _first_branch(
        self, domain: str, path: str, method: str
    ) -> tuple[Rule, MutableMapping[str, Any]] | None:
        """The match at the end of Werkzeug's first branch, where there is one (None: ask
        Werkzeug). At each segment that branch takes the static transition if there is
        one, else the first converter (by weight) whose pattern takes the segment."""
        state = self._root.static.get(domain)
        if state is None:
            return None
        values: list[str] = []
        patterns = self._patterns
        for segment in path.split("/"):
            following = state.static.get(segment)
            if following is None:
                for part, dynamic in state.dynamic:  # in Werkzeug's order
                    key = id(part)
                    pattern = patterns[key] if key in patterns else self._pattern(part)
                    if pattern is None:
                        return None
                    matched = pattern.match(segment)
                    if matched is not None:
                        values += matched.groups()
                        following = dynamic
                        break
                else:
                    return None
            state = following
        for rule in state.rules:  # the first that takes the method, as Werkzeug picks it
            if (rule.methods is None or method in rule.methods) and not rule.websocket:
                return _converted(rule, values)
        return None  # (another's method, or a trailing slash: Werkzeug's answer)

    def _pattern(self, part: RulePart) -> re.Pattern[str] | None:
        """A part's pattern, where it takes one segment and its groups are its converters'
        values in order (None: Werkzeug's search matches it)."""
        compiled = re.compile(part.content)
        ours = [name for name in compiled.groupindex if name.startswith(GROUP)]
        # Not one that takes the rest of the path, nor one with groups of other kinds.
        plain = not (part.final or part.suffixed) and compiled.groups == len(ours)
        pattern = self._patterns[id(part)] = compiled if plain else None
        return pattern


def _converted(rule: Rule, values: list[str]) -> tuple[Rule, MutableMapping[str, Any]] | None:
    """The rule and its arguments, as Werkzeug converts them (None: ask Werkzeug, which
    raises what a refused value or an alias calls for)."""
    if rule.alias and rule.map.redirect_defaults:
        return None
    found: dict[str, Any] = {}
    converters = rule._converters
    for name, value in zip(converters, values):  # noqa: B905 (as Werkzeug pairs them)
        try:
            found[name] = converters[name].to_python(value)
        except ValidationError:
            return None
    if rule.defaults:
        found.update(rule.defaults)
    return rule, found


class UUIDConverter(converters.UUIDConverter):
    """Werkzeug's `<uuid:...>`, its value made without `UUID()` parsing it again: the
    pattern took 32 hex digits in 8-4-4-4-12, so the number is all `UUID()` would check
    and store (as `UUID.__setstate__` stores it)."""

    def to_python(self, value: str) -> uuid.UUID:
        found = _new_uuid(uuid.UUID)
        _set(found, "int", int(value.replace("-", ""), 16))
        _set(found, "is_safe", uuid.SafeUUID.unknown)
        return found


_new_uuid = uuid.UUID.__new__
_set = object.__setattr__  # (a UUID is immutable: its own __init__ sets it so)


class GrauMap(Map):
    """Werkzeug's Map, matching with `GrauMatcher` and reading ids with grau's converter."""

    default_converters = ImmutableDict({**Map.default_converters, "uuid": UUIDConverter})

    def __init__(
        self, rules: Iterable[RuleFactory] | None = None, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(None, *args, **kwargs)  # (its rules are added once it matches so)
        self._matcher = GrauMatcher(self.merge_slashes)
        for rule in rules or ():
            self.add(rule)
