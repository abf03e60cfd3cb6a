"""Create, read, update (PUT), patch and search for every FHIR type but Patient.

Patient keeps its own routes (registered first, so they win); a request for a Patient
that only these routes serve (PUT) is refused. Refusals are 4xx OperationOutcomes with
the rule numbers of document 004; the fault knobs apply here as on every route, and
``slow_create_s`` holds a create's answer back after it was stored.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import jsonpatch
import orjson
from aiohttp import web
from jsonpointer import JsonPointerException

from ._fhir_search import matcher, searchset
from ._fhir_store import READ_ONLY_TYPES, SERVER_OWNED, STORED_TYPES, Refusal, store_for
from ._responses import issue, json_response, outcome
from ._state import STATE
from ._validation import validate_patch

__all__ = ["FHIR_BASE", "add_routes"]

FHIR_BASE = "/fhir-r4/v1"
_JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
_PATCH_TYPES = frozenset({"application/json-patch+json", "application/json"})
_TYPE_PATTERN = "[A-Z][A-Za-z]{1,63}"
_ID_PATTERN = "[A-Za-z0-9.-]{1,64}"


async def _body(request: web.Request, allowed: frozenset[str]) -> Any:
    if request.content_type not in allowed:
        raise Refusal(
            [issue("not-supported", f"Unsupported Content-Type: {request.content_type}")], 415
        )
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise Refusal([issue("structure", "The request body is not valid JSON")]) from None


def _kind(request: web.Request, *, writing: bool = False) -> str:
    kind = request.match_info["type"]
    if kind == "Patient":
        raise Refusal(
            [issue("not-supported", f"{request.method} is not supported for Patient")], 405
        )
    if kind not in STORED_TYPES:
        raise Refusal([issue("not-supported", f"Unknown resource type: {kind}")], 404)
    if writing and kind in READ_ONLY_TYPES:
        raise Refusal(
            [issue("forbidden", f"{kind} is read-only: search and read it (RuleNumber: 20004)")],
            403,
        )
    return kind


def _answer(handler: Any) -> Any:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except Refusal as refused:
            return outcome(refused.issues, refused.status)
        return response

    return run


def _location(request: web.Request, resource: dict[str, Any]) -> dict[str, str]:
    kind, rid, version = resource["resourceType"], resource["id"], resource["meta"]["versionId"]
    return {"Location": f"{request.url.origin()}{FHIR_BASE}/{kind}/{rid}/_history/{version}"}


@_answer
async def create(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    kind = _kind(request, writing=True)
    stored = store_for(state).create(await _body(request, _JSON_TYPES), expected_type=kind)
    slow = state.faults.slow_create_s
    if slow > 0:
        # Stored already: a client that gives up now has created the resource anyway.
        state.counters.faults["slow_create"] += 1
        await asyncio.sleep(slow)
    return json_response(stored, 201, _location(request, stored))


@_answer
async def read(request: web.Request) -> web.StreamResponse:
    kind, rid = _kind(request), request.match_info["id"]
    found = store_for(request.app[STATE]).get(kind, rid)
    if found is None:
        raise Refusal([issue("not-found", f"Resource {kind}/{rid} is not known")], 404)
    return json_response(found)


@_answer
async def update(request: web.Request) -> web.StreamResponse:
    kind, rid = _kind(request, writing=True), request.match_info["id"]
    body = await _body(request, _JSON_TYPES)
    if isinstance(body, dict):
        if "id" not in body:
            raise Refusal([issue("required", "id is required", f"{kind}.id")])
        if body["id"] != rid:
            raise Refusal(
                [issue("value", f"id in the body ('{body['id']}') is not the URL's ('{rid}')")]
            )
    stored = store_for(request.app[STATE]).replace(kind, rid, body)
    return json_response(stored, 200, _location(request, stored))


def _operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not body or not all(isinstance(o, dict) for o in body):
        raise Refusal([issue("structure", "The body must be a non-empty JSON Patch array")])
    for operation in body:
        path = operation.get("path")
        if isinstance(path, str) and path.split("/")[1:2] and path.split("/")[1] in SERVER_OWNED:
            raise Refusal([issue("value", f"Element cannot be patched: {path}")])
    return cast(list[dict[str, Any]], body)


@_answer
async def patch(request: web.Request) -> web.StreamResponse:
    kind, rid = _kind(request, writing=True), request.match_info["id"]
    store = store_for(request.app[STATE])
    current = store.get(kind, rid)
    if current is None:
        raise Refusal([issue("not-found", f"Resource {kind}/{rid} is not known")], 404)
    operations = _operations(await _body(request, _PATCH_TYPES))
    found = validate_patch(kind, operations)
    if found:
        raise Refusal(found)
    try:
        patched = jsonpatch.apply_patch(current, cast(Any, operations))
    except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
        raise Refusal([issue("value", f"Invalid patch: {exc}")]) from None
    return json_response(store.replace(kind, rid, patched))


@_answer
async def search(request: web.Request) -> web.StreamResponse:
    kind = _kind(request)
    query = list(request.rel_url.query.items())
    wanted = matcher(kind, query)
    matches = [r for r in store_for(request.app[STATE]).of_type(kind) if wanted(r)]
    path = f"{FHIR_BASE}/{kind}"
    return json_response(searchset(str(request.url.origin()), path, query, matches))


def add_routes(router: web.UrlDispatcher) -> None:
    """Register after the Patient routes: theirs must match first."""
    collection = f"{FHIR_BASE}/{{type:{_TYPE_PATTERN}}}"
    item = f"{collection}/{{id:{_ID_PATTERN}}}"
    router.add_post(collection, create, name="fhir_create")
    router.add_get(collection, search, allow_head=False)
    router.add_get(item, read, allow_head=False)
    router.add_put(item, update)
    router.add_patch(item, patch)
