"""client.fhir.transaction against the sandbox: wiring and rewriting, refusals that store
nothing, the sandbox's own reading of every rule, lost answers, concurrency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import orjson
import pytest
from _fakes import MakeClient
from _transaction_helpers import (
    COND_SYSTEM,
    ENC_SYSTEM,
    condition,
    encounter,
    visit,
)

from sehatmu_async import (
    BundleResult,
    ConfigurationError,
    OutcomeUnknownError,
    RateLimitError,
    SehatMuClient,
    TransactionBundle,
    TransactionError,
    UnreconcilableEntryWarning,
    ValidationError,
)
from sehatmu_async._bundle_result import decode_transaction_response
from sehatmu_async._decoders import ResponseContext
from sehatmu_async.sandbox import Sandbox
from sehatmu_async.sandbox._fhir_store import store_for

ROUTE = "POST /fhir-r4/v1"


def stored_count(sandbox: Sandbox) -> int:
    return sum(store_for(sandbox._state).creates.values())


async def test_a_visit_is_stored_with_its_references_rewritten(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    client = sandbox_client
    bundle, refs = visit(patient_ref)
    result = await client.fhir.transaction(bundle)
    assert isinstance(result, BundleResult)
    assert result.ok
    assert [e.resource_type for e in result] == [
        "Encounter",
        "Condition",
        "Condition",
        "Observation",
    ]
    assert all(e.status == 201 for e in result)
    enc_id = result.id_for(refs["encounter"])
    assert enc_id is not None
    assert result[0].location == f"Encounter/{enc_id}/_history/1"
    assert result[0].etag == 'W/"1"'
    # Read back: every urn:uuid became the new Encounter's id.
    conditions = await client.fhir.search("Condition", encounter=enc_id).all()
    assert sorted(c["id"] for c in conditions) == sorted(
        [result.id_for(refs["appendicitis"]), result.id_for(refs["cold"])]
    )
    for stored in conditions:
        assert stored["encounter"] == {"reference": f"Encounter/{enc_id}"}
        assert stored["subject"] == {"reference": patient_ref}
    pulse = await client.fhir.read("Observation", result.id_for(refs["pulse"]))
    assert pulse["encounter"] == {"reference": f"Encounter/{enc_id}"}
    returned = result.resource_for(refs["cold"])
    assert returned is not None
    assert returned["encounter"]["reference"] == f"Encounter/{enc_id}"
    for entry in result:
        text = orjson.dumps(await client.fhir.read(entry.resource_type, entry.id)).decode()
        assert "urn:uuid:" not in text
    assert sandbox.counters.by_route[ROUTE] == 1
    assert stored_count(sandbox) == 4


async def test_references_between_any_entries_in_any_order_are_rewritten(
    sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle = TransactionBundle()
    # The Condition comes first and points forward to the Encounter's fullUrl.
    enc_ref = f"urn:uuid:{uuid.uuid4()}"
    cond = bundle.add(condition(enc_ref, subject=patient_ref))
    bundle.add(encounter(subject=patient_ref, diagnosis=[{"condition": {"reference": cond}}]),
               full_url=enc_ref)  # fmt: skip
    result = await sandbox_client.fhir.transaction(bundle)
    enc = await sandbox_client.fhir.read("Encounter", result.id_for(enc_ref))
    assert enc["diagnosis"][0]["condition"] == {"reference": result.reference_for(cond)}
    stored_cond = await sandbox_client.fhir.read("Condition", result.id_for(cond))
    assert stored_cond["encounter"] == {"reference": f"Encounter/{enc['id']}"}


async def test_return_minimal_answer_has_locations_but_no_resources(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, refs = visit(patient_ref)
    token = await sandbox_client.token()
    headers = {
        "Authorization": token.authorization(),
        "Prefer": "return=minimal",
        "User-Agent": "txn-tests",
    }
    async with aiohttp.ClientSession() as session, session.post(
        f"{sandbox.url}/fhir-r4/v1", json=bundle.to_wire(), headers=headers
    ) as raw:
        assert raw.status == 200
        answer = await raw.json()
    assert answer["type"] == "transaction-response"
    assert all("resource" not in entry for entry in answer["entry"])
    sent = [(e.full_url, e.resource_type) for e in bundle.entries]
    context = ResponseContext(
        status=200, method="POST", url=sandbox.url, path="/fhir-r4/v1", request_id=None
    )
    result = decode_transaction_response(context, answer, sent)
    assert result.ok
    assert result.resource_for(refs["encounter"]) is None
    enc_id = result.id_for(refs["encounter"])
    assert enc_id is not None
    stored = await sandbox_client.fhir.read("Condition", result.id_for(refs["cold"]))
    assert stored["encounter"] == {"reference": f"Encounter/{enc_id}"}


# -- refusals: the failing entry named, nothing stored -----------------------------------------


async def test_refused_transaction_names_the_entry_and_stores_nothing(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, refs = visit(patient_ref)
    bad = TransactionBundle()
    for index, entry in enumerate(bundle.entries):
        resource = entry.resource
        if index == 2:  # the second Condition names an Encounter nobody stored
            resource = {**resource, "encounter": {"reference": "Encounter/does-not-exist"}}
        bad.add(resource, full_url=entry.full_url)
    with pytest.raises(TransactionError) as caught:
        await sandbox_client.fhir.transaction(bad)
    err = caught.value
    assert isinstance(err, ValidationError)
    assert err.status == 400
    first = err.first_failure
    assert first is not None
    assert (first.index, first.resource_type, first.full_url) == (2, "Condition", refs["cold"])
    assert 10124 in first.outcome.rule_numbers  # type: ignore[union-attr]
    assert first.issues[0].expression == ("Bundle.entry[2].resource.encounter",)
    assert [(e.index, e.issues[0].rule_number) for e in err.refused] == [
        (0, 20013),
        (1, 20013),
        (3, 20012),
    ]
    assert "entry 2 (Condition)" in str(err)
    assert "10124" in str(err)
    assert "nothing of the bundle was stored" in str(err)
    assert stored_count(sandbox) == 0
    for system, value in ((ENC_SYSTEM, "V-1"), (COND_SYSTEM, "C-1-a")):
        kind = "Encounter" if system == ENC_SYSTEM else "Condition"
        assert await sandbox_client.fhir.find_by_identifier(kind, system, value) is None
    # Fixed, the same bundle goes through in full.
    assert (await sandbox_client.fhir.transaction(bundle)).ok
    assert stored_count(sandbox) == 4


async def test_a_bundle_sent_twice_is_refused_as_duplicate_and_stored_once(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, _ = visit(patient_ref)
    await sandbox_client.fhir.transaction(bundle)
    with pytest.raises(TransactionError) as caught:
        await sandbox_client.fhir.transaction(bundle)
    err = caught.value
    assert err.first_failure is not None
    assert err.first_failure.index == 0
    assert err.first_failure.issues[0].code == "duplicate"
    assert "do not send the bundle again" in str(err)
    assert stored_count(sandbox) == 4


async def test_entries_with_the_same_identifier_in_one_bundle_are_refused(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle = TransactionBundle()
    enc = bundle.add(encounter(subject=patient_ref))
    bundle.add(condition(enc, "same", subject=patient_ref))
    bundle.add(condition(enc, "same", code="J06.9", subject=patient_ref))
    with pytest.raises(TransactionError) as caught:
        await sandbox_client.fhir.transaction(bundle)
    assert caught.value.first_failure is not None
    assert caught.value.first_failure.index == 2
    assert 20002 in caught.value.first_failure.outcome.rule_numbers  # type: ignore[union-attr]
    assert stored_count(sandbox) == 0


def _wire_with(entries: list[dict[str, Any]]) -> TransactionBundle:
    return TransactionBundle.from_wire(
        {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )


def _entry(resource: dict[str, Any], full_url: object = "new", **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url == "new":
        full_url = f"urn:uuid:{uuid.uuid4()}"
    if full_url is not None:
        entry["fullUrl"] = full_url
    entry.update(extra)
    return entry


def _sandbox_cases(patient: str) -> list[tuple[str, TransactionBundle, int, int | None]]:
    """(name, bundle whose entry 1 is wrong, failing entry index, rule)."""
    enc_url = f"urn:uuid:{uuid.uuid4()}"
    good_enc = _entry(encounter(subject=patient), enc_url)

    def with_second(**kw: Any) -> TransactionBundle:
        return _wire_with([good_enc, _entry(condition(enc_url, subject=patient), **kw)])

    return [
        ("dangling urn", _wire_with(
            [good_enc, _entry(condition(f"urn:uuid:{uuid.uuid4()}", subject=patient))]
        ), 1, 10124),
        ("no fullUrl", with_second(full_url=None), 1, 20021),
        ("not a urn", with_second(full_url="Condition/1"), 1, 20017),
        ("not a uuid", with_second(full_url="urn:uuid:1234"), 1, 20018),
        ("not version 4", with_second(full_url=f"urn:uuid:{uuid.uuid1()}"), 1, 20019),
        ("fullUrl twice", with_second(full_url=enc_url), 1, 20020),
        ("nested bundle", _wire_with(
            [good_enc, _entry({"resourceType": "Bundle", "type": "collection"})]
        ), 1, 20011),
        ("wrong request", with_second(request={"method": "PUT", "url": "Condition/1"}), 1, None),
        ("004 rule", _wire_with([good_enc, _entry(condition(
            enc_url, subject=patient, identifier=[{"system": "http://x.org", "value": "1"}]
        ))]), 1, 10117),
        ("bad date-time", _wire_with(
            [good_enc, _entry(condition(enc_url, subject=patient, recordedDate="2023-08-23"))]
        ), 1, 10132),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(10))
async def test_every_preflight_refusal_sends_nothing(
    case: int, sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    name, bundle, index, rule = _sandbox_cases(patient_ref)[case]
    before = sandbox.counters.requests
    with pytest.raises(TransactionError) as caught:
        await sandbox_client.fhir.transaction(bundle)
    err = caught.value
    assert sandbox.counters.requests == before, f"{name}: a request was sent"
    assert err.url == "<pre-flight>"
    assert err.first_failure is not None
    assert err.first_failure.index == index, name
    assert rule in err.first_failure.outcome.rule_numbers or rule is None, name  # type: ignore[union-attr]


@pytest.mark.parametrize("case", range(10))
async def test_the_sandbox_applies_every_rule_itself(
    case: int, sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    name, bundle, index, rule = _sandbox_cases(patient_ref)[case]
    with pytest.raises(TransactionError) as caught:
        await sandbox_client.fhir.transaction(bundle, validate=False)
    err = caught.value
    assert err.status == 400, name
    first = err.first_failure
    assert first is not None, name
    assert first.index == index, name
    if rule is not None:
        assert rule in first.outcome.rule_numbers, name  # type: ignore[union-attr]
    assert [e.index for e in err.refused] == [0], name
    assert stored_count(sandbox) == 0, name


async def test_empty_bundle_is_refused_before_any_request(
    sandbox: Sandbox, sandbox_client: SehatMuClient
) -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        await sandbox_client.fhir.transaction(TransactionBundle())
    with pytest.raises(ConfigurationError, match="empty"):
        await sandbox_client.fhir.transaction(TransactionBundle(), validate=False)
    with pytest.raises(ConfigurationError, match="TransactionBundle"):
        await sandbox_client.fhir.transaction({"resourceType": "Bundle"})  # type: ignore[arg-type]
    assert sandbox.counters.requests == 0


async def test_the_sandbox_refuses_patients_and_read_only_types_in_a_transaction(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle = TransactionBundle()
    bundle.add(encounter(subject=patient_ref))
    bundle.add({"resourceType": "Practitioner", "name": [{"text": "dr. X"}]})
    with pytest.raises(TransactionError) as caught, pytest.warns(UnreconcilableEntryWarning):
        await sandbox_client.fhir.transaction(bundle)
    assert caught.value.first_failure is not None
    assert caught.value.first_failure.index == 1
    assert 20004 in caught.value.first_failure.outcome.rule_numbers  # type: ignore[union-attr]
    assert stored_count(sandbox) == 0


# -- lost answers: sent once, reconciled ----------------------------------------------------------


async def test_lost_answer_is_one_post_and_reconcile_finds_every_entry(
    sandbox: Sandbox, make_client: MakeClient, patient_ref: str
) -> None:
    client = make_client(sandbox, timeout=0.3)
    await client.token()
    bundle, _ = visit(patient_ref)
    sandbox.faults.slow_create_s = 1.0
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.fhir.transaction(bundle)
    err = caught.value
    assert sandbox.counters.by_route[ROUTE] == 1
    assert err.resource_type == "Bundle"
    assert err.payload == bundle.to_wire()
    assert (ENC_SYSTEM, "V-1") in err.identifiers
    assert len(err.identifiers) == 4
    assert "client.fhir.reconcile(err)" in str(err)
    sandbox.faults.slow_create_s = 0
    found = await client.fhir.reconcile(err)
    assert isinstance(found, list)
    assert [f["resourceType"] for f in found] == [
        "Encounter",
        "Condition",
        "Condition",
        "Observation",
    ]
    assert found[1]["encounter"] == {"reference": f"Encounter/{found[0]['id']}"}
    # Everything was stored: nothing is left to send again.
    assert len(bundle.without_stored(found)) == 0
    assert stored_count(sandbox) == 4
    assert sandbox.counters.by_route[ROUTE] == 1


async def test_dropped_transaction_is_not_resent_and_reconcile_says_nothing_was_stored(
    sandbox: Sandbox, make_client: MakeClient, patient_ref: str
) -> None:
    client = make_client(sandbox)
    await client.token()
    bundle, _ = visit(patient_ref)
    sandbox.faults.drop_rate = 1.0
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.fhir.transaction(bundle)
    assert sandbox.counters.by_route[ROUTE] == 1
    sandbox.faults.drop_rate = 0.0
    found = await client.fhir.reconcile(caught.value)
    assert found == [None, None, None, None]
    again = bundle.without_stored(found)
    assert again.full_urls == bundle.full_urls
    assert (await client.fhir.transaction(again)).ok
    assert stored_count(sandbox) == 4


async def test_a_5xx_after_sending_is_outcome_unknown_and_never_repeated(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, _ = visit(patient_ref)
    sandbox.faults.fail_rate = 1.0
    with pytest.raises(OutcomeUnknownError) as caught:
        await sandbox_client.fhir.transaction(bundle)
    assert caught.value.status in (502, 503, 504)
    assert caught.value.resource_type == "Bundle"
    assert sandbox.counters.by_route[ROUTE] == 1


async def test_only_the_missing_entries_are_sent_again(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    """The recipe's general case: some entries stored (by an earlier, smaller bundle)."""
    client = sandbox_client
    bundle, refs = visit(patient_ref)
    first = TransactionBundle()
    first.add(bundle.entries[0].resource, full_url=bundle.entries[0].full_url)
    await client.fhir.transaction(first)
    err = OutcomeUnknownError("lost", payload=bundle.to_wire())
    err.add_context(resource_type="Bundle")
    found = await client.fhir.reconcile(err)
    assert [f is not None for f in found] == [True, False, False, False]
    rest = bundle.without_stored(found)
    assert rest.full_urls == (refs["appendicitis"], refs["cold"], refs["pulse"])
    result = await client.fhir.transaction(rest)
    cond = await client.fhir.read("Condition", result.id_for(refs["cold"]))
    assert cond["encounter"] == {"reference": f"Encounter/{found[0]['id']}"}
    assert stored_count(sandbox) == 4


