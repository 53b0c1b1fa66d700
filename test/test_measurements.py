"""The measures tables (grau.core.measurements): one statement of each type's units and
range, from which the check, the documented bounds and the messages all come."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from spec_cases import SCHEMAS, measurement_bounds

from grau.body_stats.models import STATS
from grau.core.domain_errors import Invalid
from grau.core.units import convert
from grau.nutrition.models import AMOUNTS

TABLES = {"body stats": (STATS, "BodyStatCreate"), "nutrition": (AMOUNTS, "NutritionEntryCreate")}
STEP = 0.0001  # the documented bounds have 4 decimals


BOUNDS = [
    pytest.param(measures, *bounds, id=f"{name}: {bounds[0]} in {bounds[1]}")
    for name, (measures, body) in TABLES.items()
    for bounds in measurement_bounds(body)
]


def _checked(measures, kind, unit, value):
    entry = SimpleNamespace(type=kind, unit=unit, value=value, canonical_value=None)
    measures.check(entry)
    return entry.canonical_value


@pytest.mark.parametrize(("measures", "kind", "unit", "low", "high"), BOUNDS)
def test_the_documented_bounds_are_exactly_the_checked_ones(measures, kind, unit, low, high):
    assert _checked(measures, kind, unit, low) is not None
    assert _checked(measures, kind, unit, high) is not None
    for outside in (low - STEP, high + STEP):
        with pytest.raises(Invalid) as refused:
            _checked(measures, kind, unit, outside)
        assert "value" in refused.value.errors


def test_every_type_and_unit_of_the_tables_is_documented():
    for measures, body in TABLES.values():
        documented = {(kind, unit) for kind, unit, _, _ in measurement_bounds(body)}
        assert documented == {(t, u) for t, m in measures.types.items() for u in m.units}


def test_each_case_of_a_body_is_a_component_named_after_its_type_and_unit():
    value = SCHEMAS["NutritionEntryWaterMlCreate"]["properties"]["value"]
    assert (value["minimum"], value["maximum"]) == (0, 20_000)
    assert SCHEMAS["BodyStatWeightCreate"]["discriminator"]["mapping"] == {
        unit: f"#/components/schemas/BodyStatWeight{name}Create"
        for unit, name in (("kg", "Kg"), ("lb", "Lb"), ("st", "St"))
    }
    assert "BodyStatBodyFatCreate" in SCHEMAS  # one unit: no split by unit


@pytest.mark.parametrize(
    ("measures", "kind", "unit", "value", "detail"),
    [
        (STATS, "weight", "kg", 700, "A weight must be between 0.5 and 650 kg."),
        (
            STATS,
            "weight",
            "lb",
            1,
            "A weight must be between 1.1024 and 1433.0047 lb (0.5-650 kg).",
        ),
        (STATS, "body_fat", "%", 90, "A body_fat must be between 1 and 80 %."),
        (AMOUNTS, "water", "ml", 20_001, "One water entry is between 0 and 20000 ml (20 l)."),
        (AMOUNTS, "fat", "mg", -1, "One fat entry is between 0 and 2000000 mg (2 kg)."),
        (AMOUNTS, "calories", "kcal", 30_000, "One calories entry is between 0 and 20000 kcal."),
    ],
)
def test_an_implausible_value_is_refused_with_the_bounds_in_its_unit(
    measures, kind, unit, value, detail
):
    with pytest.raises(Invalid) as refused:
        _checked(measures, kind, unit, value)
    assert refused.value.errors == {"value": [detail]}


@pytest.mark.parametrize(
    ("measures", "kind", "unit", "detail"),
    [
        (STATS, "height", "kg", "A height is measured in cm, in."),
        (AMOUNTS, "water", "g", "Water is logged in ml, l, fl_oz."),
    ],
)
def test_a_unit_the_type_is_not_logged_in_is_refused(measures, kind, unit, detail):
    with pytest.raises(Invalid) as refused:
        _checked(measures, kind, unit, 1)
    assert refused.value.errors == {"unit": [detail]}


def test_the_check_stores_the_value_in_its_quantitys_base_unit():
    assert _checked(STATS, "weight", "lb", 100) == pytest.approx(45.359237)
    assert _checked(AMOUNTS, "water", "l", 1.5) == pytest.approx(1500)
    assert _checked(AMOUNTS, "calories", "kj", 4.184) == pytest.approx(1)


@pytest.mark.parametrize("measures", [STATS, AMOUNTS], ids=["body stats", "nutrition"])
def test_a_value_valid_in_one_unit_is_within_the_widest_bounds_read_in_any_other(
    measures: Any,
) -> None:
    """A read shows a value in the unit it asks for (`?unit=st` of a weight logged as
    0.5 kg is 0.07874 st): the value field's documented bounds must hold it."""
    for per_unit in measures.limits.values():
        for stored, (low, high) in per_unit.items():
            for shown in per_unit:
                assert measures.floor <= convert(low, stored, shown)
                assert convert(high, stored, shown) <= measures.cap
