"""The demo's transaction part: one visit sent as a bundle, its Conditions read back."""

from __future__ import annotations

import pytest

from sehatmu_async import SehatMuClient, TransactionError
from sehatmu_async.cli._demo_transaction import demo_transaction
from sehatmu_async.sandbox import Sandbox
from sehatmu_async.sandbox._fhir_store import store_for


async def test_the_demo_visit_is_one_transaction_with_rewritten_references(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    notes: list[str] = []
    patient_id = patient_ref.split("/")[1]
    enc_id = await demo_transaction(sandbox_client, patient_id, notes.append)
    assert sandbox.counters.by_route["POST /fhir-r4/v1"] == 1
    assert store_for(sandbox._state).creates == {"Encounter": 1, "Condition": 2, "Observation": 1}
    assert f"Encounter {enc_id}" in notes[0]
    shown = [n for n in notes if n.strip().startswith("Condition")]
    assert len(shown) == 2
    assert all("urn:uuid:" in n and n.endswith(f"-> Encounter/{enc_id}") for n in shown)
    stored = [r for r in store_for(sandbox._state).of_type("Observation")]
    assert stored[0]["encounter"] == {"reference": f"Encounter/{enc_id}"}


async def test_the_demo_says_so_when_the_visit_is_refused(
    sandbox: Sandbox, sandbox_client: SehatMuClient, patient_ref: str
) -> None:
    patient_id = patient_ref.split("/")[1]
    await demo_transaction(sandbox_client, patient_id, lambda _: None)
    # The same visit again is a duplicate: the platform refuses it and stores nothing.
    with pytest.raises(TransactionError, match="duplicate") as caught:
        await demo_transaction(sandbox_client, patient_id, lambda _: None)
    assert caught.value.first_failure is not None
    assert caught.value.first_failure.resource_type == "Encounter"
    assert sum(store_for(sandbox._state).creates.values()) == 4
