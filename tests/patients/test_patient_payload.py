"""Payloads into wire JSON (``_payload``): dicts, SDK models, pydantic models (issue 9.4)."""

from __future__ import annotations

import enum
import math
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from _patient_helpers import NIK, PATIENT_PATH, FakePlatform, json_answer, minimal_wire
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from sehatmu_async import (
    WIB,
    ConfigurationError,
    HumanName,
    Identifier,
    PatchOperation,
    Patient,
    SehatMuClient,
)
from sehatmu_async._payload import to_wire, wire_value

NAN_AND_INF = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", NAN_AND_INF)
def test_nan_and_infinity_are_refused_with_their_path(bad: float) -> None:
    payload = {"resourceType": "Observation", "component": [{"valueQuantity": {"value": bad}}]}
    with pytest.raises(ConfigurationError, match=r"\$\.component\[0\]\.valueQuantity\.value"):
        to_wire(payload)
    with pytest.raises(ConfigurationError, match="NaN or Infinity"):
        wire_value(bad)
    with pytest.raises(ConfigurationError, match=r"\$\[1\]"):
        PatchOperation.replace("/x", [1.5, bad])


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (Decimal("1.5"), "Decimal"),
        ({1, 2}, "set"),
        (b"31", "bytes"),
        (object(), "object"),
        (datetime(2023, 8, 23, 17, 35), "naive"),
        (2**64, "64 bits"),
        ("\ud800", "surrogate"),
        ({1: "x"}, "key of type int"),
    ],
)
def test_values_json_cannot_carry_are_refused_with_their_path(bad: Any, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why) as caught:
        to_wire({"name": [{"period": {"start": bad}}]}, what="a Patient")
    assert "a Patient: $.name[0].period.start" in caught.value.message
    assert "nothing was sent" in caught.value.message


def test_odd_keys_are_quoted_in_the_path() -> None:
    with pytest.raises(ConfigurationError, match=r"\$\['odd key'\]\[0\]"):
        to_wire({"odd key": [math.nan]})


def test_the_bad_value_is_not_in_the_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        to_wire({"identifier": [{"value": Decimal(NIK)}]})
    assert NIK not in caught.value.message


def test_dates_and_aware_datetimes_go_out_in_the_platform_format() -> None:
    wire = to_wire(
        {
            "birthDate": date(1990, 5, 2),
            "deceasedDateTime": datetime(2023, 8, 23, 17, 35, tzinfo=WIB),
            "period": ({"start": datetime(2023, 1, 1, tzinfo=timezone.utc)},),
        }
    )
    assert wire == {
        "birthDate": "1990-05-02",
        "deceasedDateTime": "2023-08-23T10:35:00+00:00",
        "period": [{"start": "2023-01-01T00:00:00+00:00"}],
    }


def test_a_utc_z_string_is_left_to_the_preflight() -> None:
    assert to_wire({"x": "2023-01-01T00:00:00Z"}) == {"x": "2023-01-01T00:00:00Z"}


def test_the_result_is_a_copy() -> None:
    payload: dict[str, Any] = {"name": [{"given": ["Budi"]}]}
    wire = to_wire(payload)
    payload["name"][0]["given"].append("Santoso")
    assert wire == {"name": [{"given": ["Budi"]}]}


def test_enums_go_out_as_their_values() -> None:
    class Gender(enum.Enum):
        MALE = "male"

    assert to_wire({"gender": Gender.MALE}) == {"gender": "male"}


def test_none_is_refused_in_dicts_and_patch_values() -> None:
    with pytest.raises(ConfigurationError, match=r"\$\.gender is None"):
        to_wire({"gender": None})
    with pytest.raises(ConfigurationError, match="cannot be None"):
        wire_value(None)


def test_non_objects_are_refused() -> None:
    for bad in ([1], "x", 3, None):
        with pytest.raises(ConfigurationError, match="not a JSON object"):
            to_wire(bad)


def test_sdk_models_go_through_the_converter() -> None:
    patient = Patient(
        identifier=[Identifier.nik(NIK)],
        name=[HumanName(text="Budi")],
        birth_date=date(1990, 5, 12),
        deceased=datetime(2023, 8, 23, 17, 35, tzinfo=WIB),
        extra={"serverNull": None, "when": datetime(2023, 1, 1, 7, tzinfo=WIB)},
    )
    wire = to_wire(patient)
    assert wire["resourceType"] == "Patient"
    assert wire["birthDate"] == "1990-05-12"
    assert wire["deceasedDateTime"] == "2023-08-23T10:35:00+00:00"
    # The server's own null is kept verbatim; a datetime put in extra is converted.
    assert wire["serverNull"] is None
    assert wire["when"] == "2023-01-01T00:00:00+00:00"
    assert to_wire(HumanName(family="Santoso")) == {"family": "Santoso"}


