"""The demo's transaction part: one visit (an Encounter, two Conditions, an Observation)
sent as a single transaction bundle, then the Conditions read back to show that the
``urn:uuid:`` references were rewritten to the new Encounter's id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from .._bundle import TransactionBundle
from .._client import SehatMuClient
from ._failures import CommandError

__all__ = ["demo_transaction"]

#: The demo clinic's organization id (as in the clinical part of the demo).
ORG_ID = "10000004"
_SYS = "http://sys-ids.kemkes.go.id"
_ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _condition(
    enc: str, patient: str, value: str, code: str, display: str, when: datetime
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "identifier": [{"system": f"{_SYS}/condition/{ORG_ID}", "value": value}],
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                    "display": "Active",
                }
            ]
        },
        "code": {"coding": [{"system": _ICD10, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "encounter": {"reference": enc},
        "recordedDate": when,
    }


def visit_bundle(patient_id: str, now: datetime) -> tuple[TransactionBundle, dict[str, str]]:
    """The demo visit as a bundle, and the ``urn:uuid:`` reference of each entry."""
    arrived = now - timedelta(minutes=40)
    bundle = TransactionBundle()
    enc = bundle.add(
        {
            "resourceType": "Encounter",
            "identifier": [{"system": f"{_SYS}/encounter/{ORG_ID}", "value": "KUNJUNGAN-2"}],
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": arrived, "end": now},
            "statusHistory": [
                {"status": "arrived", "period": {"start": arrived, "end": now}},
                {"status": "finished", "period": {"start": now, "end": now}},
            ],
        }
    )
    refs = {
        "encounter": enc,
        "fever": bundle.add(_condition(enc, patient_id, "DX-2-1", "A01.0", "Typhoid fever", now)),
        "cold": bundle.add(
            _condition(enc, patient_id, "DX-2-2", "J00", "Acute nasopharyngitis", now)
        ),
        "temperature": bundle.add(
            {
                "resourceType": "Observation",
                "identifier": [{"system": f"{_SYS}/observation/{ORG_ID}", "value": "OBS-2-1"}],
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {"system": "http://loinc.org", "code": "8310-5", "display": "Body temp"}
                    ]
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "encounter": {"reference": enc},
                "effectiveDateTime": now,
                "valueQuantity": {
                    "value": 38.6,
                    "unit": "C",
                    "system": "http://unitsofmeasure.org",
                    "code": "Cel",
                },
            }
        ),
    }
    return bundle, refs


async def demo_transaction(
    client: SehatMuClient, patient_id: str, note: Callable[[str], None]
) -> str:
    """Send the visit, read its Conditions back; return the new Encounter's id."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    bundle, refs = visit_bundle(patient_id, now)
    result = await client.fhir.transaction(bundle)
    if not result.ok:
        failed = next(entry for entry in result if not entry.ok)
        raise CommandError(f"the demo visit was not stored: {failed.describe()}")
    enc_id = result.id_for(refs["encounter"])
    note(
        f"sent one visit as a transaction: {len(result)} entries stored "
        f"(Encounter {enc_id}, 2 Conditions, 1 Observation)"
    )
    conditions = await client.fhir.search("Condition", encounter=enc_id).all()
    expected = {result.id_for(refs["fever"]), result.id_for(refs["cold"])}
    if {c.get("id") for c in conditions} != expected:
        raise CommandError(
            f"searching Conditions of Encounter {enc_id} found "
            f"{sorted(str(c.get('id')) for c in conditions)}, expected {sorted(map(str, expected))}"
        )
    for cond in sorted(conditions, key=lambda c: str(c["code"]["coding"][0]["code"])):
        reference = cond.get("encounter", {}).get("reference")
        if reference != f"Encounter/{enc_id}":
            raise CommandError(f"Condition {cond['id']} refers to {reference!r}, not the visit")
        code = cond["code"]["coding"][0]["code"]
        sent = refs["fever"] if cond["id"] == result.id_for(refs["fever"]) else refs["cold"]
        note(f"  Condition {code}: encounter {sent[:17]}… -> {reference}")
    return str(enc_id)
