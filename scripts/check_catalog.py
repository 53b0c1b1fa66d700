#!/usr/bin/env python3
"""Validate grau's curated system catalog (equipment.json and exercises.json).

Usage:
    python3 scripts/check_catalog.py [DATA_DIR]

DATA_DIR defaults to grau/catalog/data. Exits 0 and prints
a summary when both files pass every rule; otherwise prints one line per
violation to stderr and exits 1. Standard library only (Python 3.11+).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

MUSCLE_GROUPS = (
    "chest",
    "upper_back",
    "lats",
    "lower_back",
    "traps",
    "front_delts",
    "side_delts",
    "rear_delts",
    "biceps",
    "triceps",
    "forearms",
    "abs",
    "obliques",
    "hip_flexors",
    "glutes",
    "quads",
    "hamstrings",
    "adductors",
    "abductors",
    "calves",
    "neck",
)
EXERCISE_CATEGORIES = ("strength", "cardio", "stretching", "plyometrics", "mobility", "balance")
LATERALITIES = ("bilateral", "unilateral")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
EQUIPMENT_CATEGORIES = (
    "free_weights",
    "machines",
    "cables",
    "bodyweight",
    "cardio_machines",
    "accessories",
)

NO_EQUIPMENT_SLUG = "bodyweight"
EQUIPMENT_KEYS = ("slug", "name", "category", "description")
EXERCISE_KEYS = (
    "slug",
    "name",
    "category",
    "primary_muscles",
    "secondary_muscles",
    "equipment",
    "laterality",
    "difficulty",
    "instructions",
)

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_NAME_LEN = 80
MAX_DESCRIPTION_LEN = 300
MIN_EQUIPMENT, MAX_EQUIPMENT = 20, 30
MIN_EXERCISES = 130
MIN_STEPS, MAX_STEPS = 3, 6
MIN_STEP_LEN, MAX_STEP_LEN = 20, 300
MIN_PRIMARY_PER_MUSCLE = 3
MIN_PER_CATEGORY = 4
MIN_UNILATERAL = 15
MIN_PER_DIFFICULTY = 15


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


def load_json(path: Path, report: Report):
    """Load a JSON file and check it is canonically formatted."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.error(path.name, f"cannot read file ({exc})")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.error(path.name, f"not valid UTF-8 ({exc})")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        report.error(path.name, f"invalid JSON ({exc})")
        return None
    if not isinstance(data, list):
        report.error(path.name, "top-level value must be a JSON array")
        return None
    expected = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if text != expected:
        report.error(
            path.name,
            "not canonically formatted (2-space indent, UTF-8 characters "
            "unescaped, single trailing newline)",
        )
    slugs = [item.get("slug") for item in data if isinstance(item, dict)]
    if all(isinstance(s, str) for s in slugs) and slugs != sorted(slugs):
        report.error(path.name, "entries are not sorted by slug")
    return data


def check_keys(item: dict, keys: tuple[str, ...], where: str, report: Report) -> bool:
    missing = [k for k in keys if k not in item]
    extra = [k for k in item if k not in keys]
    if missing:
        report.error(where, f"missing keys {missing}")
    if extra:
        report.error(where, f"unexpected keys {extra}")
    return not missing


def check_slug_and_name(
    item: dict, where: str, seen_slugs: set, seen_names: dict, report: Report
) -> None:
    slug, name = item["slug"], item["name"]
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        report.error(where, f"slug {slug!r} is not lowercase snake_case")
    elif slug in seen_slugs:
        report.error(where, f"duplicate slug {slug!r}")
    else:
        seen_slugs.add(slug)
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        report.error(
            where, f"name {name!r} must be a non-empty string without leading/trailing whitespace"
        )
        return
    if len(name) > MAX_NAME_LEN:
        report.error(where, f"name is {len(name)} characters (max {MAX_NAME_LEN})")
    key = name.casefold()
    if key in seen_names:
        report.error(where, f"duplicate name {name!r} (also used by {seen_names[key]!r})")
    else:
        seen_names[key] = slug


