"""The fields of a resource of measurements (body stats, nutrition entries), made from
its table (`grau.core.measurements.Measures`) and worded in its own terms."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from grau.core.measurements import Measure, Measures
from grau.http.fields import FullMatch, Number, Text, Timestamp
from grau.http.openapi import choice_name
from grau.http.pages import sort_field
from grau.http.schemas import Case, OneOf

SOURCE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
SOURCE_EXAMPLES = "`manual`, `apple_health`, `health_connect`, `garmin`, `withings`"
# A reading's id at its source needs the source: an id means nothing on its own.
NAMED_AT_SOURCE = {"dependentRequired": {"external_id": ["source"]}}

MEASUREMENT_SORTS = ("recorded_at", "-recorded_at", "created_at", "-created_at", "value", "-value")


class MeasurementFields:
    """The fields of one resource's measurements (`type`, `value`, `unit`, `recorded_at`,
    `note`), in its own words.

    Their choices and bounds come from the table (`grau.core.measurements`);
    `cases(...)` is the table as the cases of a body (`grau.http.schemas.OneOf`):
    one per type, split by unit, each with the value's bounds in that unit.
    """

    def __init__(
        self,
        measures: Measures,
        *,
        type_doc: str,
        value_doc: str,
        example: tuple[str, float, str],  # a type, value and unit that fit together
        recorded_at_doc: str,
        note_example: str,
    ) -> None:
        self.measures = measures
        self.type_metadata = {"description": type_doc, "example": example[0]}
        self.value_metadata = {"description": value_doc, "example": example[1]}
        self.unit_example = example[2]
        self.recorded_at_metadata = {
            "description": recorded_at_doc,
            "example": "2026-11-20T07:30:00+01:00",
        }
        self.note_metadata = {
            "description": "Free text, up to 1000 characters.",
            "example": note_example,
        }

    def cases(self, *, update: bool = False) -> OneOf:
        """A body as one case per type, each one case per unit (with the value's bounds in
        that unit). An update, which sends the three together or none of them, is either such a
        measurement or a change of the other fields only."""
        # Told apart by `type`'s constant, with no discriminator: a discriminator's mapping
        # must name object schemas (openapi-typescript warns otherwise), and a type with
        # several units is itself one of them, by a discriminator on `unit`.
        by_type = OneOf(tuple(self._type_case(t, m) for t, m in self.measures.types.items()))
        if not update:
            return by_type
        measurement = ("type", "value", "unit")
        return OneOf(
            (
                Case(
                    "Measurement",
                    (),
                    required=measurement,
                    description="A change of the type, value and unit (sent together), "
                    "and of any other field sent.",
                    cases=by_type,
                ),
                Case(
                    "Details",
                    tuple((name, None) for name in measurement),
                    description="A change that keeps the type, value and unit.",
                ),
            )
        )

    def _type_case(self, value_type: str, measure: Measure) -> Case:
        name = choice_name(value_type)
        by_unit = tuple(
            Case(
                name + (choice_name(unit) if len(measure.units) > 1 else ""),
                (
                    ("unit", {"type": "string", "const": unit}),
                    ("value", {"type": "number", "minimum": low, "maximum": high}),
                ),
                description=f"{value_type.replace('_', ' ').capitalize()} in {unit}.",
            )
            for unit, (low, high) in self.measures.limits[value_type].items()
        )
        is_type = ("type", {"type": "string", "const": value_type})
        if len(by_unit) == 1:
            return Case(name, (is_type, *by_unit[0].fields), description=by_unit[0].description)
        units = ("unit", {"type": "string", "enum": list(measure.units)})
        return Case(name, (is_type, units), cases=OneOf(by_unit, discriminator="unit"))

    def type(self, description: str | None = None, **kwargs: Any) -> fields.String:
        """The type; with `description`, a list's filter, which has no example: Swagger UI
        would fill it in, and a first "Try it out" would list one type only."""
        metadata = {"description": description} if description else self.type_metadata
        return fields.String(
            validate=validate.OneOf(tuple(self.measures.types)), metadata=metadata, **kwargs
        )

    def value(self, **kwargs: Any) -> fields.Float:
        return Number(
            allow_nan=False,
            # The widest bounds of any unit; each type's and unit's own are in the rules.
            validate=validate.Range(min=self.measures.floor, max=self.measures.cap),
            metadata=self.value_metadata,
            **kwargs,
        )

    def unit(self, **kwargs: Any) -> fields.String:
        return fields.String(
            validate=validate.OneOf(self.measures.units),
            metadata={
                "description": f"Unit of `value`, valid for the type ({self.measures.doc}).",
                "example": self.unit_example,
            },
            **kwargs,
        )

    def sort(self) -> fields.String:
        """A list's order: newest first unless asked; `value` orders by the quantity."""
        return sort_field(MEASUREMENT_SORTS, "-recorded_at")

    def recorded_at(self, **kwargs: Any) -> fields.AwareDateTime:
        return Timestamp(metadata=self.recorded_at_metadata, **kwargs)

    def note(self, **kwargs: Any) -> fields.String:
        return Text(max_length=1000, allow_none=True, metadata=self.note_metadata, **kwargs)

    @staticmethod
    def source(description: str | None = None, **kwargs: Any) -> fields.String:
        """A reading's source; `description` for a filter."""
        stated = "Where the reading came from, in lowercase letters, digits and `_` (for "
        stated += f"example {SOURCE_EXAMPLES}); null if not said. Set when it is made."
        metadata = {"description": description or stated}
        if description is None:  # a filter has none: Swagger UI would fill it in
            metadata["example"] = "apple_health"
        # Shown as null when not said; a create that sends one sends a string (an
        # `external_id` needs it: JSON Schema's dependentRequired counts a null as sent).
        kwargs.setdefault("allow_none", bool(kwargs.get("dump_only")))
        return Text(
            max_length=32,
            validate=FullMatch(SOURCE_PATTERN, error="Lowercase letters, digits and _."),
            metadata=metadata,
            **kwargs,
        )

    @staticmethod
    def external_id(**kwargs: Any) -> fields.String:
        metadata = {
            "description": "The reading's id at its `source` (which must be sent with it). A "
            "create naming a `source` and `external_id` the user already has updates that "
            "reading (200) instead of adding one (201), so pushing the same readings again, "
            "or from two devices, keeps each once. Null if none.",
            "example": "8F2A6C1E-5B7D-4C3A-9E1F-2D4B6A8C0E13",
        }
        return Text(min_length=1, max_length=128, allow_none=True, metadata=metadata, **kwargs)

    def read_unit(self, description: str) -> fields.String:
        """A read's `unit`, with no example: a first "Try it out" shows values as stored."""
        return fields.String(
            validate=validate.OneOf(self.measures.units), metadata={"description": description}
        )
