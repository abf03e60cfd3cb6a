"""Patient models: wire names, the documented identifiers, region codes, lossless round trips."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from typing import Any

import attrs
import pytest
from _patient_helpers import MOTHER_NIK, NIK, admin_extension, patient_wires
from fhir.resources.R4B.patient import Patient as R4BPatient
from hypothesis import HealthCheck, given, settings

from sehatmu_async import (
    WIB,
    Address,
    AdministrativeCode,
    CodeableConcept,
    Coding,
    Communication,
    ConfigurationError,
    ContactPoint,
    HumanName,
    Identifier,
    Meta,
    Patient,
    Region,
    RegionLevel,
)
from sehatmu_async._converter import converter

ADMIN_URL = "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode"


def full_patient() -> Patient:
    return Patient(
        identifier=[Identifier.nik(NIK)],
        active=True,
        name=[HumanName(use="official", text="Budi Santoso", family="Santoso", given=["Budi"])],
        telecom=[ContactPoint(system="phone", value="08123456789", use="mobile", rank=1)],
        gender="male",
        birth_date=date(1990, 5, 12),
        deceased=datetime(2023, 8, 23, 17, 35, tzinfo=WIB),
        address=[
            Address(
                use="home",
                line=["Jl. Merdeka No. 1"],
                city="Jakarta Pusat",
                postal_code="10110",
                country="ID",
                administrative_code=AdministrativeCode.from_village("3171011001", rt=2, rw="2"),
            )
        ],
        marital_status=CodeableConcept(
            coding=[
                Coding(
                    system="http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                    code="M",
                    display="Married",
                )
            ],
            text="Married",
        ),
        multiple_birth=2,
        communication=[
            Communication(
                language=CodeableConcept(
                    coding=[Coding(system="urn:ietf:bcp:47", code="id-ID", display="Indonesian")]
                ),
                preferred=True,
            )
        ],
        language="id",
    )


def test_wire_form_is_fhir_camel_case() -> None:
    wire = full_patient().to_wire()
    assert wire["resourceType"] == "Patient"
    assert wire["identifier"] == [
        {"use": "official", "system": "https://fhir.kemkes.go.id/id/nik", "value": NIK}
    ]
    assert wire["birthDate"] == "1990-05-12"
    # 17:35 WIB is 10:35 UTC, the only form the platform accepts.
    assert wire["deceasedDateTime"] == "2023-08-23T10:35:00+00:00"
    assert "deceasedBoolean" not in wire
    assert wire["multipleBirthInteger"] == 2
    assert wire["maritalStatus"]["coding"][0]["code"] == "M"
    assert wire["address"][0]["postalCode"] == "10110"
    assert wire["telecom"][0] == {
        "system": "phone",
        "value": "08123456789",
        "use": "mobile",
        "rank": 1,
    }
    assert wire["communication"][0]["preferred"] is True
    # Nothing unset is written: FHIR has no nulls or empty arrays.
    assert "meta" not in wire
    assert "id" not in wire
    assert "active" in wire


def test_administrative_code_has_the_documented_wire_shape() -> None:
    wire = full_patient().to_wire()
    assert wire["address"][0]["extension"] == [
        {
            "url": ADMIN_URL,
            "extension": [
                {"url": "province", "valueCode": "31"},
                {"url": "city", "valueCode": "3171"},
                {"url": "district", "valueCode": "317101"},
                {"url": "village", "valueCode": "3171011001"},
                {"url": "rt", "valueCode": "2"},
                {"url": "rw", "valueCode": "2"},
            ],
        }
    ]


def test_administrative_code_from_a_region_object_or_any_level() -> None:
    village = Region("3171011001", "317101", None, "Gambir", RegionLevel.SUB_DISTRICTS)
    assert AdministrativeCode.from_village(village) == AdministrativeCode(
        province="31", city="3171", district="317101", village="3171011001"
    )
    assert AdministrativeCode.from_region("317101") == AdministrativeCode(
        province="31", city="3171", district="317101"
    )
    with pytest.raises(ConfigurationError, match="10-digit village"):
        AdministrativeCode.from_village("317101")
    with pytest.raises(ConfigurationError, match="Kemendagri"):
        AdministrativeCode.from_region("31710")
    with pytest.raises(ConfigurationError, match="Kemendagri"):
        AdministrativeCode.from_region("31a1")


def test_boolean_choice_elements() -> None:
    wire = Patient(deceased=False, multiple_birth=True).to_wire()
    assert wire == {
        "resourceType": "Patient",
        "deceasedBoolean": False,
        "multipleBirthBoolean": True,
    }
    back = Patient.from_wire(wire)
    assert back.deceased is False
    assert back.multiple_birth is True


def test_read_parses_dates_and_date_times_into_python_types() -> None:
    patient = Patient.from_wire(
        {
            "resourceType": "Patient",
            "birthDate": "1990-05-12",
            "deceasedDateTime": "2023-08-23T10:35:00+00:00",
            "meta": {"versionId": "2", "lastUpdated": "2024-01-02T03:04:05.123Z"},
        }
    )
    assert patient.birth_date == date(1990, 5, 12)
    assert patient.deceased == datetime(2023, 8, 23, 10, 35, tzinfo=timezone.utc)
    assert isinstance(patient.deceased, datetime)
    assert patient.deceased.utcoffset() is not None
    assert patient.meta == Meta(version_id="2", last_updated="2024-01-02T03:04:05.123Z")
    assert patient.meta.last_updated_at == datetime(
        2024, 1, 2, 3, 4, 5, 123000, tzinfo=timezone.utc
    )


def test_a_local_time_offset_on_read_is_written_back_as_utc() -> None:
    patient = Patient.from_wire({"deceasedDateTime": "2023-08-23T17:35:00+07:00"})
    assert patient.to_wire()["deceasedDateTime"] == "2023-08-23T10:35:00+00:00"


def test_naive_datetime_is_refused_on_write() -> None:
    with pytest.raises(ConfigurationError, match="naive"):
        Patient(deceased=datetime(2023, 8, 23, 17, 35)).to_wire()


def test_nik_identifiers() -> None:
    assert Identifier.nik(NIK) == Identifier(
        use="official", system="https://fhir.kemkes.go.id/id/nik", value=NIK
    )
    assert Identifier.nik_ibu(MOTHER_NIK) == Identifier(
        use="official", system="https://fhir.kemkes.go.id/id/nik-ibu", value=MOTHER_NIK
    )
    patient = Patient(identifier=[Identifier.nik_ibu(MOTHER_NIK)])
    assert patient.nik is None
    assert patient.nik_ibu == MOTHER_NIK


@pytest.mark.parametrize(
    "bad",
    [
        "367400001111222",  # the documents' example: 15 digits, a typo
        "31710123456789012",
        "317101234567890a",
        "３１７１０１２３４５６７８９０１",  # full-width digits are digits to str.isdigit
        "",
        3171012345678901,
    ],
)
def test_nik_must_be_16_ascii_digits(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="16") as caught:
        Identifier.nik(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="16"):
        Identifier.nik_ibu(bad)  # type: ignore[arg-type]
    assert not isinstance(bad, str) or not bad or bad not in str(caught.value)


def test_repr_does_not_show_a_nik() -> None:
    assert NIK not in repr(Patient(identifier=[Identifier.nik(NIK)]))
    assert NIK[-4:] in repr(Identifier.nik(NIK))


def test_unknown_fields_survive_read_change_write() -> None:
    wire: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "P02029102687",
        "meta": {
            "versionId": "3",
            "lastUpdated": "2024-01-01T00:00:00+00:00",
            "tag": [{"code": "t"}],
        },
        "identifier": [
            {
                "use": "official",
                "system": "https://fhir.kemkes.go.id/id/nik",
                "value": NIK,
                "period": {"start": "2000-01-01"},
            }
        ],
        "name": [{"use": "official", "text": "Budi", "period": {"start": "2000"}}],
        "address": [
            {
                "line": ["Jl. Merdeka"],
                "extension": [
                    admin_extension("3171011001"),
                    {"url": "https://example.org/ext/geo", "valueString": "x"},
                ],
                "_city": {"extension": [{"url": "u", "valueString": "v"}]},
            }
        ],
        "contact": [{"relationship": [{"text": "Ibu"}], "name": {"text": "Siti"}}],
        "extension": [{"url": "https://fhir.kemkes.go.id/r4/ext/citizenship", "valueCode": "WNI"}],
        "_birthDate": {
            "extension": [{"url": "time", "valueDateTime": "1990-05-12T01:00:00+00:00"}]
        },
        "birthDate": "1990-05-12",
    }
    patient = Patient.from_wire(copy.deepcopy(wire))
    assert patient.extra["contact"] == wire["contact"]
    assert patient.name[0].extra == {"period": {"start": "2000"}}
    changed = attrs.evolve(
        patient, name=[attrs.evolve(patient.name[0], family="Santoso")], active=True
    )
    out = changed.to_wire()
    expected = copy.deepcopy(wire)
    expected["name"][0]["family"] = "Santoso"
    expected["active"] = True
    assert out == expected


def test_converter_is_the_one_place_for_the_wire_form() -> None:
    patient = full_patient()
    assert converter.unstructure(patient) == patient.to_wire()
    assert converter.structure(patient.to_wire(), Patient) == patient


def test_from_wire_refuses_another_resource() -> None:
    with pytest.raises(ConfigurationError, match="Observation"):
        Patient.from_wire({"resourceType": "Observation"})


@settings(max_examples=75, suppress_health_check=[HealthCheck.too_slow])
@given(patient_wires(unknown=True))
def test_property_wire_to_patient_to_wire_is_lossless(wire: dict[str, object]) -> None:
    original = copy.deepcopy(wire)
    assert Patient.from_wire(wire).to_wire() == original
    assert wire == original  # reading never alters the caller's dict


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(patient_wires())
def test_property_written_patients_are_valid_fhir_r4b(wire: dict[str, object]) -> None:
    # An independent FHIR model library judges what the SDK would send.
    R4BPatient.model_validate(Patient.from_wire(wire).to_wire())


def test_a_patient_built_in_python_is_valid_fhir_r4b() -> None:
    R4BPatient.model_validate(full_patient().to_wire())