def check_equipment(data: list, report: Report) -> dict[str, dict]:
    by_slug: dict[str, dict] = {}
    seen_slugs: set = set()
    seen_names: dict = {}
    if not MIN_EQUIPMENT <= len(data) <= MAX_EQUIPMENT:
        report.error(
            "equipment.json", f"has {len(data)} items (expected {MIN_EQUIPMENT}-{MAX_EQUIPMENT})"
        )
    for i, item in enumerate(data):
        where = f"equipment.json[{i}]"
        if not isinstance(item, dict):
            report.error(where, "must be an object")
            continue
        if isinstance(item.get("slug"), str):
            where = f"equipment {item['slug']!r}"
        if not check_keys(item, EQUIPMENT_KEYS, where, report):
            continue
        check_slug_and_name(item, where, seen_slugs, seen_names, report)
        if item["category"] not in EQUIPMENT_CATEGORIES:
            report.error(where, f"unknown category {item['category']!r}")
        desc = item["description"]
        if not isinstance(desc, str) or not desc.strip():
            report.error(where, "description must be a non-empty string")
        elif len(desc) > MAX_DESCRIPTION_LEN:
            report.error(
                where, f"description is {len(desc)} characters (max {MAX_DESCRIPTION_LEN})"
            )
        if isinstance(item["slug"], str):
            by_slug[item["slug"]] = item
    if NO_EQUIPMENT_SLUG not in by_slug:
        report.error("equipment.json", f"missing the no-equipment item {NO_EQUIPMENT_SLUG!r}")
    return by_slug


def check_muscle_list(
    value, field: str, where: str, report: Report, allow_empty: bool
) -> list[str]:
    if not isinstance(value, list):
        report.error(where, f"{field} must be a list")
        return []
    if not value and not allow_empty:
        report.error(where, f"{field} must not be empty")
    for m in value:
        if m not in MUSCLE_GROUPS:
            report.error(where, f"{field} has unknown muscle group {m!r}")
    dupes = sorted(m for m, n in Counter(value).items() if n > 1)
    if dupes:
        report.error(where, f"{field} lists {dupes} more than once")
    return [m for m in value if isinstance(m, str)]


def check_instructions(steps, where: str, report: Report) -> None:
    if not isinstance(steps, list):
        report.error(where, "instructions must be a list")
        return
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        report.error(
            where, f"has {len(steps)} instruction steps (expected {MIN_STEPS}-{MAX_STEPS})"
        )
    for n, step in enumerate(steps, 1):
        label = f"{where} step {n}"
        if not isinstance(step, str):
            report.error(label, "must be a string")
            continue
        if step != step.strip() or "  " in step:
            report.error(label, "has stray whitespace")
        if not MIN_STEP_LEN <= len(step) <= MAX_STEP_LEN:
            report.error(
                label, f"is {len(step)} characters (expected {MIN_STEP_LEN}-{MAX_STEP_LEN})"
            )
        if not step[:1].isupper() and not step[:1].isdigit():
            report.error(label, "must start with a capital letter or digit")
        if not step.endswith((".", "!", "?")):
            report.error(label, "must end with sentence punctuation (. ! ?)")
    dupes = [s for s, n in Counter(s for s in steps if isinstance(s, str)).items() if n > 1]
    if dupes:
        report.error(where, f"repeats instruction step(s) {dupes}")


def check_exercises(data: list, equipment: dict[str, dict], report: Report) -> list[dict]:
    valid: list[dict] = []
    seen_slugs: set = set()
    seen_names: dict = {}
    for i, item in enumerate(data):
        where = f"exercises.json[{i}]"
        if not isinstance(item, dict):
            report.error(where, "must be an object")
            continue
        if isinstance(item.get("slug"), str):
            where = f"exercise {item['slug']!r}"
        if not check_keys(item, EXERCISE_KEYS, where, report):
            continue
        check_slug_and_name(item, where, seen_slugs, seen_names, report)
        if item["category"] not in EXERCISE_CATEGORIES:
            report.error(where, f"unknown category {item['category']!r}")
        if item["laterality"] not in LATERALITIES:
            report.error(where, f"unknown laterality {item['laterality']!r}")
        if item["difficulty"] not in DIFFICULTIES:
            report.error(where, f"unknown difficulty {item['difficulty']!r}")

        primary = check_muscle_list(
            item["primary_muscles"], "primary_muscles", where, report, allow_empty=False
        )
        secondary = check_muscle_list(
            item["secondary_muscles"], "secondary_muscles", where, report, allow_empty=True
        )
        both = sorted(set(primary) & set(secondary))
        if both:
            report.error(where, f"{both} listed as both primary and secondary")

        gear = item["equipment"]
        if not isinstance(gear, list) or not gear:
            report.error(
                where,
                f"equipment must be a non-empty list "
                f"(use [{NO_EQUIPMENT_SLUG!r}] when none is needed)",
            )
        else:
            for g in gear:
                if g not in equipment:
                    report.error(where, f"unknown equipment {g!r}")
            if len(set(map(str, gear))) != len(gear):
                report.error(where, "equipment lists an item more than once")
            if NO_EQUIPMENT_SLUG in gear and len(gear) > 1:
                report.error(
                    where, f"{NO_EQUIPMENT_SLUG!r} must not be combined with other equipment"
                )

        check_instructions(item["instructions"], where, report)
        valid.append(item)
    return valid


