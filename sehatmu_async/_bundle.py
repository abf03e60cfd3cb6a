"""Transaction bundles: a visit's resources in one request, wired by ``urn:uuid:`` references.

:class:`TransactionBundle` builds the ``Bundle`` of ``type: transaction`` (api.md section
6): each entry gets a fresh ``fullUrl`` ``urn:uuid:{uuid4}``, the resource as it will be
sent, and ``request: {"method": "POST", "url": "{ResourceType}"}``. The ``fullUrl`` that
:meth:`TransactionBundle.add` returns is used as-is in other entries' ``reference``
fields; the platform rewrites those to the new ids.

A transaction is never sent twice (a resend stores the visit twice, or is refused as
duplicate), so everything the platform would refuse is looked for here first, by pure
functions: references that resolve to no entry (10124), a nested Bundle (20011), the
``fullUrl`` rules (20017-20021), and every entry's own pre-flight as a single create.
All problems come in one :class:`~sehatmu_async.errors.TransactionError` whose issues
name the entry (``Bundle.entry[2].resource.encounter.reference``) the way the
platform's own refusals do.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._fhir_wire import resource_wire
from ._outcome import OperationOutcome, OutcomeIssue
from ._validation import PREFLIGHT_URL, resource_issues
from .errors import ConfigurationError, TransactionError

__all__ = [
    "URN_UUID_PREFIX",
    "BundleEntry",
    "TransactionBundle",
    "UnreconcilableEntryWarning",
    "entry_identifiers",
]

URN_UUID_PREFIX = "urn:uuid:"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REQUEST_METHOD = "POST"
# Where the pre-flight of a single create says "Encounter.period.start", a bundle's
# issue says "Bundle.entry[2].resource.period.start".
_ENTRY_PREFIX = "Bundle.entry[{index}]"

#: Rule numbers of the bundle rules (api.md section 6; the texts are this SDK's).
RULE_REFERENCE = 10124
RULE_NESTED_BUNDLE = 20011
RULE_FULL_URL_SCHEME = 20017
RULE_FULL_URL_UUID = 20018
RULE_FULL_URL_UUID4 = 20019
RULE_FULL_URL_UNIQUE = 20020
RULE_FULL_URL_PRESENT = 20021


class UnreconcilableEntryWarning(UserWarning):
    """An entry has no identifier: after a lost answer nobody can tell whether it was stored."""


@attrs.frozen(slots=True)
class BundleEntry:
    """One entry as it will be sent; ``resource`` is the SDK's own copy (wire JSON)."""

    full_url: Any
    resource_type: str
    resource: dict[str, Any] = attrs.field(repr=False)
    method: Any = _REQUEST_METHOD
    url: Any = None

    def to_wire(self) -> dict[str, Any]:
        url = self.resource_type if self.url is None else self.url
        entry: dict[str, Any] = {}
        if self.full_url is not None:
            entry["fullUrl"] = self.full_url
        entry["resource"] = self.resource
        entry["request"] = {"method": self.method, "url": url}
        return entry


def _resource_wire(resource: object) -> tuple[str, dict[str, Any]]:
    """(type, JSON) of one entry: the same conversion as ``client.fhir.create``."""
    if isinstance(resource, TransactionBundle):
        raise ConfigurationError(
            "a TransactionBundle cannot be an entry of another bundle (rule 20011: no nested "
            "Bundle); add its resources one by one"
        )
    return resource_wire(resource)


