"""The demo's clinical part: an Organization, a Location and an Encounter for the demo
patient, created through ``client.fhir`` and found again by search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .._client import SehatMuClient
from ._failures import CommandError

__all__ = ["demo_fhir"]

#: The demo clinic's organization id, as in the platform's identifier systems.
ORG_ID = "10000004"
_SYS = "http://sys-ids.kemkes.go.id"


async def _found(client: SehatMuClient, made: dict[str, Any], search: dict[str, str]) -> None:
    kind = made["resourceType"]
    again = await client.fhir.search(kind, search).one()
    if again["id"] != made["id"]:
        raise CommandError(f"searching {kind} found {again['id']}, not {made['id']}")


async def demo_fhir(client: SehatMuClient, patient_id: str, note: Callable[[str], None]) -> None:
    org = await client.fhir.create(
        {
            "resourceType": "Organization",
            "identifier": [
                {
                    "use": "official",
                    "system": f"{_SYS}/organization/{ORG_ID}",
                    "value": "KLINIK-DEMO",
                }
            ],
            "active": True,
            "name": "Klinik Demo Sehat",
        }
    )
    loc = await client.fhir.create(
        {
            "resourceType": "Location",
            "identifier": [{"system": f"{_SYS}/location/{ORG_ID}", "value": "POLI-UMUM"}],
            "status": "active",
            "name": "Poli Umum",
            "mode": "instance",
            "managingOrganization": {"reference": f"Organization/{org['id']}"},
        }
    )
    now = datetime.now(timezone.utc)
    enc = await client.fhir.create(
        {
            "resourceType": "Encounter",
            "identifier": [{"system": f"{_SYS}/encounter/{ORG_ID}", "value": "KUNJUNGAN-1"}],
            "status": "arrived",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "location": [{"location": {"reference": f"Location/{loc['id']}"}}],
            "period": {"start": now},  # an aware datetime goes out as UTC +00:00
            "statusHistory": [{"status": "arrived", "period": {"start": now}}],
            "serviceProvider": {"reference": f"Organization/{org['id']}"},
        }
    )
    note(f"created Organization {org['id']}, Location {loc['id']}, Encounter {enc['id']}")
    await _found(client, org, {"identifier": f"{_SYS}/organization/{ORG_ID}|KLINIK-DEMO"})
    await _found(client, loc, {"organization": org["id"]})
    await _found(client, enc, {"subject": patient_id})
    note("found the Organization, Location and Encounter again by search")