# -- concurrency -----------------------------------------------------------------------------


async def test_100_concurrent_transactions_on_one_client(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    client = sandbox_client
    tokens_before = sandbox.counters.token_requests
    bundles = [visit(patient_ref, tag=str(i)) for i in range(100)]
    results = await asyncio.gather(*(client.fhir.transaction(b) for b, _ in bundles))
    assert all(r.ok for r in results)
    assert sandbox.counters.by_route[ROUTE] == 100
    assert sandbox.counters.token_requests == tokens_before  # the patient fixture's one token
    assert client.token_requests == 1
    assert stored_count(sandbox) == 400
    encounter_ids = {
        r.id_for(refs["encounter"]) for r, (_, refs) in zip(results, bundles, strict=True)
    }
    assert len(encounter_ids) == 100
    # Each visit's Conditions point at its own Encounter, never a neighbour's.
    for result, (_, refs) in zip(results[:10], bundles[:10], strict=True):
        enc_id = result.id_for(refs["encounter"])
        conditions = await client.fhir.search("Condition", encounter=enc_id).all()
        assert sorted(c["id"] for c in conditions) == sorted(
            [result.id_for(refs["appendicitis"]), result.id_for(refs["cold"])]
        )


# -- the sandbox's own answers, read without the SDK's decoders ------------------------------


async def _raw_post(sandbox: Sandbox, client: SehatMuClient, body: bytes) -> tuple[int, Any]:
    token = await client.token()
    headers = {
        "Authorization": token.authorization(),
        "Content-Type": "application/fhir+json",
        "User-Agent": "txn-tests",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.url}/fhir-r4/v1", data=body, headers=headers) as raw,
    ):
        return raw.status, await raw.json(content_type=None)