def entry_identifiers(resource: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The ``(system, value)`` pairs an entry's stored resource can be found by."""
    found: list[tuple[str, str]] = []
    identifiers = resource.get("identifier")
    if isinstance(identifiers, Mapping):  # a few types have a single Identifier
        identifiers = [identifiers]
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if not isinstance(identifier, Mapping):
            continue
        system, value = identifier.get("system"), identifier.get("value")
        if isinstance(system, str) and system and isinstance(value, str) and value:
            found.append((system, value))
    return tuple(found)


class TransactionBundle:
    """A ``Bundle`` of ``type: transaction``, built entry by entry.

    ::

        bundle = TransactionBundle()
        enc = bundle.add({"resourceType": "Encounter", ...})
        bundle.add({"resourceType": "Condition", "encounter": {"reference": enc}, ...})
        result = await client.fhir.transaction(bundle)

    Entries keep the order they were added in. Each resource is copied into its wire
    form when added (dates and aware datetimes converted, naive ones refused), so
    later changes to the caller's dict do not change what is sent.
    """

    __slots__ = ("_entries",)

    def __init__(self, resources: Iterable[Any] = ()) -> None:
        self._entries: list[BundleEntry] = []
        for resource in resources:
            self.add(resource)

    def add(self, resource: Any, *, full_url: str | None = None) -> str:
        """Add ``resource`` (POST to its type) and return its ``urn:uuid:`` reference.

        ``full_url`` keeps an entry's reference from an earlier bundle (see
        :meth:`without_stored`); by default a new ``urn:uuid:{uuid4}`` is made.
        """
        kind, wire = _resource_wire(resource)
        if full_url is None:
            full_url = self._new_full_url()
        elif not isinstance(full_url, str):
            raise ConfigurationError(
                f"full_url is a 'urn:uuid:…' string, got {type(full_url).__name__}"
            )
        self._entries.append(BundleEntry(full_url=full_url, resource_type=kind, resource=wire))
        return full_url

    def _new_full_url(self) -> str:
        taken = {entry.full_url for entry in self._entries}
        while True:  # a uuid4 collision is astronomically rare; never hand out a taken one
            candidate = f"{URN_UUID_PREFIX}{uuid.uuid4()}"
            if candidate not in taken:
                return candidate

    @classmethod
    def from_wire(cls, bundle: Mapping[str, Any]) -> TransactionBundle:
        """A bundle from its FHIR JSON (``type: transaction``), e.g. read from a file.

        Entries are kept exactly as written (fullUrls and requests included) so that the
        pre-flight reports what is wrong with them instead of silently fixing it.
        """
        if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
            raise ConfigurationError("expected a FHIR Bundle (resourceType 'Bundle')")
        if bundle.get("type") != "transaction":
            raise ConfigurationError(
                f"only a Bundle of type 'transaction' can be sent, got type {bundle.get('type')!r}"
            )
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise ConfigurationError("Bundle.entry must be a list")
        made = cls()
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ConfigurationError(f"Bundle.entry[{index}] is not an object")
            resource = entry.get("resource")
            if not isinstance(resource, Mapping):
                raise ConfigurationError(f"Bundle.entry[{index}] has no resource object")
            try:
                kind, wire = _resource_wire(resource)
            except ConfigurationError as exc:
                raise ConfigurationError(f"Bundle.entry[{index}]: {exc.message}") from None
            request = entry.get("request")
            request = request if isinstance(request, Mapping) else {}
            made._entries.append(
                BundleEntry(
                    full_url=entry.get("fullUrl"),
                    resource_type=kind,
                    resource=wire,
                    method=request.get("method"),
                    url=request.get("url"),
                )
            )
        return made

    # -- reading ---------------------------------------------------------------------

    @property
    def entries(self) -> tuple[BundleEntry, ...]:
        return tuple(self._entries)

    @property
    def full_urls(self) -> tuple[Any, ...]:
        return tuple(entry.full_url for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[BundleEntry]:
        return iter(tuple(self._entries))

    def __repr__(self) -> str:
        # Types only: the resources hold patient data.
        kinds = ", ".join(entry.resource_type for entry in self._entries[:8])
        more = ", …" if len(self._entries) > 8 else ""
        return f"<TransactionBundle {len(self._entries)} entries: {kinds}{more}>"

    def to_wire(self) -> dict[str, Any]:
        """The ``Bundle`` JSON to POST to the FHIR base."""
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [entry.to_wire() for entry in self._entries],
        }

    def unreconcilable(self) -> tuple[int, ...]:
        """Indexes of entries without an identifier: a lost answer cannot be checked for them."""
        return tuple(
            index
            for index, entry in enumerate(self._entries)
            if not entry_identifiers(entry.resource)
        )

    # -- pre-flight ------------------------------------------------------------------

    def issues(self, *, entry_rules: bool = True) -> list[tuple[int, OutcomeIssue]]:
        """Every problem the pre-flight finds, as ``(entry index, issue)`` in entry order.

        ``entry_rules=False`` leaves out each entry's own single-create rules (004) and
        keeps the bundle's: references, nesting, fullUrls and requests.
        """
        return bundle_issues(self._entries, entry_rules=entry_rules)

    def check(self, *, warn: bool = True, _stacklevel: int = 2) -> None:
        """Raise :class:`TransactionError` listing every problem, or return quietly.

        An empty bundle is a :class:`ConfigurationError`. With ``warn``, entries without
        identifiers get an :class:`UnreconcilableEntryWarning`.
        """
        if not self._entries:
            raise ConfigurationError(
                "the transaction bundle is empty: add at least one resource before sending it"
            )
        found = self.issues()
        if found:
            raise preflight_error(self._entries, found)
        if warn:
            missing = self.unreconcilable()
            if missing:
                shown = ", ".join(f"{i} ({self._entries[i].resource_type})" for i in missing[:10])
                warnings.warn(
                    f"transaction entries without an identifier: {shown}. If the answer is "
                    "lost, client.fhir.reconcile() cannot tell whether they were stored.",
                    UnreconcilableEntryWarning,
                    stacklevel=_stacklevel,
                )

    # -- after a lost answer ------------------------------------------------------------

    def without_stored(
        self,
        stored: Sequence[Mapping[str, Any] | None],
        *,
        allow_unidentified: bool = False,
    ) -> TransactionBundle:
        """A new bundle of the entries ``stored`` says are missing (``None``).

        ``stored`` is what ``client.fhir.reconcile(err)`` returned for this bundle, one
        item per entry. References to entries that were stored are rewritten to their
        ``Type/id``; the others keep their ``urn:uuid:`` (and their fullUrl). An entry
        without identifier is ``None`` in ``stored`` whether or not it was stored, so it
        is refused here unless ``allow_unidentified`` says it is known to be missing.
        """
        if len(stored) != len(self._entries):
            raise ConfigurationError(
                f"stored has {len(stored)} item(s) for a bundle of {len(self._entries)} "
                "entries: pass what client.fhir.reconcile(err) returned for this bundle"
            )
        rewrite: dict[str, str] = {}
        for entry, found in zip(self._entries, stored, strict=True):
            if found is None:
                continue
            found_id = found.get("id") if isinstance(found, Mapping) else None
            if not isinstance(found_id, str) or not found_id:
                raise ConfigurationError(
                    f"the stored {entry.resource_type} for {entry.full_url} has no id"
                )
            if isinstance(entry.full_url, str):
                rewrite[entry.full_url] = f"{entry.resource_type}/{found_id}"
        remaining = TransactionBundle()
        for index, (entry, found) in enumerate(zip(self._entries, stored, strict=True)):
            if found is not None:
                continue
            if not allow_unidentified and not entry_identifiers(entry.resource):
                raise ConfigurationError(
                    f"entry {index} ({entry.resource_type}) has no identifier, so reconcile "
                    "cannot know whether it was stored; resend it only if you know it was "
                    "not (allow_unidentified=True)"
                )
            remaining._entries.append(
                attrs.evolve(entry, resource=rewrite_references(entry.resource, rewrite))
            )
        return remaining


# -- pure rules ----------------------------------------------------------------------------


def _issue(code: str, text: str, expression: str, rule: int | None) -> OutcomeIssue:
    return OutcomeIssue(
        severity="error", code=code, text=text, expression=(expression,), rule_number=rule
    )


def _full_url_issues(
    index: int, full_url: object, seen: Mapping[object, int]
) -> list[OutcomeIssue]:
    where = f"{_ENTRY_PREFIX.format(index=index)}.fullUrl"
    if full_url is None:
        return [
            _issue(
                "required",
                f"Element not found: {where} (RuleNumber: {RULE_FULL_URL_PRESENT})",
                where,
                RULE_FULL_URL_PRESENT,
            )
        ]
    if not isinstance(full_url, str) or not full_url.startswith(URN_UUID_PREFIX):
        return [
            _issue(
                "value",
                f"fullUrl must be a urn:uuid, got {str(full_url)[:80]!r} "
                f"(RuleNumber: {RULE_FULL_URL_SCHEME})",
                where,
                RULE_FULL_URL_SCHEME,
            )
        ]
    tail = full_url[len(URN_UUID_PREFIX) :]
    if not _UUID.fullmatch(tail):
        return [
            _issue(
                "value",
                f"fullUrl is not urn:uuid: and a lowercase UUID: {full_url[:80]!r} "
                f"(RuleNumber: {RULE_FULL_URL_UUID})",
                where,
                RULE_FULL_URL_UUID,
            )
        ]
    if uuid.UUID(tail).version != 4:
        return [
            _issue(
                "value",
                f"fullUrl must hold a version 4 UUID: {full_url} "
                f"(RuleNumber: {RULE_FULL_URL_UUID4})",
                where,
                RULE_FULL_URL_UUID4,
            )
        ]
    first = seen.get(full_url)
    if first is not None and first != index:
        return [
            _issue(
                "value",
                f"fullUrl {full_url} is also the fullUrl of entry {first} "
                f"(RuleNumber: {RULE_FULL_URL_UNIQUE})",
                where,
                RULE_FULL_URL_UNIQUE,
            )
        ]
    return []


def _request_issues(index: int, entry: BundleEntry) -> list[OutcomeIssue]:
    where = f"{_ENTRY_PREFIX.format(index=index)}.request"
    url = entry.resource_type if entry.url is None else entry.url
    if entry.method == _REQUEST_METHOD and url == entry.resource_type:
        return []
    return [
        _issue(
            "value",
            f"{where} must be POST to {entry.resource_type!r}, got {entry.method!r} to "
            f"{str(url)[:80]!r}: a transaction entry creates its resource",
            where,
            None,
        )
    ]


def _walk_issues(
    index: int, resource: Mapping[str, Any], full_urls: frozenset[object]
) -> list[OutcomeIssue]:
    """Dangling ``urn:uuid:`` references and nested Bundles, in document order."""
    issues: list[OutcomeIssue] = []
    root = f"{_ENTRY_PREFIX.format(index=index)}.resource"
    # An explicit stack: a hostile, deeply nested payload must not exhaust recursion.
    stack: list[tuple[object, str, str]] = [(resource, root, "")]
    while stack:
        value, where, key = stack.pop()
        if isinstance(value, Mapping):
            if value.get("resourceType") == "Bundle":
                issues.append(
                    _issue(
                        "value",
                        "A Bundle cannot be nested in a transaction "
                        f"(RuleNumber: {RULE_NESTED_BUNDLE})",
                        where,
                        RULE_NESTED_BUNDLE,
                    )
                )
                continue
            children = [(v, f"{where}.{k}", str(k)) for k, v in value.items()]
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(v, f"{where}[{i}]", key) for i, v in enumerate(value)]))
        elif (
            key == "reference"
            and isinstance(value, str)
            and value.startswith(URN_UUID_PREFIX)
            and value not in full_urls
        ):
            issues.append(
                _issue(
                    "value",
                    f"Reference is mandatory : {value[:80]} is the fullUrl of no entry of "
                    f"this bundle (RuleNumber: {RULE_REFERENCE})",
                    where,
                    RULE_REFERENCE,
                )
            )
    return issues


