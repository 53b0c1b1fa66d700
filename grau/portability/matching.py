"""Which of grau's catalog exercises an imported exercise name means, if any.

Strong and Hevy name exercises "Movement (Equipment)": "Bench Press (Barbell)", where
grau's catalog says "Barbell Bench Press". A name is tried in three steps, and the first
that answers wins:

1. exact: the normalized name (casefolded, accents, punctuation and hyphens folded to
   spaces, "pullup" spelled "pull up") equals a catalog name's, either as written or
   with the parenthesized equipment moved to the front;
2. alias: `aliases.json` maps the apps' own spellings to a catalog slug, for common
   names the first step cannot see ("Squat (Barbell)" is grau's Barbell Back Squat);
3. fuzzy: the closest catalog name by difflib's ratio on token-sorted normalized names,
   if at least FUZZY_THRESHOLD, every word of each name is a spelling variant of a word
   of the other (same first letter, ratio >= 0.8: "bicep"/"biceps"), and no other
   catalog name is as close.

The word rule is what keeps apart names that differ in one meaningful word:
"Decline Bench Press" is 0.93 close to "Incline Bench Press" as text, "Lat Pulldown
(Cable)" has a word the catalog's "Lat Pulldown" lacks. Anything else is no match, and
the importer gives the user an exercise of their own rather than a wrong catalog one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from importlib import resources

# The whole-name ratio a fuzzy match needs, on top of the word rule. 0.88 takes a
# letter or two wrong in a usual 15-30 character name ("Barbel Bench Pres" -> Barbell
# Bench Press, 0.94) and refuses short names whose words merely look alike
# ("Crunches" vs "Crunch", 0.86): short names are what aliases.json is for.
FUZZY_THRESHOLD = 0.88
WORD_THRESHOLD = 0.8

SPELLINGS = {
    "pullup": "pull up",
    "pullups": "pull up",
    "pushup": "push up",
    "pushups": "push up",
    "chinup": "chin up",
    "chinups": "chin up",
    "situp": "sit up",
    "stepup": "step up",
    "db": "dumbbell",
    "bb": "barbell",
    "kb": "kettlebell",
}
_EQUIPMENT_LAST = re.compile(r"^(?P<movement>.+?)\s*\((?P<equipment>[^()]+)\)\s*$")


@dataclass(frozen=True)
class Match:
    slug: str | None  # a catalog exercise's slug, or None: the importer makes the user's own
    how: str  # "exact", "alias", "fuzzy", "none"
    score: float  # 1.0 for exact and alias, difflib's ratio for fuzzy, 0.0 for none


NO_MATCH = Match(None, "none", 0.0)


def normalize(name: str) -> str:
    """A name folded for comparison: "Pull-Up" and "pull up" and "PULLUP" are one."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = re.sub(r"['\u2019`]", "", text.replace("&", " and "))  # "Farmer\u2019s" is "farmers"
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(SPELLINGS.get(word, word) for word in words)


def forms(name: str) -> list[str]:
    """A name normalized as written and, for "Movement (Equipment)", equipment first."""
    found = _EQUIPMENT_LAST.match(name.strip())
    written = normalize(name)
    if not found:
        return [written] if written else []
    moved = normalize(f"{found['equipment']} {found['movement']}")
    return [written, moved] if moved != written else [written]


def load_aliases() -> dict[str, str]:
    """aliases.json, its keys normalized: an app's spelling -> a catalog slug."""
    text = resources.files("grau.portability").joinpath("aliases.json").read_text("utf-8")
    raw: dict[str, str] = json.loads(text)
    return {normalize(name): slug for name, slug in raw.items()}


class Matcher:
    def __init__(self, catalog: Mapping[str, str]) -> None:
        """`catalog`: slug -> display name of grau's catalog exercises."""
        self._exact = {normalize(display): slug for slug, display in catalog.items()}
        self._aliases = {name: slug for name, slug in load_aliases().items() if slug in catalog}
        self._sorted = {slug: _sorted_words(form) for form, slug in self._exact.items()}

    def match(self, name: str) -> Match:
        candidates = forms(name)
        for form in candidates:
            if form in self._exact:
                return Match(self._exact[form], "exact", 1.0)
        for form in candidates:
            if form in self._aliases:
                return Match(self._aliases[form], "alias", 1.0)
        return self._fuzzy(candidates[0]) if candidates else NO_MATCH

    def _fuzzy(self, form: str) -> Match:
        words = _sorted_words(form)
        best: list[tuple[float, str]] = []
        for slug, other in self._sorted.items():
            score = SequenceMatcher(None, words, other, autojunk=False).ratio()
            if score >= FUZZY_THRESHOLD and _same_words(words.split(), other.split()):
                best.append((score, slug))
        best.sort(reverse=True)
        if not best or (len(best) > 1 and best[0][0] == best[1][0]):
            return NO_MATCH
        score, slug = best[0]
        return Match(slug, "fuzzy", score)


def _sorted_words(form: str) -> str:
    return " ".join(sorted(form.split()))


def _same_words(one: list[str], other: list[str]) -> bool:
    """Every word of each side is a spelling variant of some word of the other."""

    def variant(a: str, b: str) -> bool:
        return a == b or (
            a[0] == b[0] and SequenceMatcher(None, a, b, autojunk=False).ratio() >= WORD_THRESHOLD
        )

    return all(any(variant(a, b) for b in other) for a in one) and all(
        any(variant(b, a) for a in one) for b in other
    )
