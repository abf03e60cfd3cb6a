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

import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._bundle_rules import (
    REQUEST_METHOD,
    URN_UUID_PREFIX,
    bundle_issues,
    preflight_error,
    rewrite_references,
)
from ._fhir_wire import resource_wire
from ._outcome import OutcomeIssue
from .errors import ConfigurationError

__all__ = [
    "URN_UUID_PREFIX",
    "BundleEntry",
    "TransactionBundle",
    "UnreconcilableEntryWarning",
    "entry_identifiers",
]


class UnreconcilableEntryWarning(UserWarning):
    """An entry has no identifier: after a lost answer nobody can tell whether it was stored."""


@attrs.frozen(slots=True)
class BundleEntry:
    """One entry as it will be sent; ``resource`` is the SDK's own copy (wire JSON)."""

    full_url: Any
    resource_type: str
    resource: dict[str, Any] = attrs.field(repr=False)
    method: Any = REQUEST_METHOD
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

    __slots__ = ("_entries", "_taken")

    def __init__(self, resources: Iterable[Any] = ()) -> None:
        self._entries: list[BundleEntry] = []
        self._taken: set[object] = set()  # the fullUrls in use, for fresh ones
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
        self._append(BundleEntry(full_url=full_url, resource_type=kind, resource=wire))
        return full_url

    def _append(self, entry: BundleEntry) -> None:
        self._entries.append(entry)
        if isinstance(entry.full_url, str):
            self._taken.add(entry.full_url)

    def _new_full_url(self) -> str:
        while True:  # a uuid4 collision is astronomically rare; never hand out a taken one
            candidate = f"{URN_UUID_PREFIX}{uuid.uuid4()}"
            if candidate not in self._taken:
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
            made._append(
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
        stored: Sequence[Any],
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
            # A dict, or a model (reconcile(err, model=...)) with an ``id``.
            found_id = found.get("id") if isinstance(found, Mapping) else getattr(found, "id", None)
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
            remaining._append(
                attrs.evolve(entry, resource=rewrite_references(entry.resource, rewrite))
            )
        return remaining
