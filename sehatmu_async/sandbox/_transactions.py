"""``POST /fhir-r4/v1``: transaction bundles, all or nothing, on the sandbox's FHIR store.

An independent reading of api.md section 6 (nothing here comes from the SDK):

* the body is a ``Bundle`` of ``type: transaction``; each entry has ``fullUrl``
  ``urn:uuid:{uuid4}`` (20021 present, 20017 a urn:uuid, 20018 a UUID, 20019 version 4,
  20020 unique), a ``resource`` that is no Bundle (20011) and ``request`` POST to its type;
* entries refer to each other by those fullUrls; a ``urn:uuid:`` naming no entry, or a
  ``Type/id`` naming nothing stored, is 10124; every entry passes the rules of a single
  create (004, duplicates 20002, also between entries of the same bundle);
* the entries are checked in order; the first that fails refuses the transaction: no
  entry is stored. The answer is **one 4xx OperationOutcome** (the sandbox's choice of
  the two shapes api.md allows: it is what FHIR R4 prescribes for a failed transaction
  and the shape every other refusal of the platform has): the failing entry's issues
  with ``expression`` ``Bundle.entry[i]…``, then one "due to previous error" issue per
  other entry — 20013 "rolled back" for those before it, 20012 "not processed" for those
  after — each naming its entry by ``expression`` and its fullUrl in ``diagnostics``;
* success stores every entry at once (no ``await`` between checking and storing, so
  concurrent transactions cannot interleave), rewrites the ``urn:uuid:`` references to
  ``Type/{new id}``, and answers ``200`` with a ``transaction-response`` Bundle:
  ``201 Created``, ``location`` ``Type/{id}/_history/1``, ``etag`` ``W/"1"`` and the
  stored resource (left out with ``Prefer: return=minimal``).

The fault knobs apply as on every route (middleware); ``slow_create_s`` holds the answer
back after the bundle was stored, like a slow single create.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from ._fhir_store import (
    READ_ONLY_TYPES,
    STORED_TYPES,
    FhirStore,
    identifier_keys,
    rewrite_references,
    store_for,
)
from ._responses import issue, json_response, outcome
from ._state import STATE

__all__ = ["TRANSACTION_PATH", "TRANSACTION_ROUTE", "add_routes", "process_transaction"]

TRANSACTION_PATH = "/fhir-r4/v1"
TRANSACTION_ROUTE = "fhir_transaction"
_JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
_URN = "urn:uuid:"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


class _Refused(Exception):
    """The whole request is refused before any entry is looked at."""

    def __init__(self, status: int, *issues: dict[str, Any]) -> None:
        super().__init__(issues)
        self.status = status
        self.issues = list(issues)


def _with_rule(code: str, text: str, rule: int, expression: str) -> dict[str, Any]:
    return issue(code, f"{text} (RuleNumber: {rule})", expression)


def _full_url_problem(
    index: int, full_url: object, first_of: dict[str, int]
) -> dict[str, Any] | None:
    where = f"Bundle.entry[{index}].fullUrl"
    if full_url is None or full_url == "":
        return _with_rule("required", f"Element not found: {where}", 20021, where)
    if not isinstance(full_url, str) or not full_url.startswith(_URN):
        return _with_rule("value", f"fullUrl must be urn:uuid: {str(full_url)[:80]}", 20017, where)
    tail = full_url[len(_URN) :]
    if not _UUID.fullmatch(tail):
        return _with_rule("value", f"fullUrl is not a valid UUID: {full_url[:80]}", 20018, where)
    if tail[14] != "4" or tail[19] not in "89ab":
        return _with_rule("value", f"fullUrl is not a version 4 UUID: {full_url}", 20019, where)
    if first_of.get(full_url, index) != index:
        return _with_rule(
            "value",
            f"fullUrl {full_url} is not unique in the Bundle (also entry {first_of[full_url]})",
            20020,
            where,
        )
    return None


def _bundles_in(value: object, path: str) -> Iterator[str]:
    """Paths of every Bundle nested in an entry's resource (the resource itself included)."""
    if isinstance(value, dict):
        if value.get("resourceType") == "Bundle":
            yield path
            return
        for key, child in value.items():
            yield from _bundles_in(child, f"{path}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _bundles_in(item, f"{path}[{position}]")


def _reroot(found: dict[str, Any], kind: str, root: str) -> dict[str, Any]:
    """An issue of a single create (``Encounter.class``) placed in the bundle."""
    expressions = found.get("expression")
    if not isinstance(expressions, list):
        return {**found, "expression": [root]}
    moved = []
    for expression in expressions:
        if isinstance(expression, str) and (
            expression == kind or expression.startswith((f"{kind}.", f"{kind}["))
        ):
            moved.append(root + expression[len(kind) :])
        else:
            moved.append(expression)
    return {**found, "expression": moved}


def _entry_problems(
    store: FhirStore,
    index: int,
    entry: object,
    first_of: dict[str, int],
    known: frozenset[str],
    claimed: set[tuple[str, str, str]],
) -> list[dict[str, Any]]:
    """Every reason entry ``index`` is refused; empty if it can be stored."""
    where = f"Bundle.entry[{index}]"
    if not isinstance(entry, dict):
        return [issue("structure", f"{where} is not an object", where)]
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        return [_with_rule("required", f"Element not found: {where}.resource", 10263, where)]
    problems: list[dict[str, Any]] = []
    url_problem = _full_url_problem(index, entry.get("fullUrl"), first_of)
    if url_problem is not None:
        problems.append(url_problem)
    nested = list(_bundles_in(resource, f"{where}.resource"))
    problems.extend(
        _with_rule("value", "Nested Bundle is not allowed in a transaction", 20011, path)
        for path in nested
    )
    kind = resource.get("resourceType")
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    if not nested and (method != "POST" or url != kind):
        problems.append(
            issue(
                "not-supported",
                f"{where}.request must be POST to {kind}, got {method} {str(url)[:80]}",
                f"{where}.request",
            )
        )
    if nested or problems:
        return problems
    root = f"{where}.resource"
    if kind == "Patient":
        return [
            issue(
                "not-supported",
                "Patient cannot be created in a transaction: POST it to /fhir-r4/v1/Patient",
                root,
            )
        ]
    if isinstance(kind, str) and kind in READ_ONLY_TYPES:
        return [_with_rule("forbidden", f"{kind} is read-only", 20004, root)]
    if isinstance(kind, str) and _TYPE.fullmatch(kind) and kind not in STORED_TYPES:
        return [issue("not-supported", f"Unknown resource type: {kind}", root)]
    found = store.problems(resource, known=known)
    if not found and isinstance(kind, str):
        keys = {(kind, system, value) for system, value in identifier_keys(resource)}
        if keys & claimed:
            found = [issue("duplicate", f"Found duplicate resource: {kind} (RuleNumber: 20002)")]
        claimed |= keys
    label = kind if isinstance(kind, str) else ""
    return [_reroot(f, label, root) for f in found]


def _previous_error(index: int, full_url: object, *, before: bool) -> dict[str, Any]:
    rule, what = (20013, "rolled back") if before else (20012, "not processed")
    found = _with_rule(
        "processing", f"Entry {what} due to previous error", rule, f"Bundle.entry[{index}]"
    )
    if isinstance(full_url, str):
        found["diagnostics"] = f"fullUrl {full_url[:100]}"
    return found


def _full_url(entry: object) -> object:
    return entry.get("fullUrl") if isinstance(entry, dict) else None


def process_transaction(
    store: FhirStore, bundle: object
) -> tuple[list[dict[str, Any]], None] | tuple[None, list[dict[str, Any]]]:
    """(stored resources, None), or (None, the refusal's issues). Synchronous: atomic."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _Refused(400, issue("structure", "The body must be a Bundle", "Bundle"))
    if bundle.get("type") != "transaction":
        raise _Refused(
            400,
            issue(
                "value", f"Bundle.type must be transaction, got {bundle.get('type')}", "Bundle.type"
            ),
        )
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise _Refused(
            400, issue("required", "A transaction needs at least one entry", "Bundle.entry")
        )
    first_of: dict[str, int] = {}
    for index, entry in enumerate(entries):
        url = _full_url(entry)
        if isinstance(url, str):
            first_of.setdefault(url, index)
    # Only urn:uuid fullUrls name entries; anything else is refused as a fullUrl anyway.
    known = frozenset(url for url in first_of if url.startswith(_URN))
    claimed: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        problems = _entry_problems(store, index, entry, first_of, known, claimed)
        if problems:
            others = [
                _previous_error(other, _full_url(entries[other]), before=other < index)
                for other in range(len(entries))
                if other != index
            ]
            return None, [*problems, *others]
    resources: list[dict[str, Any]] = [entry["resource"] for entry in entries]
    ids = [store.allocate_id(resource["resourceType"]) for resource in resources]
    mapping = {
        entry["fullUrl"]: f"{resource['resourceType']}/{rid}"
        for entry, resource, rid in zip(entries, resources, ids, strict=True)
    }
    stored = []
    for resource, rid in zip(resources, ids, strict=True):
        body = {k: v for k, v in rewrite_references(resource, mapping).items() if k != "id"}
        stored.append(store.insert({"resourceType": resource["resourceType"], "id": rid, **body}))
    return stored, None


def _response_entry(resource: dict[str, Any], base: str, *, minimal: bool) -> dict[str, Any]:
    version = resource["meta"]["versionId"]
    entry: dict[str, Any] = {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "response": {
            "status": "201 Created",
            "location": f"{resource['resourceType']}/{resource['id']}/_history/{version}",
            "etag": f'W/"{version}"',
            "lastModified": resource["meta"]["lastUpdated"],
        },
    }
    if not minimal:
        entry["resource"] = resource
    return entry


async def transaction(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        if request.content_type not in _JSON_TYPES:
            raise _Refused(
                415, issue("not-supported", f"Unsupported Content-Type: {request.content_type}")
            )
        try:
            bundle = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise _Refused(400, issue("structure", "The request body is not valid JSON")) from None
        stored, refusal = process_transaction(store_for(state), bundle)
    except _Refused as refused:
        return outcome(refused.issues, refused.status)
    if refusal is not None:
        return outcome(refusal, 400)
    assert stored is not None
    slow = state.faults.slow_create_s
    if slow > 0:
        # Stored already: a client that gives up now has sent the visit anyway.
        state.counters.faults["slow_create"] += 1
        await asyncio.sleep(slow)
    minimal = "return=minimal" in request.headers.get("Prefer", "")
    base = f"{request.url.origin()}{TRANSACTION_PATH}"
    answer = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "transaction-response",
        "entry": [_response_entry(resource, base, minimal=minimal) for resource in stored],
    }
    return json_response(answer, 200)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(TRANSACTION_PATH, transaction, name=TRANSACTION_ROUTE)
