"""Request paths: checked resource types and ids, percent-encoded segments (issue 9.3)."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from _patient_helpers import PATIENT_PATH, FakePlatform, json_answer, make_client, minimal_wire
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from sehatmu_async import ConfigurationError, PatchOperation, SehatMuClient
from sehatmu_async._paths import (
    FHIR_BASE,
    check_resource_id,
    check_resource_type,
    fhir_type_path,
    join_path,
    resource_path,
)

ID_CHARS = string.ascii_letters + string.digits + "-."
TYPE_RULE = re.compile(r"[A-Z][A-Za-z]{1,63}")
ID_RULE = re.compile(r"[A-Za-z0-9\-.]{1,64}")

ids = st.text(alphabet=ID_CHARS, min_size=1, max_size=64).filter(lambda s: s not in (".", ".."))
types = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_uppercase),
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=63),
)


def test_documented_examples() -> None:
    assert resource_path("Patient", "P123") == "/fhir-r4/v1/Patient/P123"
    assert fhir_type_path("Encounter") == "/fhir-r4/v1/Encounter"
    assert resource_path("Patient", "P1", "_history", "2") == "/fhir-r4/v1/Patient/P1/_history/2"
    assert fhir_type_path("Patient") == PATIENT_PATH


@given(types, ids)
def test_valid_type_and_id_make_exactly_two_segments(kind: str, rid: str) -> None:
    path = resource_path(kind, rid)
    assert path == f"{FHIR_BASE}/{kind}/{rid}"
    assert path.split("/")[3:] == [kind, rid]


@given(st.text(max_size=80))
def test_id_check_is_the_documented_rule(value: str) -> None:
    ok = bool(ID_RULE.fullmatch(value)) and value not in (".", "..")
    if ok:
        assert check_resource_id(value) == value
    else:
        with pytest.raises(ConfigurationError, match="FHIR id"):
            check_resource_id(value)


@given(st.text(max_size=80))
def test_type_check_is_the_documented_rule(value: str) -> None:
    if TYPE_RULE.fullmatch(value):
        assert check_resource_type(value) == value
    else:
        with pytest.raises(ConfigurationError, match="resource type"):
            check_resource_type(value)


@given(st.text(min_size=1, max_size=500))
def test_messages_are_bounded_and_escaped(value: str) -> None:
    message = ""
    try:
        resource_path("Patient", value)
    except ConfigurationError as exc:
        message = exc.message
    assert len(message) < 250
    assert "\n" not in message
    assert "\r" not in message


@pytest.mark.parametrize("bad", [".", "..", "a/b", "a?b", "a#b", "%2e%2e", "a\n", "", None, 7])
def test_ids_that_would_change_the_path_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="FHIR id"):
        resource_path("Patient", bad)


@pytest.mark.parametrize("bad", ["patient", "P", "Pa-tient", "Enc/ounter", "Ünit", "A" * 65, None])
def test_bad_resource_types_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="resource type"):
        fhir_type_path(bad)


def test_extra_segments_are_encoded_whole() -> None:
    assert join_path("/x", "a/b?c#d e") == "/x/a%2Fb%3Fc%23d%20e"
    for bad in (".", "..", ""):
        with pytest.raises(ConfigurationError, match="segment"):
            join_path("/x", bad)


@given(st.text(min_size=1, max_size=30).filter(lambda s: s not in (".", "..")))
def test_an_encoded_segment_stays_one_segment(segment: str) -> None:
    path = join_path("/x", segment)
    assert path.count("/") == 2
    assert not set(path) & set("?# \n")


async def test_an_encoded_segment_reaches_the_server_as_one_segment() -> None:
    # aiohttp/yarl re-parse the URL before sending: the encoding must survive that.
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response({"resourceType": "Patient", "id": "x"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with make_client(str(server.make_url("")).rstrip("/")) as client:
            await client.request("GET", join_path(FHIR_BASE, "a/../b"), auth=False)
    finally:
        await server.close()
    assert seen == ["/fhir-r4/v1/a%2F..%2Fb"]


@pytest.mark.parametrize("bad_id", [".", ".."])
async def test_dot_ids_send_no_request_and_no_token(
    platform: FakePlatform, client: SehatMuClient, bad_id: str
) -> None:
    # 0.1.0 sent GET /fhir-r4/v1/ (yarl resolves the dot segment) with the bearer token.
    with pytest.raises(ConfigurationError, match="FHIR id"):
        await client.patients.get(bad_id)
    with pytest.raises(ConfigurationError, match="FHIR id"):
        await client.patients.patch(bad_id, [PatchOperation.replace("/language", "id")])
    assert platform.received == []


async def test_an_id_of_dots_that_is_not_a_dot_segment_is_sent_as_written(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    platform.on("GET", PATIENT_PATH + "/{id}", json_answer({**minimal_wire(), "id": "..."}))
    assert (await client.patients.get("...")).id == "..."
    assert [r.path for r in platform.api_requests] == [PATIENT_PATH + "/..."]
