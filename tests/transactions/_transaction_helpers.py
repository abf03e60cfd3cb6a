"""Resources of one clinic visit that pass the pre-flight (a unique module name: no packages)."""

from __future__ import annotations

from typing import Any

ORG = "100025753"
PATIENT_REF = "Patient/P02029102687"
ENC_SYSTEM = f"http://sys-ids.kemkes.go.id/encounter/{ORG}"
COND_SYSTEM = f"http://sys-ids.kemkes.go.id/condition/{ORG}"
OBS_SYSTEM = f"http://sys-ids.kemkes.go.id/observation/{ORG}"
ARRIVED = "2023-08-23T01:00:00+00:00"
FINISHED = "2023-08-23T02:00:00+00:00"


def encounter(value: str = "V-1", *, subject: str = PATIENT_REF, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "identifier": [{"system": ENC_SYSTEM, "value": value}],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": subject, "display": "Budi Santoso"},
        "period": {"start": ARRIVED, "end": FINISHED},
        **extra,
    }


def condition(
    enc_ref: str, value: str = "C-1", *, code: str = "K35.8", subject: str = PATIENT_REF,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "resourceType": "Condition",
        "identifier": [{"system": COND_SYSTEM, "value": value}],
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
        "subject": {"reference": subject},
        "encounter": {"reference": enc_ref},
        "recordedDate": FINISHED,
        **extra,
    }


def observation(
    enc_ref: str, value: str = "O-1", *, subject: str = PATIENT_REF, **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": OBS_SYSTEM, "value": value}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": subject},
        "encounter": {"reference": enc_ref},
        "effectiveDateTime": FINISHED,
        "valueQuantity": {"value": 80, "unit": "beats/minute"},
        **extra,
    }


def visit(patient: str = PATIENT_REF, tag: str = "1") -> tuple[Any, dict[str, str]]:
    """One visit as a bundle (Encounter, two Conditions, an Observation) and its refs."""
    from sehatmu_async import TransactionBundle

    bundle = TransactionBundle()
    enc = bundle.add(encounter(f"V-{tag}", subject=patient))
    refs = {
        "encounter": enc,
        "appendicitis": bundle.add(condition(enc, f"C-{tag}-a", code="K35.8", subject=patient)),
        "cold": bundle.add(condition(enc, f"C-{tag}-b", code="J06.9", subject=patient)),
        "pulse": bundle.add(observation(enc, f"O-{tag}", subject=patient)),
    }
    return bundle, refs