def _single_create_issues(index: int, entry: BundleEntry) -> list[OutcomeIssue]:
    """The entry's own pre-flight, as for ``client.fhir.create``, re-rooted in the bundle."""
    root = f"{_ENTRY_PREFIX.format(index=index)}.resource"
    issues: list[OutcomeIssue] = []
    for found in resource_issues(entry.resource):
        expression = tuple(_reroot(e, entry.resource_type, root) for e in found.expression)
        issues.append(attrs.evolve(found, expression=expression))
    return issues


def _reroot(expression: str, resource_type: str, root: str) -> str:
    if expression == resource_type:
        return root
    if expression.startswith(resource_type) and expression[len(resource_type)] in ".[":
        return root + expression[len(resource_type) :]
    return expression


def bundle_issues(
    entries: Sequence[BundleEntry], *, entry_rules: bool = True
) -> list[tuple[int, OutcomeIssue]]:
    """Every pre-flight problem of ``entries``, as ``(entry index, issue)`` in entry order."""
    seen: dict[object, int] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry.full_url, str):
            seen.setdefault(entry.full_url, index)
    full_urls = frozenset(seen)
    found: list[tuple[int, OutcomeIssue]] = []
    for index, entry in enumerate(entries):
        issues = _full_url_issues(index, entry.full_url, seen)
        issues += _request_issues(index, entry)
        issues += _walk_issues(index, entry.resource, full_urls)
        if entry_rules:
            issues += _single_create_issues(index, entry)
        found.extend((index, issue) for issue in issues)
    return found


