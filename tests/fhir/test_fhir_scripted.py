"""client.fhir against a scripted aiohttp server: paging, next-link safety, lost and
refused creates, answer shapes."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from _fakes import MakeClient, ScriptedPlatform, json_reply, reply
from _fhir_helpers import ENC_SYSTEM, encounter, script_pages, searchset
from aiohttp import web

from sehatmu_async import (
    APIError,
    ConfigurationError,
    DuplicateResourceError,
    IncompleteDownloadError,
    MultipleResultsError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
)

ENC_PATH = "/fhir-r4/v1/Encounter"


def _stored(payload: dict[str, Any], rid: str = "enc-1") -> dict[str, Any]:
    return {**payload, "id": rid, "meta": {"versionId": "1"}}


async def test_walks_three_pages_by_absolute_next_links(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    every = script_pages(platform, "Observation", pages=4, per_page=3)
    client = make_client()
    got = [r async for r in client.fhir.search("Observation", subject="P1", _count=3)]
    assert got == every
    gets = platform.requests("GET", "/fhir-r4/v1/Observation")
    assert [r.query.get("_page") for r in gets] == [None, "2", "3", "4"]
    assert gets[0].query["subject"] == "P1"
    assert all(r.bearer for r in gets)


async def test_pages_report_total_resources_and_next_url(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    script_pages(platform, "Condition", pages=3, per_page=2)
    pages = [p async for p in make_client().fhir.search("Condition").pages()]
    assert [(p.total, len(p.resources)) for p in pages] == [(6, 2), (6, 2), (6, 2)]
    assert pages[0].next_url == f"{platform.url}/fhir-r4/v1/Condition?_page=2&_count=2"
    assert pages[2].next_url is None


async def test_all_with_pages_left_is_an_error_not_a_short_list(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    script_pages(platform, "Procedure", pages=5, per_page=2)
    client = make_client()
    with pytest.raises(PaginationError, match="more pages left after 2"):
        await client.fhir.search("Procedure").all(max_pages=2)
    assert len(platform.requests("GET", "/fhir-r4/v1/Procedure")) == 2
    with pytest.raises(PaginationError):
        [r async for r in client.fhir.search("Procedure", max_pages=3)]


async def test_short_walk_against_the_total_is_incomplete(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    script_pages(platform, "Procedure", pages=2, per_page=2, total=7)
    with pytest.raises(IncompleteDownloadError) as caught:
        await make_client().fhir.search("Procedure").all()
    assert (caught.value.expected, caught.value.delivered) == (7, 4)


async def test_foreign_next_link_is_refused_and_gets_no_token(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    async with ScriptedPlatform(check_auth=False) as elsewhere:
        elsewhere.on("GET", ENC_PATH, json_reply(searchset([])))
        for foreign in (
            f"{elsewhere.url}{ENC_PATH}?_page=2",  # another port
            f"{elsewhere.url.replace('127.0.0.1', 'localhost')}{ENC_PATH}?_page=2",
            f"{platform.url.replace('http://', 'https://')}{ENC_PATH}?_page=2",
            f"http://user:pw@{platform.url.removeprefix('http://')}{ENC_PATH}?_page=2",
            f"{platform.url}/oauth2/v1/accesstoken?_page=2",
        ):
            platform.script(
                "GET",
                ENC_PATH,
                json_reply(
                    searchset([{"resourceType": "Encounter", "id": "e1"}], next_url=foreign)
                ),
            )
            client = make_client()
            with pytest.raises(PaginationError, match=r"not followed|not the base URL"):
                await client.fhir.search("Encounter").all()
        assert elsewhere.received == []
    assert all(r.path == ENC_PATH for r in platform.api_requests)


async def test_repeated_next_link_is_an_error(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    def answer(request: web.Request) -> web.StreamResponse:
        page = request.query.get("_page", "1")
        nxt = f"{platform.url}{ENC_PATH}?_page=2"  # page 2 points to itself
        body = searchset([{"resourceType": "Encounter", "id": f"e{page}"}], next_url=nxt)
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    platform.on("GET", ENC_PATH, answer)
    with pytest.raises(PaginationError, match="same next link twice"):
        await make_client().fhir.search("Encounter").all()
    assert len(platform.requests("GET", ENC_PATH)) == 2


async def test_walk_is_bounded_in_time(
    platform: ScriptedPlatform, make_client: MakeClient, clock: Any
) -> None:
    script_pages(platform, "Observation", pages=10, per_page=1)
    client = make_client(clock=clock)

    pager = client.fhir.search("Observation", timeout=5)
    seen = 0

    async def walk() -> None:
        nonlocal seen
        async for _ in pager:
            seen += 1
            clock.advance(2)

    with pytest.raises(PaginationError, match="after 5 s"):
        await walk()
    assert seen == 3


async def test_first_and_one(platform: ScriptedPlatform, make_client: MakeClient) -> None:
    client = make_client()
    platform.script("GET", ENC_PATH, json_reply(searchset([])))
    assert await client.fhir.search("Encounter", subject="P1").first() is None
    platform.script("GET", ENC_PATH, json_reply(searchset([])))
    with pytest.raises(NotFoundError):
        await client.fhir.search("Encounter", subject="P1").one()
    two = [{"resourceType": "Encounter", "id": "a"}, {"resourceType": "Encounter", "id": "b"}]
    platform.script("GET", ENC_PATH, json_reply(searchset(two)))
    with pytest.raises(MultipleResultsError):
        await client.fhir.search("Encounter", subject="P1").one()
    platform.script("GET", ENC_PATH, json_reply(searchset(two[:1])))
    assert (await client.fhir.search("Encounter", subject="P1").one())["id"] == "a"


async def test_includes_and_outcomes_are_not_matches(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    bundle = searchset([{"resourceType": "Encounter", "id": "a"}])
    bundle["entry"] += [
        {"resource": {"resourceType": "Patient", "id": "p"}, "search": {"mode": "include"}},
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
    ]
    platform.on("GET", ENC_PATH, json_reply(bundle))
    assert [r["id"] async for r in make_client().fhir.search("Encounter")] == ["a"]


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Encounter", "id": "x"},
        {"resourceType": "Bundle", "type": "history"},
        {"resourceType": "Bundle", "total": "3"},
        {"resourceType": "Bundle", "entry": {"resource": {}}},
        {"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]},
    ],
)
async def test_bad_search_answers_are_typed_errors(
    platform: ScriptedPlatform, make_client: MakeClient, body: dict[str, Any]
) -> None:
    platform.on("GET", ENC_PATH, json_reply(body))
    with pytest.raises(APIError):
        await make_client().fhir.search("Encounter").all()


async def test_lost_create_is_sent_once_and_reconciled(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = encounter("P1", "100025753", value="E-LOST")
    platform.script("POST", ENC_PATH, platform.slow(5, json_reply(_stored(payload), 201)))
    platform.on("GET", ENC_PATH, json_reply(searchset([_stored(payload)])))
    client = make_client(timeout=0.2)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.fhir.create(payload)
    platform.release.set()
    assert len(platform.requests("POST", ENC_PATH)) == 1
    err = caught.value
    assert err.payload == payload
    assert err.identifiers == ((ENC_SYSTEM, "E-LOST"),)
    found = await client.fhir.reconcile(err)
    assert found is not None
    assert found["id"] == "enc-1"
    search = platform.requests("GET", ENC_PATH)[-1]
    assert search.query["identifier"] == f"{ENC_SYSTEM}|E-LOST"
    assert len(platform.requests("POST", ENC_PATH)) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_create_answered_5xx_is_never_repeated(
    platform: ScriptedPlatform, make_client: MakeClient, status: int
) -> None:
    platform.on("POST", ENC_PATH, reply(status, b"Gateway Timeout", content_type="text/plain"))
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.create(encounter("P1", "O1"))
    assert len(platform.requests("POST", ENC_PATH)) == 1
    assert caught.value.resource_type == "Encounter"


async def test_unreadable_2xx_create_answer_is_outcome_unknown(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", ENC_PATH, reply(201, b"<html>ok</html>", content_type="text/html"))
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.create(encounter("P1", "O1"))
    assert caught.value.status == 201
    assert caught.value.identifiers


async def test_bare_201_with_location_gives_the_id(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    location = f"{platform.url}{ENC_PATH}/enc-77/_history/1"
    platform.on("POST", ENC_PATH, reply(201, b"", headers={"Location": location}))
    made = await make_client().fhir.create(encounter("P1", "O1"))
    assert made["id"] == "enc-77"


async def test_duplicate_refusal_looks_up_the_existing_id(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = encounter("P1", "O1", value="E-DUP")
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "duplicate",
                "details": {"text": "Found duplicate resource: Encounter"},
            }
        ],
    }
    platform.on("POST", ENC_PATH, json_reply(outcome, 400))
    platform.on("GET", ENC_PATH, json_reply(searchset([_stored(payload, "enc-old")])))
    with pytest.raises(DuplicateResourceError) as caught:
        await make_client().fhir.create(payload)
    assert caught.value.existing_id == "enc-old"
    assert "enc-old" in str(caught.value)


async def test_duplicate_lookup_failure_keeps_the_refusal(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "duplicate"}],
    }
    platform.on("POST", ENC_PATH, json_reply(outcome, 400))
    platform.on("GET", ENC_PATH, reply(403, b"<html>no</html>", content_type="text/html"))
    with pytest.raises(DuplicateResourceError) as caught:
        await make_client().fhir.create(encounter("P1", "O1"))
    assert caught.value.existing_id is None


async def test_update_and_patch_wire_form(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    body = _stored(encounter("P1", "O1"), "enc-9")
    platform.on("PUT", f"{ENC_PATH}/{{id}}", json_reply(body))
    platform.on("PATCH", f"{ENC_PATH}/{{id}}", json_reply(body))
    client = make_client()
    await client.fhir.update(body)
    put = platform.requests("PUT")[0]
    assert put.path == f"{ENC_PATH}/enc-9"
    assert put.json()["id"] == "enc-9"
    await client.fhir.patch("Encounter", "enc-9", [{"op": "remove", "path": "/period"}])
    sent = platform.requests("PATCH")[0]
    assert sent.headers["Content-Type"] == "application/json-patch+json"
    assert sent.json() == [{"op": "remove", "path": "/period"}]


async def test_non_repeatable_patch_is_not_retried(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("PATCH", f"{ENC_PATH}/{{id}}", reply(503, b"no healthy upstream"))
    client = make_client()
    with pytest.raises(OutcomeUnknownError, match="see whether the patch was applied"):
        await client.fhir.patch(
            "Encounter",
            "e1",
            [{"op": "add", "path": "/statusHistory/-", "value": {"status": "finished"}}],
        )
    assert len(platform.requests("PATCH")) == 1
    with pytest.raises(APIError):
        await client.fhir.patch(
            "Encounter", "e1", [{"op": "replace", "path": "/status", "value": "finished"}]
        )
    assert len(platform.requests("PATCH")) > 2  # a replace is retried


async def test_read_answer_of_another_resource_is_refused(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("GET", f"{ENC_PATH}/{{id}}", json_reply({"resourceType": "Encounter", "id": "b"}))
    with pytest.raises(APIError, match="asked for Encounter a, got b"):
        await make_client().fhir.read("Encounter", "a")


async def test_concurrent_creates_share_one_token(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", ENC_PATH, json_reply(_stored(encounter("P1", "O1")), 201))
    client = make_client()
    await asyncio.gather(*(client.fhir.create(encounter("P1", "O1")) for _ in range(50)))
    assert len(platform.token_requests) == 1
    assert len(platform.requests("POST", ENC_PATH)) == 50


async def test_search_params_are_sent_as_given(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("GET", ENC_PATH, json_reply(searchset([])))
    await (
        make_client()
        .fhir.search(
            "Encounter", {"subject:Patient": "P1"}, status=["arrived", "finished"], _count=50
        )
        .all()
    )
    sent = platform.requests("GET", ENC_PATH)[0].query
    assert dict(sent) == {"subject:Patient": "P1", "status": "arrived,finished", "_count": "50"}


async def test_a_model_without_a_decoder_is_refused_before_sending(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    with pytest.raises(ConfigurationError, match="model_validate"):
        await make_client().fhir.read("Encounter", "e1", model=dict)
    assert platform.received == []


async def test_model_answers(platform: ScriptedPlatform, make_client: MakeClient) -> None:
    from fhir.resources.R4B.encounter import Encounter as FhirEncounter

    body = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"}}
    platform.on("GET", f"{ENC_PATH}/{{id}}", json_reply(body))
    got = await make_client().fhir.read("Encounter", "e1", model=FhirEncounter)
    assert isinstance(got, FhirEncounter)
    assert got.id == "e1"
    platform.on("GET", f"{ENC_PATH}/{{id}}", json_reply({**body, "status": 7}))
    with pytest.raises(APIError, match="does not fit the model"):
        await make_client().fhir.read("Encounter", "e1", model=FhirEncounter)


async def test_patients_search_by_nik_follows_every_page(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    nik = "3674000011112222"
    system = "https://fhir.kemkes.go.id/id/nik-ibu"

    def child(n: int) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "id": f"P{n}",
            "identifier": [{"system": system, "value": nik}],
        }

    nxt = f"{platform.url}/fhir-r4/v1/Patient?_page=2"
    platform.script(
        "GET",
        "/fhir-r4/v1/Patient",
        json_reply(searchset([child(1)], total=2, next_url=nxt)),
        json_reply(searchset([child(2)], total=2)),
    )
    found = await make_client().patients.search_by_nik(nik, mother=True)
    assert [p.id for p in found] == ["P1", "P2"]
    first = platform.requests("GET", "/fhir-r4/v1/Patient")[0]
    assert first.query["identifier"] == f"{system}|{nik}"
