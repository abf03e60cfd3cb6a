"""A stored transaction's answer and its results, decoded by pure functions.

The platform answers a stored transaction with a ``Bundle`` of ``type:
transaction-response`` whose ``entry[i].response`` belongs to the i-th entry sent
(``status`` ``"201 Created"``, ``location`` ``Encounter/{id}/_history/1``, ``etag``).
:class:`BundleResult` holds one :class:`BundleEntryResult` per entry. Refusals are
decoded in :mod:`sehatmu_async._bundle_refusal` into the same entry results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import orjson

from ._decoders import ResponseContext, shape_error
from ._outcome import OperationOutcome, OutcomeIssue, parse_operation_outcome
from .errors import (
    ConfigurationError,
)

__all__ = [
    "BundleEntryResult",
    "BundleResult",
    "SentEntry",
    "decode_transaction_response",
    "parse_etag",
    "parse_location",
    "parse_status",
]

#: What the decoders need of each entry sent: its fullUrl and resource type.
SentEntry = tuple[str | None, str]

#: "Due to previous error": refused later entries (20012) and rolled-back earlier ones
#: (20013), in this SDK's reading of api.md section 6.
PREVIOUS_ERROR_RULES = frozenset({20012, 20013})
_PREVIOUS_ERROR_TEXT = "due to previous error"

_STATUS = re.compile(r"\s*([1-5][0-9]{2})\b")
_LOCATION = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?/?$"
)
_ETAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*')


@attrs.frozen(slots=True)
class BundleEntryResult:
    """What happened to one entry of a transaction (``index`` is its place in the bundle)."""

    index: int
    full_url: str | None
    resource_type: str | None
    #: The HTTP status of the entry (``201`` for "201 Created"); None if none was given.
    status: int | None
    id: str | None = None
    location: str | None = None
    etag: str | None = None
    outcome: OperationOutcome | None = None
    #: The stored resource, when the platform returned it (it holds patient data).
    resource: dict[str, Any] | None = attrs.field(default=None, repr=False)
    version: str | None = None
    #: True in a refused transaction: whatever its status says, the entry was not stored.
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        """True when the entry was stored: a 2xx status and no failing outcome."""
        if self.rolled_back or self.status is None or not 200 <= self.status < 300:
            return False
        return self.outcome is None or not self.outcome.is_failure

    @property
    def due_to_previous_error(self) -> bool:
        """True when the entry was refused only because an earlier entry failed."""
        failing = [issue for issue in self.issues if issue.is_failure]
        return bool(failing) and all(_is_previous_error(issue) for issue in failing)

    @property
    def reference(self) -> str | None:
        """``"{resource_type}/{id}"`` for use in later payloads, once stored."""
        if self.id is None or self.resource_type is None:
            return None
        return f"{self.resource_type}/{self.id}"

    @property
    def issues(self) -> tuple[OutcomeIssue, ...]:
        return self.outcome.issues if self.outcome is not None else ()

    def describe(self) -> str:
        """One line: ``entry 2 (Condition): 201 Created, id abc``, or why it failed."""
        head = f"entry {self.index} ({self.resource_type or 'unknown type'})"
        if self.ok:
            return f"{head}: {self.status}, id {self.id}"
        failing = [i for i in self.issues if i.is_failure] or list(self.issues)
        if failing:
            return f"{head}: {issue_line(failing[0])}"
        if self.rolled_back:
            return f"{head}: not stored (the transaction was refused)"
        return f"{head}: {self.status if self.status is not None else 'not stored'}"


@attrs.frozen(slots=True)
class BundleResult:
    """A transaction's answer: one :class:`BundleEntryResult` per entry, in bundle order."""

    entries: tuple[BundleEntryResult, ...]
    #: The ``transaction-response`` Bundle as received.
    raw: dict[str, Any] = attrs.field(repr=False, factory=dict)

    @property
    def ok(self) -> bool:
        """True when every entry was stored."""
        return all(entry.ok for entry in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[BundleEntryResult]:
        return iter(self.entries)

    def __getitem__(self, index: int) -> BundleEntryResult:
        return self.entries[index]

    def entry_for(self, ref: str) -> BundleEntryResult:
        """The result of the entry whose fullUrl is ``ref`` (what ``bundle.add`` returned)."""
        for entry in self.entries:
            if entry.full_url == ref:
                return entry
        raise ConfigurationError(
            f"{str(ref)[:60]!r} is not the fullUrl of an entry of this transaction; pass the "
            "reference that bundle.add() returned"
        )

    def id_for(self, ref: str) -> str | None:
        """The server id the entry ``ref`` was stored under (None if it was not stored)."""
        return self.entry_for(ref).id

    def reference_for(self, ref: str) -> str | None:
        """``"Type/id"`` of the stored entry ``ref``, for later payloads."""
        return self.entry_for(ref).reference

    def resource_for(self, ref: str) -> dict[str, Any] | None:
        """The stored resource of entry ``ref``, if the platform returned it."""
        return self.entry_for(ref).resource


def _is_previous_error(issue: OutcomeIssue) -> bool:
    if issue.rule_number in PREVIOUS_ERROR_RULES:
        return True
    texts = (issue.text or "", issue.diagnostics or "")
    return any(_PREVIOUS_ERROR_TEXT in text.lower() for text in texts)


def issue_line(issue: OutcomeIssue) -> str:
    line = issue.describe()
    if issue.rule_number is not None and "rulenumber" not in line.lower():
        line += f" (rule {issue.rule_number})"
    return " ".join(line.split())


# -- small parsers ---------------------------------------------------------------------------


def parse_status(value: object) -> int | None:
    """``201`` from ``"201 Created"`` (or ``"201"``, or ``201``); None if there is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 100 <= value <= 599 else None
    if isinstance(value, str) and (match := _STATUS.match(value)):
        return int(match.group(1))
    return None


def parse_location(value: object) -> tuple[str, str, str | None] | None:
    """``(type, id, version)`` from ``Encounter/1/_history/2`` (relative or absolute)."""
    if not isinstance(value, str):
        return None
    match = _LOCATION.search(value.split("?", 1)[0])
    if match is None:
        return None
    return match.group("type"), match.group("id"), match.group("version")


def parse_etag(value: object) -> str | None:
    """The version in an ETag: ``W/"1"`` gives ``"1"``."""
    if not isinstance(value, str):
        return None
    match = _ETAG.fullmatch(value)
    return match.group(1) if match else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- the success answer ----------------------------------------------------------------------


def _raw(body: bytes | None, obj: object) -> bytes:
    if body is not None:
        return body
    try:
        return orjson.dumps(obj)
    except TypeError:
        return b""


def entry_result(
    index: int, sent: SentEntry, raw_entry: Mapping[str, Any]
) -> tuple[BundleEntryResult, str | None]:
    """One entry's result and, if its answer contradicts what was sent, what is wrong."""
    full_url, resource_type = sent
    response = raw_entry.get("response")
    response = response if isinstance(response, Mapping) else {}
    status = parse_status(response.get("status"))
    location = _opt_str(response.get("location"))
    etag = _opt_str(response.get("etag"))
    outcome = parse_operation_outcome(response.get("outcome"))
    resource = raw_entry.get("resource")
    resource = dict(resource) if isinstance(resource, Mapping) else None
    if resource is not None and resource.get("resourceType") == "OperationOutcome":
        outcome = outcome or parse_operation_outcome(resource)
        resource = None
    entry_id: str | None = None
    version: str | None = parse_etag(etag)
    problem: str | None = None
    parsed = parse_location(location)
    if parsed is not None:
        kind, entry_id, location_version = parsed
        version = location_version or version
        if kind != resource_type:
            problem = f"entry {index} was sent as a {resource_type} but its location is a {kind}"
    if resource is not None:
        resource_id = _opt_str(resource.get("id"))
        returned = resource.get("resourceType")
        if returned is not None and returned != resource_type:
            problem = f"entry {index} was sent as a {resource_type} but came back a {returned}"
        if entry_id is None:
            entry_id = resource_id
        elif resource_id is not None and resource_id != entry_id:
            problem = f"entry {index}: location id {entry_id} but resource id {resource_id}"
    result = BundleEntryResult(
        index=index,
        full_url=full_url,
        resource_type=resource_type,
        status=status,
        id=entry_id,
        location=location,
        etag=etag,
        outcome=outcome,
        resource=resource,
        version=version,
    )
    if problem is None and status is None:
        problem = f"entry {index} has no response.status"
    elif problem is None and result.ok and entry_id is None:
        problem = f"entry {index} was stored but its answer gives no id (no location, no resource)"
    return result, problem


def response_entries(obj: object) -> list[Any] | None:
    if not isinstance(obj, Mapping) or obj.get("resourceType") != "Bundle":
        return None
    if obj.get("type") != "transaction-response":
        return None
    entries = obj.get("entry", [])
    return entries if isinstance(entries, list) else None


def decode_transaction_response(
    ctx: ResponseContext, obj: object, sent: Sequence[SentEntry], *, body: bytes | None = None
) -> BundleResult:
    """The :class:`BundleResult` of a 2xx answer, or :class:`APIError` for any other shape.

    Every entry sent must have its answer, in order, naming the same type: ids wired to
    the wrong entry would be worse than no answer.
    """
    raw = _raw(body, obj)
    entries = response_entries(obj)
    if entries is None:
        kind = obj.get("resourceType") if isinstance(obj, Mapping) else None
        what = (
            f"a Bundle of type {obj.get('type')!r}"
            if kind == "Bundle" and isinstance(obj, Mapping)
            else (f"a {kind}" if isinstance(kind, str) else "no FHIR resource")
        )
        raise shape_error(ctx, raw, f"expected a transaction-response Bundle, got {what}")
    if len(entries) != len(sent):
        raise shape_error(ctx, raw, f"{len(sent)} entries sent but {len(entries)} answered")
    results: list[BundleEntryResult] = []
    for index, (raw_entry, sent_entry) in enumerate(zip(entries, sent, strict=True)):
        if not isinstance(raw_entry, Mapping):
            raise shape_error(ctx, raw, f"Bundle.entry[{index}] is not an object")
        result, problem = entry_result(index, sent_entry, raw_entry)
        if problem is not None:
            raise shape_error(ctx, raw, problem)
        results.append(result)
    assert isinstance(obj, Mapping)
    return BundleResult(entries=tuple(results), raw=dict(obj))
