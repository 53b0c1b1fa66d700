"""A body measurement taken at a moment, and what each type may be."""

from __future__ import annotations

from grau.core.measurements import Measure, Measures
from grau.db.model import Base, Measured

# Each type's units, and its plausible range in its quantity's base unit.
STATS = Measures(
    {
        "weight": Measure(("kg", "lb", "st"), 0.5, 650.0, "kg"),
        "height": Measure(("cm", "in"), 20.0, 300.0, "cm"),
        "body_fat": Measure(("%",), 1.0, 80.0, "%"),
        "waist": Measure(("cm", "in"), 10.0, 300.0, "cm"),
        "chest": Measure(("cm", "in"), 10.0, 300.0, "cm"),
        "hips": Measure(("cm", "in"), 10.0, 300.0, "cm"),
    },
    wrong_unit="A {type} is measured in {units}.",
    out_of_range="A {type} must be between {low} and {high} {unit}{stated}.",
)


class BodyStat(Measured, Base):
    __tablename__ = "body_stats"