async def test_the_sandbox_refusal_is_one_operation_outcome_naming_every_entry(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, refs = visit(patient_ref)
    wire = bundle.to_wire()
    wire["entry"][1]["resource"]["subject"] = {"reference": "Patient/nobody"}
    status, answer = await _raw_post(sandbox, sandbox_client, orjson.dumps(wire))
    assert status == 400
    assert answer["resourceType"] == "OperationOutcome"
    issues = answer["issue"]
    failing = [i for i in issues if "previous error" not in i["details"]["text"]]
    assert [i["expression"] for i in failing] == [["Bundle.entry[1].resource.subject"]]
    assert "(RuleNumber: 10124)" in failing[0]["details"]["text"]
    previous = [i for i in issues if "previous error" in i["details"]["text"]]
    assert [i["expression"] for i in previous] == [
        ["Bundle.entry[0]"],
        ["Bundle.entry[2]"],
        ["Bundle.entry[3]"],
    ]
    assert ["(RuleNumber: 20013)" in previous[0]["details"]["text"]] == [True]
    assert all("(RuleNumber: 20012)" in i["details"]["text"] for i in previous[1:])
    assert [i["diagnostics"] for i in previous] == [
        f"fullUrl {refs['encounter']}",
        f"fullUrl {refs['cold']}",
        f"fullUrl {refs['pulse']}",
    ]
    assert stored_count(sandbox) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b'{"resourceType": "Patient"}', 400),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": []}', 400),
        (b'{"resourceType": "Bundle", "type": "transaction", "entry": []}', 400),
        (b'{"resourceType": "Bundle", "type": "transaction"}', 400),
    ],
)
async def test_the_sandbox_refuses_what_is_no_transaction(
    sandbox: Sandbox, sandbox_client: SehatMuClient, body: bytes, status: int
) -> None:
    got, answer = await _raw_post(sandbox, sandbox_client, body)
    assert got == status
    assert answer["resourceType"] == "OperationOutcome"
    assert stored_count(sandbox) == 0


