"""A generator that validates keeps the contract's rules between fields: the pydantic
models datamodel-code-generator makes from the committed spec refuse what the server
refuses (a 900 kg weight) and take what it takes, case by case (issue 15)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from conftest import WEIGHT

ROOT = Path(__file__).resolve().parents[1]
WATER = {"type": "water", "value": 250, "unit": "ml", "recorded_at": "2026-11-20T07:30:00+01:00"}
SET = {"exercise_id": "00000000-0000-0000-0000-000000000000", "reps": 5}
FAT = {**WEIGHT, "type": "body_fat", "unit": "%"}
NO_WEIGHT = {"weight": None, "weight_unit": None}

# (model, body, whether the server takes it): each row a rule the spec states.
BODIES = {
    "900 kg": ("BodyStatCreate", {**WEIGHT, "value": 900}, False),
    "900 lb": ("BodyStatCreate", {**WEIGHT, "value": 900, "unit": "lb"}, True),
    "650 kg": ("BodyStatCreate", {**WEIGHT, "value": 650}, True),
    "a weight in cm": ("BodyStatCreate", {**WEIGHT, "unit": "cm"}, False),
    "90 % body fat": (
        "BodyStatCreate",
        {**FAT, "value": 90},
        False,
    ),
    "20 % body fat": (
        "BodyStatCreate",
        {**FAT, "value": 20},
        True,
    ),
    "21 l of water": ("NutritionEntryCreate", {**WATER, "value": 21, "unit": "l"}, False),
    "20 l of water": ("NutritionEntryCreate", {**WATER, "value": 20, "unit": "l"}, True),
    "water in g": ("NutritionEntryCreate", {**WATER, "unit": "g"}, False),
    "a note only": ("BodyStatUpdate", {"note": "after the run"}, True),
    "a change to 900 kg": ("BodyStatUpdate", {"type": "weight", "value": 900, "unit": "kg"}, False),
    "a change to 90 kg": ("BodyStatUpdate", {"type": "weight", "value": 90, "unit": "kg"}, True),
    "a value alone": ("BodyStatUpdate", {"value": 70}, False),
    "a set of 1001 kg": ("WorkoutSetCreate", {**SET, "weight": 1001, "weight_unit": "kg"}, False),
    "a set of 1001 lb": ("WorkoutSetCreate", {**SET, "weight": 1001, "weight_unit": "lb"}, True),
    "a weight without unit": ("WorkoutSetCreate", {**SET, "weight": 100}, False),
    "a set without weight": ("WorkoutSetCreate", SET, True),
    "a null weight alone": ("WorkoutSetCreate", {**SET, "weight": None}, False),
    "a set with both null": (
        "WorkoutSetCreate",
        {**SET, **NO_WEIGHT},
        True,
    ),
    "clearing one of the two": ("WorkoutSetUpdate", {"weight": None, "weight_unit": "kg"}, False),
}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The models datamodel-code-generator makes from openapi/openapi.json, imported."""
    out = tmp_path_factory.mktemp("generated") / "grau_models.py"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("datamodel-codegen")),
            "--input", str(ROOT / "openapi" / "openapi.json"),
            "--input-file-type", "openapi",
            "--output-model-type", "pydantic_v2.BaseModel",
            "--formatters", "ruff-format",
            "--output", str(out),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    spec = importlib.util.spec_from_file_location("grau_models", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic looks its generic models' module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _takes(model: type[pydantic.BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except pydantic.ValidationError:
        return False
    return True


@pytest.mark.parametrize(("name", "body", "taken"), BODIES.values(), ids=BODIES)
def test_generated_models_take_and_refuse_what_the_server_does(models, name, body, taken):
    assert _takes(getattr(models, name), body) is taken


def test_the_refusal_names_the_case_and_the_field(models):
    with pytest.raises(pydantic.ValidationError) as refused:
        models.BodyStatWeightCreate.model_validate({**WEIGHT, "value": 900})

    assert [error["loc"] for error in refused.value.errors()] == [("kg", "value")]


@pytest.mark.parametrize(
    ("name", "body", "taken"),
    [row for row in BODIES.values() if row[0].endswith("Create") and "exercise_id" not in row[1]],
)
def test_the_server_agrees_with_the_rows(client, user, name, body, taken):
    url = "/v1/body-stats" if name.startswith("BodyStat") else "/v1/nutrition-entries"

    response = client.post(url, json=body, headers=user.headers)

    assert response.status_code == (201 if taken else 422)
