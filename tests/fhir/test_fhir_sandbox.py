"""client.fhir against the sandbox: every operation on several types, paging, duplicates,
lost answers reconciled, and the sandbox's own refusals."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from _fakes import MakeClient
from _fhir_helpers import (
    ENC_SYSTEM,
    LOC_SYSTEM,
    condition,
    encounter,
    location,
    organization,
    patient,
)

from sehatmu_async import (
    DuplicateResourceError,
    MultipleResultsError,
    NotFoundError,
    OutcomeUnknownError,
    SehatMuClient,
    ValidationError,
)
from sehatmu_async.sandbox import Sandbox
from sehatmu_async.sandbox._fhir_store import store_for


async def test_create_read_update_patch_on_several_types(
    sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    client = sandbox_client
    loc = await client.fhir.create(location(stored["organization"]))
    enc = await client.fhir.create(encounter(stored["patient"], stored["organization"]))
    cond = await client.fhir.create(condition(stored["patient"], enc["id"]))
    for made, kind in ((loc, "Location"), (enc, "Encounter"), (cond, "Condition")):
        assert made["resourceType"] == kind
        assert made["id"]
        assert await client.fhir.read(kind, made["id"]) == made
    finished = await client.fhir.update({**enc, "status": "finished"})
    assert finished["status"] == "finished"
    assert finished["meta"]["versionId"] == "2"
    patched = await client.fhir.patch(
        "Encounter",
        enc["id"],
        [
            {"op": "replace", "path": "/status", "value": "in-progress"},
            {
                "op": "add",
                "path": "/statusHistory/-",
                "value": {
                    "status": "in-progress",
                    "period": {"start": "2023-08-23T11:00:00+00:00"},
                },
            },
        ],
    )
    assert patched["status"] == "in-progress"
    assert len(patched["statusHistory"]) == 2
    assert (await client.fhir.read("Encounter", enc["id"]))["meta"]["versionId"] == "3"
    renamed = await client.fhir.patch(
        "Location", loc["id"], [{"op": "replace", "path": "/name", "value": "Poli Anak"}]
    )
    assert renamed["name"] == "Poli Anak"


async def test_search_pages_over_absolute_next_links(
    sandbox: Sandbox, sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    client = sandbox_client
    org = stored["organization"]
    made = [await client.fhir.create(location(org)) for _ in range(25)]
    await client.fhir.create(location((await client.fhir.create(organization()))["id"]))
    pager = client.fhir.search("Location", organization=org, _count=10)
    pages = [page async for page in pager.pages()]
    assert [len(p.resources) for p in pages] == [10, 10, 5]
    assert all(p.total == 25 for p in pages)
    assert pages[0].next_url is not None
    assert pages[0].next_url.startswith(sandbox.url)
    assert pages[-1].next_url is None
    assert [r["id"] async for r in pager] == [m["id"] for m in made]
    assert len(await pager.all(max_pages=3)) == 25
    assert (await pager.first())["id"] == made[0]["id"]
    with pytest.raises(MultipleResultsError):
        await pager.one()


async def test_search_by_reference_and_identifier(
    sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    client = sandbox_client
    enc = await client.fhir.create(encounter(stored["patient"], stored["organization"]))
    conds = [await client.fhir.create(condition(stored["patient"], enc["id"])) for _ in range(3)]
    by_encounter = await client.fhir.search("Condition", encounter=enc["id"]).all()
    assert [c["id"] for c in by_encounter] == [c["id"] for c in conds]
    by_subject = await client.fhir.search("Encounter", subject=stored["patient"]).one()
    assert by_subject["id"] == enc["id"]
    value = enc["identifier"][0]["value"]
    assert (await client.fhir.find_by_identifier("Encounter", ENC_SYSTEM, value))["id"] == enc["id"]
    assert await client.fhir.find_by_identifier("Encounter", ENC_SYSTEM, "nobody") is None
    with pytest.raises(NotFoundError):
        await client.fhir.search("Encounter", identifier=f"{ENC_SYSTEM}|nobody").one()
    child = await client.fhir.create(
        organization(partOf={"reference": f"Organization/{stored['organization']}"})
    )
    assert (await client.fhir.search("Organization", partof=stored["organization"]).one())[
        "id"
    ] == child["id"]


async def test_duplicate_is_refused_with_the_existing_id(
    sandbox: Sandbox, sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    loc = location(stored["organization"], value="LOC-DUP")
    first = await sandbox_client.fhir.create(loc)
    with pytest.raises(DuplicateResourceError) as caught:
        await sandbox_client.fhir.create({**loc, "name": "Poli Umum 2"})
    assert caught.value.existing_id == first["id"]
    assert 20002 in caught.value.rule_numbers
    assert "Found duplicate resource: Location" in str(caught.value)
    assert store_for(sandbox._state).creates["Location"] == 1


async def test_lost_create_answer_is_sent_once_and_reconciled(
    sandbox: Sandbox, make_client: MakeClient, stored: dict[str, Any]
) -> None:
    client = make_client(sandbox, timeout=0.3)
    payload = encounter(stored["patient"], stored["organization"])
    sandbox.faults.slow_create_s = 1.0
    before = sandbox.counters.by_route["POST /fhir-r4/v1/{type}"]
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.fhir.create(payload)
    err = caught.value
    assert sandbox.counters.by_route["POST /fhir-r4/v1/{type}"] == before + 1
    assert err.payload == payload
    assert err.resource_type == "Encounter"
    assert err.identifiers == ((ENC_SYSTEM, payload["identifier"][0]["value"]),)
    assert "client.fhir.reconcile(err)" in str(err)
    sandbox.faults.slow_create_s = 0
    found = await client.fhir.reconcile(err)
    assert found is not None
    assert found["subject"] == payload["subject"]
    assert store_for(sandbox._state).creates["Encounter"] == 1


async def test_reconcile_returns_none_when_nothing_was_stored(
    sandbox: Sandbox, make_client: MakeClient, stored: dict[str, Any]
) -> None:
    client = make_client(sandbox)
    err = OutcomeUnknownError("lost", payload=location(stored["organization"]))
    err.add_context(resource_type="Location", identifiers=[(LOC_SYSTEM, "never-sent")])
    assert await client.fhir.reconcile(err) is None


async def test_sandbox_refuses_dangling_references(
    sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        await sandbox_client.fhir.create(encounter("P99999999999", "no-such-org"))
    assert sorted(caught.value.rule_numbers) == [10124, 10124]
    assert {i.expression for i in caught.value.issues} == {
        ("Encounter.subject",),
        ("Encounter.serviceProvider",),
    }


async def test_sandbox_refuses_partial_location_patch(
    sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    loc = await sandbox_client.fhir.create(location(stored["organization"]))
    ops = [{"op": "replace", "path": "/operationalStatus/system", "value": "x"}]
    with pytest.raises(ValidationError) as caught:
        await sandbox_client.fhir.patch("Location", loc["id"], ops, validate=False)
    assert caught.value.rule_numbers == (10171,)
    assert caught.value.status == 400


async def test_sandbox_put_needs_the_id(
    sandbox: Sandbox, sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    token = (await sandbox_client.token()).access_token
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "test"}
    url = f"{sandbox.url}/fhir-r4/v1/Organization/{stored['organization']}"
    async with aiohttp.ClientSession() as session:
        async with session.put(url, json=organization(), headers=headers) as response:
            assert response.status == 400
            assert "id is required" in await response.text()
        body = {**organization(), "id": "another"}
        async with session.put(url, json=body, headers=headers) as response:
            assert response.status == 400


async def test_practitioners_are_read_and_searched_only(
    sandbox_client: SehatMuClient,
) -> None:
    found = await sandbox_client.fhir.find_by_identifier(
        "Practitioner", "https://fhir.kemkes.go.id/id/nik", "3171010101800001"
    )
    assert found is not None
    assert found["id"] == "N10000001"
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the status is what matters
        await sandbox_client.fhir.create(
            {"resourceType": "Practitioner", "name": [{"text": "dr. X"}]}
        )
    assert getattr(caught.value, "status", None) == 403


async def test_fault_knobs_apply_to_fhir_routes(
    sandbox: Sandbox, sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    sandbox.faults.fail_rate = 1.0
    with pytest.raises(OutcomeUnknownError):
        await sandbox_client.fhir.create(location(stored["organization"]))
    assert sandbox.counters.faults["5xx"] >= 1
    sandbox.faults.fail_rate = 0.0
    assert store_for(sandbox._state).creates["Location"] == 0


async def test_patient_through_the_generic_layer(sandbox_client: SehatMuClient) -> None:
    made = await sandbox_client.fhir.create(patient("3171012345678902"))
    assert made["id"].startswith("P")
    got = await sandbox_client.fhir.read("Patient", made["id"])
    assert got["identifier"][0]["value"] == "3171012345678902"
    patched = await sandbox_client.fhir.patch(
        "Patient", made["id"], [{"op": "replace", "path": "/gender", "value": "female"}]
    )
    assert patched["gender"] == "female"


async def test_never_a_duplicate_under_a_fault_storm(
    sandbox: Sandbox, sandbox_client: SehatMuClient, stored: dict[str, Any]
) -> None:
    """100 concurrent creates through drops and 5xx: each lost answer reconciled, nothing
    stored twice, nothing lost."""
    import asyncio

    client = sandbox_client
    payloads = [location(stored["organization"], value=f"STORM-{i}") for i in range(100)]
    sandbox.faults.drop_rate = 0.2
    sandbox.faults.fail_rate = 0.1
    results = await asyncio.gather(
        *(client.fhir.create(p) for p in payloads), return_exceptions=True
    )
    sandbox.faults.drop_rate = sandbox.faults.fail_rate = 0.0
    lost = [r for r in results if isinstance(r, OutcomeUnknownError)]
    assert lost, "the storm should have lost some answers"
    assert all(isinstance(r, (dict, OutcomeUnknownError)) for r in results)
    for err in lost:
        if await client.fhir.reconcile(err) is None:
            await client.fhir.create(err.payload)  # provably not stored: send it now
    store = store_for(sandbox._state)
    values = [r["identifier"][0]["value"] for r in store.of_type("Location")]
    assert sorted(values) == sorted(p["identifier"][0]["value"] for p in payloads)
