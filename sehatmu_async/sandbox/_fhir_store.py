"""In-memory store of one sandbox's FHIR resources (every type but Patient).

Patients live in the Master Patient Index (:class:`PatientStore`); this store reads it
to resolve ``Patient/{id}`` references. Everything a route or the transaction route
needs goes through a small API:

* :meth:`FhirStore.problems` — every reason ``resource`` would be refused (the 004
  rules, dangling references, duplicate identifiers), nothing changed;
* :meth:`FhirStore.create` / :meth:`FhirStore.replace` — one resource, checked;
* :meth:`FhirStore.create_many` — validate every resource, then commit all or none,
  rewriting ``urn:uuid:`` references between them to the ids they were given
  (:func:`rewrite_references` is the hook, usable alone);
* :meth:`FhirStore.get`, :meth:`FhirStore.search`, :meth:`FhirStore.exists`.

Reach it from a handler with ``store_for(request.app[STATE])``.
"""

from __future__ import annotations

import datetime as dt
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._patients import PatientStore, canonical_digest
from ._responses import issue
from ._state import SandboxState
from ._validation import validate_resource

__all__ = [
    "PRACTITIONERS",
    "STORED_TYPES",
    "BatchRefused",
    "FhirStore",
    "Refusal",
    "references_in",
    "rewrite_references",
    "store_for",
]

#: Types the sandbox stores (api.md section 6, plus the seed's Claim). Patient has its own.
STORED_TYPES = frozenset(
    {
        "Organization", "Location", "Practitioner", "Encounter", "Condition", "Observation",
        "Procedure", "Composition", "MedicationRequest", "Medication", "MedicationDispense",
        "AllergyIntolerance", "ServiceRequest", "Specimen", "DiagnosticReport",
        "ImagingStudy", "ClinicalImpression", "CarePlan", "QuestionnaireResponse",
        "EpisodeOfCare", "Claim",
    }
)  # fmt: skip
#: Read and search only on the platform: the sandbox holds a few, made at start.
READ_ONLY_TYPES = frozenset({"Practitioner"})
#: The sandbox's practitioners: (id, NIK, name).
PRACTITIONERS = (
    ("N10000001", "3171010101800001", "dr. Alexander Siregar"),
    ("N10000002", "3171010101850002", "dr. Yohana Wibowo, Sp.A"),
    ("N10000003", "3171010101900003", "Ns. Rina Kartika"),
)
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
# Read-only elements: patching them would detach a resource from its identity.
SERVER_OWNED = ("id", "resourceType", "meta")