def test_a_model_with_nan_in_extra_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"\$\.score"):
        to_wire(Patient(extra={"score": math.nan}))


class _Name(BaseModel):
    family: str | None = None
    given_names: list[str] | None = Field(default=None, alias="given")


class _Person(BaseModel):
    resource_type: str = Field(default="Patient", alias="resourceType")
    birth_date: date | None = Field(default=None, alias="birthDate")
    name: list[_Name] = []
    score: float | None = None


def test_pydantic_models_are_dumped_as_json_by_alias_without_nones() -> None:
    person = _Person(birthDate=date(1990, 5, 2), name=[_Name(family="Santoso")])
    assert to_wire(person) == {
        "resourceType": "Patient",
        "birthDate": "1990-05-02",
        "name": [{"family": "Santoso"}],
    }
    # Nested inside a dict too.
    assert to_wire({"contained": [_Name(given=["Budi"])]}) == {"contained": [{"given": ["Budi"]}]}


def test_pydantic_nan_is_refused_whether_dumped_as_nan_or_null() -> None:
    with pytest.raises(ConfigurationError, match=r"\$\.score (is nan|is null)"):
        to_wire(_Person(score=math.nan))


def test_fhir_resources_patient_is_accepted() -> None:
    from fhir.resources.patient import Patient as FhirPatient

    fhir_patient = FhirPatient.model_validate(minimal_wire())
    wire = to_wire(fhir_patient)
    assert wire["birthDate"] == "1990-05-12"
    assert wire["identifier"][0]["value"] == NIK


json_leaf = (
    st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_docs = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_docs, max_size=4))
def test_property_plain_json_goes_out_unchanged(doc: dict[str, Any]) -> None:
    assert orjson.loads(orjson.dumps(to_wire(doc))) == orjson.loads(orjson.dumps(doc))


@given(json_docs, st.sampled_from(NAN_AND_INF), st.data())
def test_property_a_nan_anywhere_is_refused(doc: Any, bad: float, data: st.DataObject) -> None:
    # Put the bad float at a random place of a random document.
    holder: dict[str, Any] = {"doc": doc}
    node: Any = holder
    key: Any = "doc"
    while isinstance(node[key], (dict, list)) and node[key] and data.draw(st.booleans()):
        node = node[key]
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
    node[key] = bad
    with pytest.raises(ConfigurationError, match="NaN or Infinity"):
        to_wire(holder)


async def test_a_create_with_nan_sends_nothing(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    # 0.1.0 sent the NaN as JSON null in the create payload.
    platform.on("POST", PATIENT_PATH, json_answer({**minimal_wire(), "id": "P1"}, 201))
    payload = {**minimal_wire(), "extension": [{"url": "http://x", "valueDecimal": math.nan}]}
    with pytest.raises(ConfigurationError, match=r"\$\.extension\[0\]\.valueDecimal"):
        await client.patients.create(payload, validate=False)
    with pytest.raises(ConfigurationError, match=r"\$\.multiple"):
        await client.patients.create(Patient(extra={"multiple": math.inf}), validate=False)
    assert platform.received == []


async def test_a_patch_with_nan_sends_nothing(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    with pytest.raises(ConfigurationError, match="NaN or Infinity"):
        await client.patients.patch("P1", [{"op": "replace", "path": "/x", "value": math.nan}])
    with pytest.raises(ConfigurationError, match="NaN or Infinity"):
        await client.patients.patch("P1", [PatchOperation("replace", "/x", -math.inf)])
    assert platform.received == []


async def test_a_pydantic_patient_can_be_created(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    from fhir.resources.patient import Patient as FhirPatient

    platform.on("POST", PATIENT_PATH, json_answer({**minimal_wire(), "id": "P9"}, 201))
    created = await client.patients.create(FhirPatient.model_validate(minimal_wire()))
    assert created.id == "P9"
    assert platform.api_requests[0].json()["birthDate"] == "1990-05-12"