async def test_rate_limited_transaction_is_not_repeated(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, _ = visit(patient_ref)
    sandbox.faults.rate_limit_rate = 1.0
    with pytest.raises(RateLimitError):
        await sandbox_client.fhir.transaction(bundle)
    assert sandbox.counters.by_route[ROUTE] == 1
    sandbox.faults.rate_limit_rate = 0.0
    assert (await sandbox_client.fhir.transaction(bundle)).ok


async def test_reconcile_with_a_model_returns_models_usable_by_without_stored(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    bundle, refs = visit(patient_ref)
    first = TransactionBundle()
    first.add(bundle.entries[0].resource, full_url=bundle.entries[0].full_url)
    await sandbox_client.fhir.transaction(first)
    err = OutcomeUnknownError("lost", payload=bundle.to_wire())
    err.add_context(resource_type="Bundle")

    class Stored:
        def __init__(self, wire: dict[str, Any]) -> None:
            self.id = wire["id"]
            self.resource_type = wire["resourceType"]

        @classmethod
        def model_validate(cls, wire: dict[str, Any]) -> Stored:
            return cls(wire)

    found = await sandbox_client.fhir.reconcile(err, model=Stored)
    assert isinstance(found[0], Stored)
    assert found[1:] == [None, None, None]
    rest = bundle.without_stored(found)
    assert rest.full_urls == (refs["appendicitis"], refs["cold"], refs["pulse"])
    assert rest.entries[0].resource["encounter"] == {"reference": f"Encounter/{found[0].id}"}
