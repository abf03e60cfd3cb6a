"""In-memory Master Patient Index of one sandbox: patients, NIK index, seen payloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import attrs
import orjson

from ._validation import nik_key

# Live ids look like P02029102687: "P" and 11 digits, handed out in sequence.
_FIRST_ID = 2_029_100_001


def canonical_digest(resource: Any) -> bytes:
    """Equal for equal JSON, whatever the key order: the platform's "same payload"."""
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).digest()


def _stamp(resource: dict[str, Any], version: int) -> dict[str, Any]:
    """The resource's own ``meta`` (if an object) with the server's version and time."""
    meta = resource.get("meta")
    return {
        **(meta if isinstance(meta, dict) else {}),
        "versionId": str(version),
        "lastUpdated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


@attrs.define(eq=False)
class PatientStore:
    _by_id: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    _by_nik: dict[tuple[str, str], str] = attrs.field(factory=dict)
    _payloads: set[bytes] = attrs.field(factory=set)
    _ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(_FIRST_ID))

    def __len__(self) -> int:
        return len(self._by_id)

    def seen_payload(self, digest: bytes) -> bool:
        return digest in self._payloads

    def id_for_nik(self, key: tuple[str, str]) -> str | None:
        return self._by_nik.get(key)

    def get(self, patient_id: str) -> dict[str, Any] | None:
        return self._by_id.get(patient_id)

    def create(self, resource: dict[str, Any], digest: bytes) -> dict[str, Any]:
        patient_id = f"P{next(self._ids):011d}"
        # A client-sent id is ignored on create, as FHIR servers do.
        body = {key: value for key, value in resource.items() if key != "id"}
        stored = {"resourceType": "Patient", "id": patient_id, **body}
        stored["meta"] = _stamp(resource, 1)
        self._by_id[patient_id] = stored
        self._by_nik[nik_key(stored)] = patient_id
        self._payloads.add(digest)
        return stored

    def replace(self, patient_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        """Store a patched version: same id, next versionId, NIK index kept in step."""
        old = self._by_id[patient_id]
        stored = {**resource, "id": patient_id}
        stored["meta"] = _stamp(resource, int(old["meta"]["versionId"]) + 1)
        del self._by_nik[nik_key(old)]
        self._by_nik[nik_key(stored)] = patient_id
        self._by_id[patient_id] = stored
        return stored

    def search(self, system: str, value: str) -> list[dict[str, Any]]:
        """Patients holding that identifier, oldest first (a linear scan is plenty here)."""
        return [
            patient
            for patient in self._by_id.values()
            if any(
                isinstance(i, dict) and i.get("system") == system and i.get("value") == value
                for i in patient.get("identifier", ())
            )
        ]