class Refusal(Exception):
    """A resource refused: OperationOutcome ``issues`` and the HTTP status to answer."""

    def __init__(self, issues: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__(issues)
        self.issues = issues
        self.status = status


class BatchRefused(Refusal):
    """:meth:`FhirStore.create_many` refused entry ``index``; nothing was stored."""

    def __init__(self, index: int, issues: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__(issues, status)
        self.index = index


def references_in(value: object, path: str) -> Iterator[tuple[str, str]]:
    """(FHIR path of the Reference, its ``reference``) for every reference in ``value``."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref:
            yield path, ref
        for key, child in value.items():
            yield from references_in(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references_in(item, f"{path}[{index}]")


def rewrite_references(value: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of ``value`` whose ``reference`` strings found in ``mapping`` are replaced."""
    if isinstance(value, dict):
        out = {k: rewrite_references(v, mapping) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in mapping:
            out["reference"] = mapping[ref]
        return out
    if isinstance(value, list):
        return [rewrite_references(item, mapping) for item in value]
    return value


def identifier_keys(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (system, value) pairs a resource is unique by."""
    found = []
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    for ident in identifiers if isinstance(identifiers, list) else ():
        if isinstance(ident, dict):
            system, value = ident.get("system"), ident.get("value")
            if isinstance(system, str) and isinstance(value, str) and system and value:
                found.append((system, value))
    return found


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _duplicate(kind: str) -> dict[str, Any]:
    return issue("duplicate", f"Found duplicate resource: {kind} (RuleNumber: 20002)")


@attrs.define(eq=False)
class FhirStore:
    patients: PatientStore
    _by_key: dict[tuple[str, str], dict[str, Any]] = attrs.field(factory=dict)
    # (type, system, value) -> id: what duplicate detection and identifier search use.
    _owners: dict[tuple[str, str, str], str] = attrs.field(factory=dict)
    _payloads: set[bytes] = attrs.field(factory=set)
    #: Creates that reached the store, by type (tests: "exactly one POST was stored").
    creates: Counter[str] = attrs.field(factory=Counter)
    new_id: Callable[[str], str] = attrs.field(default=lambda kind: str(uuid.uuid4()))

    def __attrs_post_init__(self) -> None:
        for pid, nik, name in PRACTITIONERS:
            self._commit(
                {
                    "resourceType": "Practitioner",
                    "id": pid,
                    "identifier": [{"use": "official", "system": NIK_SYSTEM, "value": nik}],
                    "name": [{"use": "official", "text": name}],
                    "active": True,
                },
                version=1,
            )

    def __len__(self) -> int:
        return len(self._by_key)

    # -- reading ---------------------------------------------------------------------

    def get(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        if kind == "Patient":
            return self.patients.get(resource_id)
        return self._by_key.get((kind, resource_id))

    def exists(self, reference: str) -> bool:
        """Whether a literal ``Type/id`` (``/_history/n`` allowed) names a stored resource."""
        parts = reference.split("/")
        return len(parts) in (2, 4) and self.get(parts[0], parts[1]) is not None

    def of_type(self, kind: str) -> Iterable[dict[str, Any]]:
        return (r for (k, _), r in self._by_key.items() if k == kind)

    def owner(self, kind: str, system: str, value: str) -> str | None:
        return self._owners.get((kind, system, value))

    # -- checking --------------------------------------------------------------------

    def problems(
        self,
        resource: object,
        *,
        expected_type: str | None = None,
        known: Mapping[str, str] | frozenset[str] = frozenset(),
        replacing: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every reason to refuse ``resource``; ``known`` are references that will exist
        (a transaction's ``urn:uuid:`` fullUrls); ``replacing`` is the id being updated."""
        found = validate_resource(resource, expected_type)
        if found or not isinstance(resource, dict):
            return found
        kind = resource["resourceType"]
        for path, ref in references_in(resource, kind):
            if ref.startswith("#") or ref in known:
                continue
            if not self.exists(ref):
                found.append(
                    issue("value", f"Reference is mandatory : {path} (RuleNumber: 10124)", path)
                )
        for system, value in identifier_keys(resource):
            owner = self._owners.get((kind, system, value))
            if owner is not None and owner != replacing:
                found.append(_duplicate(kind))
                break
        else:
            if replacing is None and canonical_digest(resource) in self._payloads:
                found.append(_duplicate(kind))
        return found

    def issues_for_create(
        self, resource: object, pending: Iterable[tuple[str, str]] = ()
    ) -> list[dict[str, Any]]:
        """:meth:`problems` of a create, counting ``pending`` (type, id) pairs as stored."""
        return self.problems(resource, known=frozenset(f"{t}/{i}" for t, i in pending))

    # -- writing ---------------------------------------------------------------------

    def allocate_id(self, kind: str) -> str:
        """A fresh server id for a resource of ``kind`` (not stored until :meth:`insert`)."""
        return self.new_id(kind)

    def insert(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Store a resource already checked and given its ``id`` (version 1), unchecked."""
        self._payloads.add(canonical_digest({k: v for k, v in resource.items() if k != "id"}))
        self.creates[resource["resourceType"]] += 1
        return self._commit(resource, version=1)

    def _commit(self, resource: dict[str, Any], *, version: int) -> dict[str, Any]:
        kind, rid = resource["resourceType"], resource["id"]
        meta = resource.get("meta")
        stored = {
            **resource,
            "meta": {
                **(meta if isinstance(meta, dict) else {}),
                "versionId": str(version),
                "lastUpdated": _now(),
            },
        }
        old = self._by_key.get((kind, rid))
        if old is not None:
            for system, value in identifier_keys(old):
                self._owners.pop((kind, system, value), None)
        self._by_key[(kind, rid)] = stored
        for system, value in identifier_keys(stored):
            self._owners[(kind, system, value)] = rid
        return stored

    def _fresh(self, resource: dict[str, Any], rid: str) -> dict[str, Any]:
        # A client-sent id is ignored on create, as FHIR servers do.
        body = {k: v for k, v in resource.items() if k != "id"}
        return {"resourceType": resource["resourceType"], "id": rid, **body}

    def create(self, resource: object, *, expected_type: str | None = None) -> dict[str, Any]:
        """Check and store one new resource; raise :class:`Refusal` if it is refused."""
        found = self.problems(resource, expected_type=expected_type)
        if found:
            raise Refusal(found)
        assert isinstance(resource, dict)
        kind = resource["resourceType"]
        self._payloads.add(canonical_digest(resource))
        self.creates[kind] += 1
        return self._commit(self._fresh(resource, self.new_id(kind)), version=1)

    def replace(self, kind: str, rid: str, resource: object) -> dict[str, Any]:
        """Check and store a new version of ``kind/rid`` (PUT or a patched resource)."""
        old = self._by_key.get((kind, rid))
        if old is None:
            raise Refusal([issue("not-found", f"Resource {kind}/{rid} is not known")], 404)
        found = self.problems(resource, expected_type=kind, replacing=rid)
        if found:
            raise Refusal(found)
        assert isinstance(resource, dict)
        version = int(old["meta"]["versionId"]) + 1
        return self._commit({**resource, "id": rid}, version=version)

    def create_many(
        self, resources: Sequence[object], full_urls: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """Store every resource or none (a transaction).

        ``full_urls[i]`` (``urn:uuid:…``) names resource ``i`` for the others; those
        references are rewritten to ``Type/{new id}``. The first refused resource raises
        :class:`BatchRefused` with its index; then nothing is stored.
        """
        urls = list(full_urls) if full_urls is not None else [None] * len(resources)
        if len(urls) != len(resources):
            raise ValueError("full_urls must match resources one for one")
        known = frozenset(u for u in urls if u)
        seen: set[tuple[str, str, str]] = set()
        for index, resource in enumerate(resources):
            found = self.problems(resource, known=known)
            if not found and isinstance(resource, dict):
                keys = {(resource["resourceType"], s, v) for s, v in identifier_keys(resource)}
                if keys & seen:
                    found = [_duplicate(resource["resourceType"])]
                seen |= keys
            if found:
                raise BatchRefused(index, found)
        ids = [self.new_id(r["resourceType"]) for r in resources if isinstance(r, dict)]
        mapping = {
            url: f"{r['resourceType']}/{rid}"
            for url, r, rid in zip(urls, resources, ids, strict=True)
            if url and isinstance(r, dict)
        }
        stored = []
        for resource, rid in zip(resources, ids, strict=True):
            assert isinstance(resource, dict)
            self._payloads.add(canonical_digest(resource))
            self.creates[resource["resourceType"]] += 1
            fresh = self._fresh(rewrite_references(resource, mapping), rid)
            stored.append(self._commit(fresh, version=1))
        return stored


_STORES: weakref.WeakKeyDictionary[SandboxState, FhirStore] = weakref.WeakKeyDictionary()


def store_for(state: SandboxState) -> FhirStore:
    """The FHIR store of the sandbox ``state`` belongs to (made on first use)."""
    store = _STORES.get(state)
    if store is None:
        store = _STORES[state] = FhirStore(state.patients)
    return store
