"""Patient create, patch, read and search-by-identifier.

Two answer styles for create, chosen by ``Sandbox.patient_answer``:

* ``"fhir"``: as the documents say, ``201`` with the stored Patient; refusals are
  ``400`` OperationOutcomes.
* ``"envelope"``: as the live platform answers, ``200`` with a ``{"success": ...}``
  envelope for created / already exists / unknown citizen.

Sandbox convention: a NIK (own or mother's) starting with ``0000`` belongs to nobody
in the civil registry, so its create answers "Citizen Not Exists".
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import jsonpatch
import orjson
from aiohttp import web
from jsonpointer import JsonPointerException

from ._patients import canonical_digest
from ._responses import issue, json_response, outcome
from ._state import PATIENT_CREATE_ROUTE, STATE, SandboxState
from ._validation import NIK_IBU_SYSTEM, nik_key, validate_patient

PATIENT_PATH = "/fhir-r4/v1/Patient"
NOT_A_CITIZEN_PREFIX = "0000"
_CREATE_TYPES = frozenset({"application/json", "application/fhir+json"})
_PATCH_TYPES = frozenset({"application/json", "application/json-patch+json"})
# Elements the server owns; patching them would detach the resource from its id.
_READ_ONLY_PATHS = ("/id", "/resourceType", "/meta")


class Refused(Exception):
    """A request answered with an OperationOutcome."""

    def __init__(self, *issues: dict[str, Any], status: int = 400) -> None:
        super().__init__(issues)
        self.issues = list(issues)
        self.status = status


async def _json_body(request: web.Request, allowed: frozenset[str]) -> Any:
    if request.content_type not in allowed:
        raise Refused(
            issue("not-supported", f"Unsupported Content-Type: {request.content_type}"),
            status=415,
        )
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise Refused(issue("structure", "The request body is not valid JSON")) from None


def _not_found(patient_id: str) -> Refused:
    return Refused(issue("not-found", f"Resource Patient/{patient_id} is not known"), status=404)


def _exists(state: SandboxState, system: str, existing_id: str) -> web.Response:
    if state.patient_answer == "fhir":
        return outcome([issue("duplicate", f"Patient Resource Exists: {existing_id}")])
    message = (
        "Failed to create new patient, another identifier has found"
        if system == NIK_IBU_SYSTEM
        else "Patient Resource Exists"
    )
    return json_response(
        {"success": False, "message": message, "data": {"resourceID": existing_id}}
    )


def _created(state: SandboxState, request: web.Request, patient: dict[str, Any]) -> web.Response:
    patient_id = patient["id"]
    if state.patient_answer == "fhir":
        location = f"{request.url.origin()}{PATIENT_PATH}/{patient_id}/_history/1"
        return json_response(patient, 201, {"Location": location})
    if nik_key(patient)[0] != NIK_IBU_SYSTEM:
        return json_response(
            {
                "success": True,
                "message": "New Patient has been created successfully",
                "data": {"Patient ID:": patient_id},
            }
        )
    # The newborn wrapper; the sandbox keeps no RelatedPerson, so those parts are
    # plausible fillers with the shape of the live answer.
    return json_response(
        {
            "create_patient": {"success": True, "data": {"patient_id": patient_id}},
            "create_related_patient": {
                "success": True,
                "data": {"related_person_id": f"R{patient_id[1:]}"},
            },
            "update_link_patient": {"success": True, "data": {"patient_id": patient_id}},
            "log_time": {
                "create_patient": "0.01s",
                "create_related_patient": "0.01s",
                "update_link_patient": "0.01s",
            },
        }
    )


async def create_patient(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        resource = await _json_body(request, _CREATE_TYPES)
        issues = validate_patient(resource)
        if issues:
            raise Refused(*issues)
        digest = canonical_digest(resource)
        if state.patients.seen_payload(digest):
            raise Refused(issue("duplicate", "Found duplicate resource: Patient"))
    except Refused as refused:
        return outcome(refused.issues, refused.status)
    system, nik = nik_key(resource)
    if nik.startswith(NOT_A_CITIZEN_PREFIX):
        if state.patient_answer == "fhir":
            return outcome([issue("value", "Citizen Not Exists")])
        return json_response({"success": False, "message": "Citizen Not Exists"})
    existing_id = state.patients.id_for_nik((system, nik))
    if existing_id is not None:
        return _exists(state, system, existing_id)
    patient = state.patients.create(resource, digest)
    slow = state.faults.slow_create_s
    if slow > 0:
        # Stored already: the client that gives up now has created the patient anyway.
        state.counters.faults["slow_create"] += 1
        await asyncio.sleep(slow)
    return _created(state, request, patient)


def _check_operations(operations: Any) -> list[dict[str, Any]]:
    if not isinstance(operations, list) or not operations:
        raise Refused(issue("structure", "The body must be a non-empty JSON Patch array"))
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise Refused(issue("structure", f"Patch operation {index} is not an object"))
        op, path = operation.get("op"), operation.get("path")
        if op != "replace":
            raise Refused(
                issue("not-supported", f"Only the replace operation is supported, got '{op}'")
            )
        if not isinstance(path, str) or "value" not in operation:
            raise Refused(issue("structure", f"Patch operation {index} needs a path and a value"))
        if any(path == p or path.startswith(p + "/") for p in _READ_ONLY_PATHS):
            raise Refused(issue("value", f"Element cannot be patched: {path}"))
    return operations


def _apply_replaces(current: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply ``replace`` operations one by one with the JSON Patch library.

    The platform offers only ``replace`` and its own example replaces ``/language``
    on a Patient that may have none, so a missing member of an existing object is
    set (RFC 6902 ``add``); a missing parent or list index is still refused.
    """
    document: dict[str, Any] = current
    for operation in operations:
        try:
            document = jsonpatch.apply_patch(document, [cast(Any, operation)])
        except jsonpatch.JsonPatchConflict:
            pointer = jsonpatch.JsonPointer(operation["path"])
            parent = jsonpatch.JsonPointer.from_parts(pointer.parts[:-1]).resolve(document)
            if not isinstance(parent, dict) or not pointer.parts:
                raise
            document = jsonpatch.apply_patch(document, [{**operation, "op": "add"}])
    return document


