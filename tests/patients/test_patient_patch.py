"""PATCH: only ``replace``, checked JSON Pointers, wire-form values; refusals send nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jsonpointer
import orjson
import pytest
from _patient_helpers import NIK, PATIENT_PATH, FakePlatform, json_answer, minimal_wire
from hypothesis import given
from hypothesis import strategies as st

from sehatmu_async import (
    WIB,
    ConfigurationError,
    HumanName,
    PatchOperation,
    Patient,
    SehatMuClient,
)
from sehatmu_async._patch import check_json_pointer, json_pointer, unescape_token

ITEM = "/fhir-r4/v1/Patient/{id}"


def test_path_helper_builds_pointers_from_parts() -> None:
    assert PatchOperation.path("name", 0, "family") == "/name/0/family"
    assert PatchOperation.path("language") == "/language"
    assert PatchOperation.path("a/b", "c~d") == "/a~1b/c~0d"
    # "~1" in a name must not be read back as "/": "~" is escaped first.
    assert PatchOperation.path("~1") == "/~01"


def test_an_operation_keeps_its_own_path() -> None:
    op = PatchOperation.replace("/name/0/family", "Santoso")
    assert op.path == "/name/0/family"
    assert op.to_wire() == {"op": "replace", "path": "/name/0/family", "value": "Santoso"}
    assert PatchOperation.replace(("name", 0, "given", 1), "Budi").path == "/name/0/given/1"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (date(1990, 5, 12), "1990-05-12"),
        (datetime(2023, 8, 23, 17, 35, tzinfo=WIB), "2023-08-23T10:35:00+00:00"),
        (HumanName(use="official", family="Santoso"), {"use": "official", "family": "Santoso"}),
        ([HumanName(text="Budi")], [{"text": "Budi"}]),
        (
            {"text": "Budi", "period": {"start": date(2000, 1, 1)}},
            {"text": "Budi", "period": {"start": "2000-01-01"}},
        ),
        ("id", "id"),
        (2, 2),
        (False, False),
    ],
)
def test_values_go_out_in_wire_form(value: Any, wire: Any) -> None:
    assert PatchOperation.replace("/x", value).value == wire


@pytest.mark.parametrize(
    "bad",
    [datetime(2023, 8, 23, 17, 35), None, object(), {1, 2}],
)
def test_unsendable_values_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        PatchOperation.replace("/x", bad)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("language", "must start with '/'"),
        ("", "must start with '/'"),
        ("/", "empty segment"),
        ("/name//family", "empty segment"),
        ("/name/0/", "empty segment"),
        ("/name~2x", "'~'"),
        ("/name~", "'~'"),
        ("/name/-", "past the end"),
    ],
)
def test_bad_pointers_are_refused(path: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why.replace("(", r"\(")):
        PatchOperation.replace(path, "x")


@pytest.mark.parametrize(
    "parts",
    [(), ("",), ("name", -1), ("name", True), ("name", 1.5)],
)
def test_bad_path_parts_are_refused(parts: tuple[Any, ...]) -> None:
    with pytest.raises(ConfigurationError):
        PatchOperation.path(*parts)


@pytest.mark.parametrize(
    ("operations", "why"),
    [
        ([{"op": "add", "path": "/language", "value": "id"}], "'add' is not offered"),
        ([{"op": "remove", "path": "/language"}], "'remove' is not offered"),
        ([{"op": "replace", "path": "language", "value": "id"}], "start with '/'"),
        ([{"op": "replace", "path": "/language"}], "needs a value"),
        ([{"op": "replace", "path": "/language", "value": "id", "from": "/x"}], "only op, path"),
        ([PatchOperation("move", "/language", "id")], "'move' is not offered"),
        ([PatchOperation.replace("/language", "id"), {"op": "copy"}], "operation 1"),
        ([], "at least one"),
        (PatchOperation.replace("/language", "id"), "list of PatchOperation"),
        (["/language"], "operation 0 is a str"),
    ],
)
async def test_refused_operations_send_nothing(
    platform: FakePlatform, client: SehatMuClient, operations: Any, why: str
) -> None:
    with pytest.raises(ConfigurationError, match=why):
        await client.patients.patch("P02029102687", operations)
    assert platform.received == []


@pytest.mark.parametrize("bad_id", ["", "P0202/9102687", "a" * 65, "P 1", None, 12])
async def test_bad_ids_send_nothing(
    platform: FakePlatform, client: SehatMuClient, bad_id: Any
) -> None:
    with pytest.raises(ConfigurationError, match="FHIR id"):
        await client.patients.patch(bad_id, [PatchOperation.replace("/language", "id")])
    with pytest.raises(ConfigurationError, match="FHIR id"):
        await client.patients.get(bad_id)
    assert platform.received == []


async def test_other_content_types_are_refused(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    with pytest.raises(ConfigurationError, match="content_type"):
        await client.patients.patch(
            "P1", [PatchOperation.replace("/language", "id")], content_type="application/xml"
        )
    assert platform.received == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json-patch+json"])
async def test_patch_sends_the_document_and_returns_the_updated_patient(
    platform: FakePlatform, client: SehatMuClient, content_type: str
) -> None:
    updated = {**minimal_wire(), "id": "P02029102687", "language": "id"}
    platform.on("PATCH", ITEM, json_answer(updated))
    patient = await client.patients.patch(
        "P02029102687",
        [
            PatchOperation.replace("/language", "id"),
            {"op": "replace", "path": "/birthDate", "value": "1990-05-13"},
        ],
        content_type=content_type,
    )
    assert isinstance(patient, Patient)
    assert patient.id == "P02029102687"
    assert patient.language == "id"
    (sent,) = platform.api_requests
    assert sent.method == "PATCH"
    assert sent.path == f"{PATIENT_PATH}/P02029102687"
    assert sent.content_type == content_type
    assert orjson.loads(sent.body) == [
        {"op": "replace", "path": "/language", "value": "id"},
        {"op": "replace", "path": "/birthDate", "value": "1990-05-13"},
    ]


async def test_patch_is_retried_on_a_503_since_replace_is_idempotent(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    answers = iter([(503, b"no healthy upstream"), (200, orjson.dumps(minimal_wire()))])

    async def flaky(_: Any) -> Any:
        from aiohttp import web

        status, body = next(answers)
        kind = "text/plain" if status >= 500 else "application/json"
        return web.Response(body=body, status=status, content_type=kind)

    platform.on("PATCH", ITEM, flaky)
    patient = await client.patients.patch("P1", [PatchOperation.replace("/gender", "male")])
    assert patient.nik == NIK
    assert platform.count("PATCH", ITEM) == 2


# -- properties ------------------------------------------------------------------------

names = st.text(min_size=1, max_size=8)
parts = st.lists(st.one_of(names, st.integers(0, 999)), min_size=1, max_size=5).filter(
    lambda p: p[-1] != "-"
)


@given(parts)
def test_property_built_pointers_are_valid_and_read_back_by_an_independent_library(
    path_parts: list[str | int],
) -> None:
    pointer = json_pointer(*path_parts)
    assert check_json_pointer(pointer) == pointer
    assert jsonpointer.JsonPointer(pointer).parts == [str(p) for p in path_parts]
    assert [unescape_token(t) for t in pointer[1:].split("/")] == [str(p) for p in path_parts]


@given(st.text(max_size=20))
def test_property_checked_pointers_are_exactly_the_rfc_6901_ones_with_named_tokens(
    text: str,
) -> None:
    try:
        check_json_pointer(text)
    except ConfigurationError:
        accepted = False
    else:
        accepted = True
    tokens = text[1:].split("/")
    rfc_ok = text.startswith("/")
    if rfc_ok:
        try:
            jsonpointer.JsonPointer(text)
        except jsonpointer.JsonPointerException:
            rfc_ok = False
    assert accepted == (rfc_ok and all(tokens) and tokens[-1] != "-")
