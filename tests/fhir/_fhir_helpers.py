"""Shared by the FHIR tests (a unique module name: tests/ has no packages): payloads of
several resource types, and scripted searchset pages with absolute next links."""

from __future__ import annotations

import itertools
from typing import Any

from _fakes import ScriptedPlatform, json_reply
from aiohttp import web

ORG_ID = "100025753"
ORG_SYSTEM = f"http://sys-ids.kemkes.go.id/organization/{ORG_ID}"
LOC_SYSTEM = f"http://sys-ids.kemkes.go.id/location/{ORG_ID}"
ENC_SYSTEM = f"http://sys-ids.kemkes.go.id/encounter/{ORG_ID}"
COND_SYSTEM = f"http://sys-ids.kemkes.go.id/condition/{ORG_ID}"
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU_SYSTEM = "https://fhir.kemkes.go.id/id/nik-ibu"
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial):05d}"


def organization(value: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"use": "official", "system": ORG_SYSTEM, "value": value or unique("O")}],
        "active": True,
        "name": "Klinik Sehat Sentosa",
        **extra,
    }


def location(org_id: str, value: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "identifier": [{"system": LOC_SYSTEM, "value": value or unique("L")}],
        "status": "active",
        "name": "Poli Umum",
        "mode": "instance",
        "managingOrganization": {"reference": f"Organization/{org_id}"},
        **extra,
    }


def encounter(
    patient_id: str, org_id: str, value: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "identifier": [{"system": ENC_SYSTEM, "value": value or unique("E")}],
        "status": "arrived",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": f"Patient/{patient_id}", "display": "Budi Santoso"},
        "period": {"start": "2023-08-23T10:35:00+00:00"},
        "serviceProvider": {"reference": f"Organization/{org_id}"},
        "statusHistory": [{"status": "arrived", "period": {"start": "2023-08-23T10:35:00+00:00"}}],
        **extra,
    }


def condition(patient_id: str, encounter_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "identifier": [{"system": COND_SYSTEM, "value": unique("C")}],
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "K35.8"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "recordedDate": "2023-08-23T11:00:00+00:00",
        **extra,
    }


def patient(
    nik: str = "3171012345678901", system: str = NIK_SYSTEM, **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"use": "official", "system": system, "value": nik}],
        "name": [{"use": "official", "text": "Budi Santoso"}],
        "gender": "male",
        "birthDate": "1990-05-12",
        **extra,
    }


def searchset(
    resources: list[dict[str, Any]], *, total: int | None = None, next_url: str | None = None
) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": "http://example.invalid/self"}],
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if total is not None:
        bundle["total"] = total
    if next_url is not None:
        bundle["link"].append({"relation": "next", "url": next_url})
    return bundle


def script_pages(
    platform: ScriptedPlatform, kind: str, pages: int, per_page: int, *, total: int | None = None
) -> list[dict[str, Any]]:
    """Serve ``pages`` searchset pages of ``kind`` at ``/fhir-r4/v1/{kind}``, page ``n`` at
    ``?_page=n`` with an ABSOLUTE next link on the platform's origin; returns every resource."""
    every = [
        {"resourceType": kind, "id": f"{kind[:3].lower()}-{p}-{i}"}
        for p in range(1, pages + 1)
        for i in range(per_page)
    ]
    count = total if total is not None else len(every)

    def answer(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("_page", "1"))
        chunk = every[(page - 1) * per_page : page * per_page]
        nxt = None
        if page < pages:
            nxt = f"{platform.url}/fhir-r4/v1/{kind}?_page={page + 1}&_count={per_page}"
        return json_reply(searchset(chunk, total=count, next_url=nxt))(request)

    platform.on("GET", f"/fhir-r4/v1/{kind}", answer)
    return every
