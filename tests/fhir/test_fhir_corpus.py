"""One corpus of payloads (the seed 004's examples among them) through the SDK's pre-flight
and the sandbox's validator: both must find the same rules at the same elements.

The two are independent readings of api.md and 004 (the sandbox imports nothing from the
SDK); this is where they are held to the same answers (issue 10, item 5).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from _fhir_helpers import condition, encounter, location, organization, patient

from sehatmu_async._validation import patch_issues, resource_issues
from sehatmu_async.sandbox._validation import validate_patch, validate_resource

_RULE = re.compile(r"\(RuleNumber: (\d+)\)")


def _sdk(resource: dict[str, Any]) -> list[tuple[int | None, str]]:
    return sorted(
        (
            (i.rule_number, i.expression[0] if i.expression else "")
            for i in resource_issues(resource)
        ),
        key=repr,
    )


def _sandbox(resource: dict[str, Any]) -> list[tuple[int | None, str]]:
    found = []
    for issue in validate_resource(resource):
        match = _RULE.search(issue["details"]["text"])
        found.append((int(match.group(1)) if match else None, (issue.get("expression") or [""])[0]))
    return sorted(found, key=repr)


def _changed(base: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    resource = copy.deepcopy(base)
    change(resource)
    return resource


ENC = encounter("P02029102687", "100025753", value="E-1")
COMPOSITION = {
    "resourceType": "Composition",
    "status": "final",
    "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
    "subject": {"reference": "Patient/P02029102687"},
    "date": "2023-08-23T10:35:00+00:00",
    "author": [{"reference": "Practitioner/N10000001"}],
    "title": "Resume Medis Rawat Jalan",
    "section": [{"title": "Diagnosis", "text": {"status": "generated", "div": "<div>x</div>"}}],
}
CLAIM = {
    "resourceType": "Claim",
    "status": "active",
    "type": {"coding": [{"code": "institutional"}]},
    "use": "claim",
    "patient": {"reference": "Patient/P1"},
    "created": "2023-08-23T10:35:00+00:00",
    "provider": {"reference": "Organization/100025753"},
    "priority": {"coding": [{"code": "normal"}]},
    "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
    "supportingInfo": [{"sequence": 1, "category": {"text": "info"}}],
}

CORPUS: list[tuple[str, dict[str, Any]]] = [
    # -- the seed 004's examples, as payloads that draw them --
    (
        "004 code not found (terminology: server only)",
        _changed(ENC, lambda r: r["class"].update(code="xxx")),
    ),
    ("004 date format", _changed(COMPOSITION, lambda r: r.update(date="2022-06-14"))),
    ("004 date value (Z)", _changed(COMPOSITION, lambda r: r.update(date="2021-06-02T12:28:03Z"))),
    ("004 reference", _changed(ENC, lambda r: r.update(serviceProvider={"reference": "xxx"}))),
    (
        "004 coding system (terminology: server only)",
        _changed(
            ENC,
            lambda r: r.update(
                participant=[{"type": [{"coding": [{"system": "http://xxx.org", "code": "ATND"}]}]}]
            ),
        ),
    ),
    ("004 element not found", _changed(CLAIM, lambda r: r["insurance"][0].pop("focal"))),
    (
        "004 identifier system",
        _changed(ENC, lambda r: r["identifier"][0].update(system="http://xxx.org")),
    ),
    (
        "004 integer as string",
        _changed(CLAIM, lambda r: r["supportingInfo"][0].update(sequence="Satu")),
    ),
    ("004 text is empty", _changed(COMPOSITION, lambda r: r.update(title=""))),
    # -- the rest of the rules, on several types --
    ("valid encounter", ENC),
    ("valid composition", COMPOSITION),
    ("valid claim", CLAIM),
    ("valid location", location("100025753", value="L1")),
    ("valid organization", organization(value="O1")),
    ("valid condition", condition("P1", "E1")),
    ("valid patient", patient()),
    (
        "rank as string (issue 10)",
        patient(telecom=[{"system": "phone", "value": "0812", "rank": "1"}]),
    ),
    ("multipleBirthInteger as string", patient(multipleBirthInteger="2")),
    (
        "numberOfSeries as string",
        {
            "resourceType": "ImagingStudy",
            "status": "available",
            "subject": {"reference": "Patient/P1"},
            "numberOfSeries": "3",
            "numberOfInstances": 4,
        },
    ),
    (
        "valueInteger as string",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueInteger": "7",
        },
    ),
    ("gender robot (issue 9.15)", patient(gender="robot")),
    ("gender as number", patient(gender=1)),
    ("text 123 (issue 9.15)", _changed(patient(), lambda r: r["name"][0].update(text=123))),
    ("family as list", _changed(patient(), lambda r: r["name"][0].update(family=["a"]))),
    ("given with a number", _changed(patient(), lambda r: r["name"][0].update(given=["a", 1]))),
    ("given with empty", _changed(patient(), lambda r: r["name"][0].update(given=["a", ""]))),
    ("birthDate not a date", patient(birthDate="12-05-1990")),
    ("birthDate impossible", patient(birthDate="1990-02-30")),
    ("no NIK", patient(identifier=[])),
    ("NIK 15 digits", patient("367400001111222")),
    ("mother's NIK", patient("3674000011112222", system="https://fhir.kemkes.go.id/id/nik-ibu")),
    ("deceasedDateTime WIB", patient(deceasedDateTime="2023-08-23T17:35:00+07:00")),
    ("period.end date only", _changed(ENC, lambda r: r["period"].update(end="2023-08-24"))),
    (
        "statusHistory period",
        _changed(ENC, lambda r: r["statusHistory"][0]["period"].update(start="2023")),
    ),
    ("recordedDate", condition("P1", "E1", recordedDate="2023-08-23 11:00")),
    ("onsetDateTime", condition("P1", "E1", onsetDateTime="2023-08-23T11:00:00.123+00:00")),
    (
        "abatementDateTime fine",
        condition("P1", "E1", abatementDateTime="2023-08-24T11:00:00+00:00"),
    ),
    (
        "issued",
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "x"},
            "issued": "2023-08-23T11:00:00",
        },
    ),
    (
        "authoredOn",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/P1"},
            "medicationReference": {"reference": "Medication/m1"},
            "authoredOn": "2023-08-23",
        },
    ),
    ("meta.lastUpdated", organization(value="O2", meta={"lastUpdated": "2023-08-23T10:35:00Z"})),
    (
        "a date named date elsewhere is not checked",
        {
            "resourceType": "ClinicalImpression",
            "status": "completed",
            "subject": {"reference": "Patient/P1"},
            "note": [{"text": "x", "time": "2023"}],
        },
    ),
    ("missing mandatory", {"resourceType": "MedicationRequest", "status": "active"}),
    ("missing choice", {"resourceType": "MedicationDispense"}),
    ("missing reference element", {"resourceType": "Condition", "code": {"text": "x"}}),
    ("empty claim", {"resourceType": "Claim"}),
    (
        "reference urn:uuid",
        _changed(
            ENC,
            lambda r: r["subject"].update(
                reference="urn:uuid:1e5d1a8e-9f49-4dbd-8e0e-0b2c5b2a1d11"
            ),
        ),
    ),
    (
        "reference urn:uuid bad",
        _changed(ENC, lambda r: r["subject"].update(reference="urn:uuid:not-a-uuid")),
    ),
    ("reference dot id", _changed(ENC, lambda r: r["subject"].update(reference="Patient/.."))),
    (
        "reference absolute URL",
        _changed(
            ENC, lambda r: r["subject"].update(reference="https://example.org/fhir/Patient/1")
        ),
    ),
    (
        "reference history",
        _changed(ENC, lambda r: r["subject"].update(reference="Patient/P1/_history/2")),
    ),
    ("reference empty", _changed(ENC, lambda r: r["subject"].update(reference=""))),
    ("reference a number", _changed(ENC, lambda r: r["subject"].update(reference=5))),
    (
        "contained reference",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/P1"},
            "contained": [{"resourceType": "Medication", "id": "med1"}],
            "medicationReference": {"reference": "#med1"},
        },
    ),
    (
        "contained reference missing",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/P1"},
            "medicationReference": {"reference": "#med1"},
        },
    ),
    (
        "identifier inside a reference",
        _changed(
            ENC,
            lambda r: r.update(
                basedOn=[{"identifier": {"system": "http://xxx.org", "value": "1"}}]
            ),
        ),
    ),
    (
        "many problems at once",
        _changed(
            ENC,
            lambda r: (
                r["identifier"][0].update(system="urn:oid:1"),
                r["period"].update(start=""),
                r.update(status=None),
                r["class"].update(display=7),
            ),
        ),
    ),
    ("not a resource type", {"resourceType": "encounter"}),
]


@pytest.mark.parametrize("resource", [c[1] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_sdk_and_sandbox_find_the_same_rules(resource: dict[str, Any]) -> None:
    assert _sdk(resource) == _sandbox(resource)


def test_the_corpus_exercises_every_rule() -> None:
    rules = {rule for _, r in CORPUS for rule, _ in _sdk(r)}
    assert rules >= {10001, 10117, 10124, 10132, 10134, 10254, 10263}


def test_the_seed_examples_draw_the_seed_rules_and_expressions() -> None:
    seed = {name: r for name, r in CORPUS if name.startswith("004")}
    assert _sdk(seed["004 date format"]) == [(10132, "Composition.date")]
    assert _sdk(seed["004 date value (Z)"]) == [(10132, "Composition.date")]
    assert _sdk(seed["004 reference"]) == [(10124, "Encounter.serviceProvider")]
    assert _sdk(seed["004 element not found"]) == [(10263, "Claim.insurance[0].focal")]
    assert _sdk(seed["004 identifier system"]) == [(10117, "Encounter.identifier[0].system")]
    assert _sdk(seed["004 integer as string"]) == [(10254, "Claim.supportingInfo[0].sequence")]
    assert _sdk(seed["004 text is empty"]) == [(10134, "Composition.title")]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Location", "/operationalStatus/system"),
        ("Location", "/operationalStatus"),
        ("Encounter", "/operationalStatus/system"),
        ("Location", "/name"),
    ],
)
def test_patch_rule_10171_agrees(kind: str, path: str) -> None:
    ops = [{"op": "replace", "path": path, "value": "x"}]
    sdk = [i.rule_number for i in patch_issues(kind, ops)]
    sandbox = [int(_RULE.search(i["details"]["text"]).group(1)) for i in validate_patch(kind, ops)]  # type: ignore[union-attr]
    assert sdk == sandbox