def check_coverage(exercises: list[dict], equipment: dict[str, dict], report: Report) -> dict:
    where = "coverage"
    if len(exercises) < MIN_EXERCISES:
        report.error(where, f"only {len(exercises)} exercises (need at least {MIN_EXERCISES})")

    primary_counts = Counter(
        m for e in exercises for m in e["primary_muscles"] if isinstance(m, str)
    )
    for m in MUSCLE_GROUPS:
        if primary_counts[m] < MIN_PRIMARY_PER_MUSCLE:
            report.error(
                where,
                f"muscle group {m!r} is primary in {primary_counts[m]} "
                f"exercises (need at least {MIN_PRIMARY_PER_MUSCLE})",
            )

    categories = Counter(e["category"] for e in exercises)
    for c in EXERCISE_CATEGORIES:
        if c != "strength" and categories[c] < MIN_PER_CATEGORY:
            report.error(
                where,
                f"category {c!r} has {categories[c]} exercises (need at least {MIN_PER_CATEGORY})",
            )
    if categories and categories["strength"] < max(categories.values()):
        report.error(where, "strength should be the largest category")

    laterality = Counter(e["laterality"] for e in exercises)
    if laterality["unilateral"] < MIN_UNILATERAL:
        report.error(
            where,
            f"only {laterality['unilateral']} unilateral exercises "
            f"(need at least {MIN_UNILATERAL})",
        )

    difficulty = Counter(e["difficulty"] for e in exercises)
    for d in DIFFICULTIES:
        if difficulty[d] < MIN_PER_DIFFICULTY:
            report.error(
                where,
                f"difficulty {d!r} has {difficulty[d]} exercises "
                f"(need at least {MIN_PER_DIFFICULTY})",
            )

    used = {g for e in exercises if isinstance(e["equipment"], list) for g in e["equipment"]}
    for slug in sorted(set(equipment) - used):
        report.error(where, f"equipment {slug!r} is not used by any exercise")

    return {
        "category": categories,
        "difficulty": difficulty,
        "laterality": laterality,
        "primary": primary_counts,
    }


def fmt(counter: Counter, order: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={counter[k]}" for k in order)


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "grau" / "catalog" / "data"
    data_dir = Path(argv[1]) if len(argv) > 1 else default
    report = Report()

    equipment_data = load_json(data_dir / "equipment.json", report)
    exercise_data = load_json(data_dir / "exercises.json", report)
    equipment = check_equipment(equipment_data, report) if equipment_data is not None else {}
    stats = None
    if exercise_data is not None:
        exercises = check_exercises(exercise_data, equipment, report)
        stats = check_coverage(exercises, equipment, report)

    if report.errors:
        for line in report.errors:
            print(f"ERROR {line}", file=sys.stderr)
        print(f"catalog check FAILED: {len(report.errors)} problem(s)", file=sys.stderr)
        return 1

    print(f"equipment: {len(equipment)} items")
    print(f"exercises: {len(exercise_data)} items")
    print(f"  category:   {fmt(stats['category'], EXERCISE_CATEGORIES)}")
    print(f"  difficulty: {fmt(stats['difficulty'], DIFFICULTIES)}")
    print(f"  laterality: {fmt(stats['laterality'], LATERALITIES)}")
    print(
        f"  min primary exercises per muscle group: "
        f"{min(stats['primary'][m] for m in MUSCLE_GROUPS)}"
    )
    print("catalog check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
