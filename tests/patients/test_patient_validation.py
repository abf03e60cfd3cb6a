"""Pre-flight checks: the platform's documented rules, caught before anything is sent."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from _patient_helpers import NIK, FakePlatform, minimal_wire, patient_wires
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sehatmu_async import (
    HumanName,
    Identifier,
    Patient,
    SehatMuClient,
    ValidationError,
)
from sehatmu_async._validation import PREFLIGHT_URL, patient_issues


def _rules(wire: dict[str, Any]) -> list[tuple[int | None, str, str]]:
    return [(i.rule_number, i.code, i.expression[0]) for i in patient_issues(wire)]


@pytest.mark.parametrize(
    ("change", "rule", "code", "expression", "text"),
    [
        (
            lambda w: w["identifier"].append({"system": "http://xxx.org", "value": "1"}),
            10117,
            "value",
            "Patient.identifier[1].system",
            "Invalid identifier system: http://xxx.org (RuleNumber: 10117)",
        ),
        (
            lambda w: w["name"][0].update(family=""),
            10134,
            "value",
            "Patient.name[0].family",
            "Text is empty: '' (RuleNumber: 10134)",
        ),
        (
            lambda w: w.update(birthDate="12-05-1990"),
            10132,
            "format",
            "Patient.birthDate",
            "Invalid date time format : 12-05-1990 (RuleNumber: 10132). "
            "Format allowed : YYYY-MM-DD",
        ),
        (
            lambda w: w.update(deceasedDateTime="2023-08-23T17:35:00+07:00"),
            10132,
            "format",
            "Patient.deceasedDateTime",
            "Invalid date time format : 2023-08-23T17:35:00+07:00 (RuleNumber: 10132). "
            "Format allowed : YYYY-MM-DDThh:mm:ss+00:00",
        ),
        (
            lambda w: w.update(deceasedDateTime="2023-08-23T10:35:00Z"),
            10132,
            "format",
            "Patient.deceasedDateTime",
            None,
        ),
        (
            lambda w: w.update(multipleBirthInteger="2"),
            10254,
            "value",
            "Patient.multipleBirthInteger",
            "Integer formated as a string: '2' (RuleNumber: 10254)",
        ),
        (
            lambda w: w.update(identifier=[]),
            10263,
            "value",
            "Patient.identifier",
            None,
        ),
        (
            lambda w: w["identifier"][0].update(value="367400001111222"),
            None,
            "value",
            "Patient.identifier[0].value",
            "NIK must be exactly 16 digits, got 15 character(s)",
        ),
    ],
)
async def test_each_rule_gives_its_number_and_expression_and_sends_nothing(
    platform: FakePlatform,
    client: SehatMuClient,
    change: Any,
    rule: int | None,
    code: str,
    expression: str,
    text: str | None,
) -> None:
    wire = minimal_wire()
    change(wire)
    with pytest.raises(ValidationError) as caught:
        await client.patients.create(wire)
    error = caught.value
    assert [(i.rule_number, i.code, i.expression) for i in error.issues] == [
        (rule, code, (expression,))
    ]
    issue = error.issues[0]
    assert issue.severity == "error"
    if text is not None:
        assert issue.text == text
    assert error.status == 0
    assert error.method == "POST"
    assert error.url == PREFLIGHT_URL
    assert "nothing was sent" in str(error)
    assert platform.received == []  # not even a token request


async def test_all_problems_are_reported_at_once(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    patient = Patient(
        identifier=[Identifier(use="official", system="http://xxx.org", value="1")],
        name=[HumanName(text="", given=["Budi", ""])],
        extra={"multipleBirthInteger": "2"},
    )
    with pytest.raises(ValidationError) as caught:
        await client.patients.create(patient)
    assert sorted(caught.value.rule_numbers) == [10117, 10134, 10134, 10254, 10263]
    assert {i.expression[0] for i in caught.value.issues} >= {
        "Patient.identifier[0].system",
        "Patient.name[0].text",
        "Patient.name[0].given[1]",
        "Patient.multipleBirthInteger",
    }
    assert "+4 more issue(s)" in str(caught.value)
    assert platform.received == []


def test_issue_texts_never_repeat_a_nik() -> None:
    wire = minimal_wire(nik=NIK + "9")
    assert all(NIK not in (i.text or "") for i in patient_issues(wire))


async def test_validate_false_lets_the_platform_judge(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    from _patient_helpers import PATIENT_PATH, json_answer

    platform.on(
        "POST",
        PATIENT_PATH,
        json_answer(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "value",
                        "details": {"text": "Text is empty: '' (RuleNumber: 10134)"},
                        "expression": ["Patient.name[0].family"],
                    }
                ],
            },
            400,
        ),
    )
    wire = minimal_wire()
    wire["name"][0]["family"] = ""
    with pytest.raises(ValidationError) as caught:
        await client.patients.create(wire, validate=False)
    assert caught.value.status == 400
    assert caught.value.rule_numbers == (10134,)
    assert platform.count("POST") == 1


# -- properties ------------------------------------------------------------------------


def _string_leaves(value: Any, where: str) -> Iterator[tuple[str, list[Any]]]:
    """(FHIR expression, JSON path) of every string in a wire dict."""
    if isinstance(value, dict):
        for key, child in value.items():
            for expression, path in _string_leaves(child, f"{where}.{key}"):
                yield expression, [key, *path]
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for expression, path in _string_leaves(child, f"{where}[{index}]"):
                yield expression, [index, *path]
    elif isinstance(value, str):
        yield where, []


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(patient_wires())
def test_property_what_the_sdk_writes_passes(wire: dict[str, Any]) -> None:
    assert patient_issues(Patient.from_wire(wire).to_wire()) == []


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(patient_wires(), st.data())
def test_property_any_emptied_text_is_found_where_it_is(
    wire: dict[str, Any], data: st.DataObject
) -> None:
    leaves = [leaf for leaf in _string_leaves(wire, "Patient") if leaf[1] != ["resourceType"]]
    expression, path = data.draw(st.sampled_from(leaves))
    broken = copy.deepcopy(wire)
    target: Any = broken
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = ""
    assert (10134, "value", expression) in _rules(broken)


@given(st.integers(-(10**9), 10**9))
def test_property_integers_as_strings_are_refused(number: int) -> None:
    wire = minimal_wire()
    wire["multipleBirthInteger"] = str(number)
    assert _rules(wire) == [(10254, "value", "Patient.multipleBirthInteger")]
    wire["multipleBirthInteger"] = number
    assert _rules(wire) == []


@given(
    st.text(min_size=1, max_size=40).filter(
        lambda s: not s.startswith("https://fhir.kemkes.go.id/id/")
    )
)
def test_property_foreign_identifier_systems_are_refused(system: str) -> None:
    wire = minimal_wire()
    wire["identifier"].append({"system": system, "value": "x"})
    assert (10117, "value", "Patient.identifier[1].system") in _rules(wire)


@given(st.text(max_size=20).filter(lambda s: not (len(s) == 16 and s.isascii() and s.isdigit())))
def test_property_a_nik_that_is_not_16_digits_is_refused(value: str) -> None:
    wire = minimal_wire()
    wire["identifier"][0]["value"] = value
    rules = _rules(wire)
    expected_rule = 10134 if value == "" else None
    assert rules == [(expected_rule, "value", "Patient.identifier[0].value")]
