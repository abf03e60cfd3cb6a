"""client.fhir.transaction against a scripted aiohttp platform: what goes on the wire, both
refusal shapes, answers that cannot be trusted, lost answers and concurrency."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
import pytest
from _fakes import MakeClient, ScriptedPlatform, json_reply, reply, response
from _transaction_helpers import COND_SYSTEM, ENC_SYSTEM, OBS_SYSTEM, visit
from aiohttp import web

from sehatmu_async import (
    APIError,
    AuthenticationError,
    OutcomeUnknownError,
    RateLimitError,
    TransactionBundle,
    TransactionError,
)

BASE = "/fhir-r4/v1"
_ids = itertools.count(1)


async def stored_answer(request: web.Request) -> web.StreamResponse:
    """What a platform that stores everything answers: one 201 per entry, in order."""
    bundle = orjson.loads(await request.read())
    entries = []
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        rid = f"{kind[:3].lower()}-{next(_ids)}"
        entries.append(
            {
                "response": {
                    "status": "201 Created",
                    "location": f"{kind}/{rid}/_history/1",
                    "etag": 'W/"1"',
                }
            }
        )
    return response(
        200, {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    )


def outcome_issue(text: str, **where: Any) -> dict[str, Any]:
    return {"severity": "error", "code": "value", "details": {"text": text}, **where}


async def test_the_bundle_goes_out_once_as_sent_and_the_ids_come_back(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", BASE, stored_answer)
    client = make_client()
    bundle, refs = visit()
    result = await client.fhir.transaction(bundle)
    assert result.ok
    posts = platform.requests("POST", BASE)
    assert len(posts) == 1
    sent = posts[0]
    assert sent.path == "/fhir-r4/v1"
    assert sent.content_type == "application/json"
    assert sent.bearer is not None
    assert sent.json() == bundle.to_wire()
    body = sent.json()
    assert body["type"] == "transaction"
    assert [e["request"] for e in body["entry"]] == [
        {"method": "POST", "url": "Encounter"},
        {"method": "POST", "url": "Condition"},
        {"method": "POST", "url": "Condition"},
        {"method": "POST", "url": "Observation"},
    ]
    assert body["entry"][1]["resource"]["encounter"] == {"reference": refs["encounter"]}
    assert result.id_for(refs["encounter"]).startswith("enc-")  # type: ignore[union-attr]
    assert result.reference_for(refs["pulse"]).startswith("Observation/obs-")  # type: ignore[union-attr]


async def test_refusal_as_operation_outcome_names_the_failing_entry(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    bundle, refs = visit()
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            outcome_issue(
                "Code not found: 'K35.8x' (RuleNumber: 10001)",
                expression=["Bundle.entry[1].resource.code.coding[0].code"],
            ),
            outcome_issue(
                "Entry refused due to previous error (RuleNumber: 20012)",
                diagnostics=f"fullUrl: {refs['cold']}",
            ),
            outcome_issue(
                "Entry refused due to previous error (RuleNumber: 20012)",
                diagnostics=f"fullUrl: {refs['pulse']}",
            ),
        ],
    }
    platform.on("POST", BASE, json_reply(body, 422))
    with pytest.raises(TransactionError) as caught:
        await make_client().fhir.transaction(bundle)
    err = caught.value
    assert err.status == 422
    assert err.first_failure is not None
    assert err.first_failure.index == 1
    assert err.first_failure.full_url == refs["appendicitis"]
    assert [e.full_url for e in err.refused] == [refs["cold"], refs["pulse"]]
    assert "entry 1 (Condition)" in str(err)
    assert "10001" in str(err)
    assert len(platform.requests("POST", BASE)) == 1


async def test_refusal_as_transaction_response_bundle_names_the_failing_entry(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    def failed(text: str) -> dict[str, Any]:
        return {
            "response": {
                "status": "400",
                "outcome": {"resourceType": "OperationOutcome", "issue": [outcome_issue(text)]},
            }
        }

    body = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            failed("Not stored due to previous error (RuleNumber: 20013)"),
            failed("Found duplicate resource: Condition"),
            failed("Refused due to previous error (RuleNumber: 20012)"),
            failed("Refused due to previous error (RuleNumber: 20012)"),
        ],
    }
    platform.on("POST", BASE, json_reply(body, 400))
    with pytest.raises(TransactionError) as caught:
        await make_client().fhir.transaction(visit()[0])
    err = caught.value
    assert err.first_failure is not None
    assert err.first_failure.index == 1
    assert [e.index for e in err.refused] == [0, 2, 3]
    assert "Found duplicate resource: Condition" in str(err)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (503, b"no healthy upstream", "text/plain"),
        (502, b"Bad Gateway", "text/plain"),
        (500, b"<html>oops</html>", "text/html"),
    ],
)
async def test_a_5xx_is_outcome_unknown_and_never_resent(
    platform: ScriptedPlatform,
    make_client: MakeClient,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    platform.on("POST", BASE, reply(status, body, content_type=content_type))
    bundle, _ = visit()
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.transaction(bundle)
    err = caught.value
    assert len(platform.requests("POST", BASE)) == 1
    assert err.status == status
    assert err.resource_type == "Bundle"
    assert err.payload == bundle.to_wire()
    assert set(err.identifiers) == {
        (ENC_SYSTEM, "V-1"),
        (COND_SYSTEM, "C-1-a"),
        (COND_SYSTEM, "C-1-b"),
        (OBS_SYSTEM, "O-1"),
    }


@pytest.mark.parametrize(
    "answer",
    [
        reply(200, b"<html>proxy</html>", content_type="text/html"),
        json_reply({"resourceType": "Bundle", "type": "transaction-response", "entry": []}),
        json_reply({"resourceType": "Bundle", "type": "searchset"}),
        json_reply(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [{"response": {"status": "201 Created"}}] * 4,
            }
        ),
    ],
)
async def test_a_2xx_that_cannot_be_read_is_outcome_unknown(
    platform: ScriptedPlatform, make_client: MakeClient, answer: Any
) -> None:
    platform.on("POST", BASE, answer)
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.transaction(visit()[0])
    assert caught.value.status == 200
    assert caught.value.resource_type == "Bundle"
    assert isinstance(caught.value.__cause__, APIError)
    assert len(platform.requests("POST", BASE)) == 1


async def test_lost_answer_then_reconcile_entry_by_entry(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", BASE, platform.slow(5.0, stored_answer))
    stored = {
        ("Encounter", f"{ENC_SYSTEM}|V-1"): {"resourceType": "Encounter", "id": "E1"},
        ("Condition", f"{COND_SYSTEM}|C-1-a"): {"resourceType": "Condition", "id": "C1"},
    }

    async def search(request: web.Request) -> web.StreamResponse:
        kind = request.path.rsplit("/", 1)[-1]
        found = stored.get((kind, request.rel_url.query["identifier"]))
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        bundle["total"] = 1 if found else 0
        if found:
            bundle["entry"] = [{"resource": found}]
        return response(200, bundle)

    platform.on("GET", BASE + "/{type}", search)
    client = make_client(timeout=0.2)
    bundle, refs = visit()
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.fhir.transaction(bundle)
    assert len(platform.requests("POST", BASE)) == 1
    found = await client.fhir.reconcile(caught.value)
    assert [f["id"] if f else None for f in found] == ["E1", "C1", None, None]
    searches = platform.requests("GET", BASE + "/{type}")
    assert {r.query["identifier"] for r in searches} == {
        f"{ENC_SYSTEM}|V-1",
        f"{COND_SYSTEM}|C-1-a",
        f"{COND_SYSTEM}|C-1-b",
        f"{OBS_SYSTEM}|O-1",
    }
    rest = bundle.without_stored(found)
    assert rest.full_urls == (refs["cold"], refs["pulse"])
    assert rest.entries[0].resource["encounter"] == {"reference": "Encounter/E1"}
    assert len(platform.requests("POST", BASE)) == 1


async def test_a_401_renews_the_token_and_sends_the_bundle_once_more(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", BASE, stored_answer)
    client = make_client()
    await client.token()
    platform.revoke_all()
    assert (await client.fhir.transaction(visit()[0])).ok
    # The refused attempt never reached the platform's processing; the second did.
    assert len(platform.requests("POST", BASE)) == 2
    assert len(platform.token_requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (429, {"fault": {"faultstring": "Spike arrest violation"}}, RateLimitError),
        (401, {"fault": {"faultstring": "Invalid access token"}}, AuthenticationError),
    ],
)
async def test_errors_about_the_request_not_the_bundle_keep_their_class(
    platform: ScriptedPlatform,
    make_client: MakeClient,
    status: int,
    body: dict[str, Any],
    cls: type[APIError],
) -> None:
    platform.on("POST", BASE, json_reply(body, status))
    with pytest.raises(cls) as caught:
        await make_client().fhir.transaction(visit()[0])
    assert not isinstance(caught.value, TransactionError)
    # A non-idempotent POST is not repeated on 429 either.
    assert len(platform.requests("POST", BASE)) == (2 if status == 401 else 1)


async def test_100_concurrent_transactions_one_token(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", BASE, stored_answer)
    client = make_client()
    bundles = [visit(tag=str(i))[0] for i in range(100)]
    results = await asyncio.gather(*(client.fhir.transaction(b) for b in bundles))
    assert all(r.ok for r in results)
    assert len(platform.token_requests) == 1
    posts = platform.requests("POST", BASE)
    assert len(posts) == 100
    sent_ids = sorted(p.json()["entry"][0]["resource"]["identifier"][0]["value"] for p in posts)
    assert sent_ids == sorted(f"V-{i}" for i in range(100))


async def test_validate_false_sends_what_the_preflight_would_refuse(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    platform.on("POST", BASE, stored_answer)
    bundle = TransactionBundle()
    bundle.add({"resourceType": "Condition", "encounter": {"reference": "urn:uuid:nowhere"}})
    with pytest.raises(TransactionError):
        await make_client().fhir.transaction(bundle)
    assert platform.requests("POST", BASE) == []
    assert (await make_client().fhir.transaction(bundle, validate=False)).ok
    assert len(platform.requests("POST", BASE)) == 1


async def test_an_error_outcome_inside_a_2xx_is_a_refusal_too(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            outcome_issue(
                "Invalid date time format (RuleNumber: 10132)",
                expression=["Bundle.entry[0].resource.period.start"],
            )
        ],
    }
    platform.on("POST", BASE, json_reply(body, 200))
    with pytest.raises(TransactionError) as caught:
        await make_client().fhir.transaction(visit()[0])
    assert caught.value.first_failure is not None
    assert caught.value.first_failure.index == 0
    assert "with status 200" in str(caught.value)
    assert len(platform.requests("POST", BASE)) == 1