def preflight_error(
    entries: Sequence[BundleEntry], found: Sequence[tuple[int, OutcomeIssue]]
) -> TransactionError:
    """One :class:`TransactionError` holding every problem; nothing was sent."""
    from ._bundle_result import BundleEntryResult  # the result module imports this one

    by_entry: dict[int, list[OutcomeIssue]] = {}
    for index, issue in found:
        by_entry.setdefault(index, []).append(issue)
    results = tuple(
        BundleEntryResult(
            index=index,
            full_url=entry.full_url if isinstance(entry.full_url, str) else None,
            resource_type=entry.resource_type,
            status=None,
            outcome=OperationOutcome(issues=tuple(by_entry[index])) if index in by_entry else None,
        )
        for index, entry in enumerate(entries)
    )
    first_index, first = found[0]
    more = f" (+{len(found) - 1} more issue(s), see .issues and .entries)" if len(found) > 1 else ""
    return TransactionError(
        f"pre-flight check refused the transaction at entry {first_index} "
        f"({entries[first_index].resource_type}): {first.describe()}{more} — nothing was sent; "
        "fix the bundle, or pass validate=False to let the platform judge it",
        status=0,
        method="POST",
        url=PREFLIGHT_URL,
        outcome=OperationOutcome(issues=tuple(issue for _, issue in found)),
        entries=results,
    )


def rewrite_references(value: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of ``value`` with every ``reference`` found in ``mapping`` replaced."""
    if not mapping:
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, child in value.items():
            if key == "reference" and isinstance(child, str) and child in mapping:
                out[key] = mapping[child]
            else:
                out[key] = rewrite_references(child, mapping)
        return out
    if isinstance(value, list):
        return [rewrite_references(item, mapping) for item in value]
    return value