async def patch_patient(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    patient_id = request.match_info["id"]
    try:
        current = state.patients.get(patient_id)
        if current is None:
            raise _not_found(patient_id)
        operations = _check_operations(await _json_body(request, _PATCH_TYPES))
        try:
            patched = _apply_replaces(current, operations)
        except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
            raise Refused(issue("value", f"Invalid patch: {exc}")) from None
        issues = validate_patient(patched)
        if issues:
            raise Refused(*issues)
        owner = state.patients.id_for_nik(nik_key(patched))
        if owner is not None and owner != patient_id:
            raise Refused(issue("duplicate", f"Patient Resource Exists: {owner}"))
    except Refused as refused:
        return outcome(refused.issues, refused.status)
    return json_response(state.patients.replace(patient_id, patched))


async def read_patient(request: web.Request) -> web.StreamResponse:
    patient_id = request.match_info["id"]
    patient = request.app[STATE].patients.get(patient_id)
    if patient is None:
        return outcome(_not_found(patient_id).issues, 404)
    return json_response(patient)


async def search_patients(request: web.Request) -> web.StreamResponse:
    raw = request.rel_url.query.get("identifier")
    if raw is None:
        return outcome([issue("required", "The identifier search parameter is required")])
    system, bar, value = raw.partition("|")
    if not (bar and system and value):
        return outcome([issue("value", f"Invalid identifier, expected system|value: '{raw}'")])
    found = request.app[STATE].patients.search(system, value)
    base = f"{request.url.origin()}{PATIENT_PATH}"
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(found)}
    if found:
        bundle["entry"] = [
            {"fullUrl": f"{base}/{p['id']}", "resource": p, "search": {"mode": "match"}}
            for p in found
        ]
    return json_response(bundle)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(PATIENT_PATH, create_patient, name=PATIENT_CREATE_ROUTE)
    router.add_get(PATIENT_PATH, search_patients, allow_head=False)
    router.add_get(f"{PATIENT_PATH}/{{id}}", read_patient, allow_head=False)
    router.add_patch(f"{PATIENT_PATH}/{{id}}", patch_patient)
