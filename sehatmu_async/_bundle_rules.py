"""The pre-flight rules of a transaction bundle, as pure functions over its entries.

Each rule gives OutcomeIssues that read like the platform's own refusals: the rule number
in the text and an expression naming the entry (``Bundle.entry[2].resource.subject``).
The rules: every ``urn:uuid:`` reference resolves to an entry (10124), no nested Bundle
(20011), the ``fullUrl`` rules (20017-20021), ``request`` POST to the entry's type, and
each entry's own single-create rules (``_validation.resource_issues``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._bundle_result import BundleEntryResult
from ._outcome import OperationOutcome, OutcomeIssue
from ._validation import PREFLIGHT_URL, resource_issues
from .errors import TransactionError

if TYPE_CHECKING:
    from ._bundle import BundleEntry

__all__ = [
    "REQUEST_METHOD",
    "URN_UUID_PREFIX",
    "bundle_issues",
    "preflight_error",
    "rewrite_references",
]

URN_UUID_PREFIX = "urn:uuid:"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REQUEST_METHOD = "POST"
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


# -- pure rules ----------------------------------------------------------------------------


def _issue(code: str, text: str, expression: str, rule: int | None) -> OutcomeIssue:
    return OutcomeIssue(
        severity="error", code=code, text=text, expression=(expression,), rule_number=rule
    )


def _full_url_issues(
    index: int, full_url: object, seen: Mapping[object, int]
) -> list[OutcomeIssue]:
    where = f"{_ENTRY_PREFIX.format(index=index)}.fullUrl"
    if full_url is None or full_url == "":
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
    # Version 4: the 13th hex digit is 4 and the variant digit is 8, 9, a or b (RFC 4122).
    if tail[14] != "4" or tail[19] not in "89ab":
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
    if entry.method == REQUEST_METHOD and url == entry.resource_type:
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


# A place in a resource, built only when an issue needs it: (segment, parent) links.
_Path = tuple[str, "_Path | None"]


def _path_text(root: str, path: _Path | None) -> str:
    segments: list[str] = []
    while path is not None:
        segment, path = path
        segments.append(segment)
    return root + "".join(reversed(segments))


def _dangling(value: str, where: str) -> OutcomeIssue:
    return _issue(
        "value",
        f"Reference is mandatory : {value[:80]} is the fullUrl of no entry of this bundle "
        f"(RuleNumber: {RULE_REFERENCE})",
        where,
        RULE_REFERENCE,
    )


def _nested(where: str) -> OutcomeIssue:
    return _issue(
        "value",
        f"A Bundle cannot be nested in a transaction (RuleNumber: {RULE_NESTED_BUNDLE})",
        where,
        RULE_NESTED_BUNDLE,
    )


def _walk_issues(
    index: int, resource: Mapping[str, Any], full_urls: frozenset[object]
) -> list[OutcomeIssue]:
    """Dangling ``urn:uuid:`` references and nested Bundles, in document order."""
    issues: list[OutcomeIssue] = []
    root = f"{_ENTRY_PREFIX.format(index=index)}.resource"
    # An explicit stack (a hostile, deeply nested payload must not exhaust recursion).
    # Only objects, lists and dangling references are pushed; paths are built on demand.
    stack: list[tuple[object, _Path | None]] = [(resource, None)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):  # pushed only when it is a dangling reference
            issues.append(_dangling(value, _path_text(root, path)))
        elif isinstance(value, dict):
            if value.get("resourceType") == "Bundle":
                issues.append(_nested(_path_text(root, path)))
                continue
            pending: list[tuple[object, _Path | None]] = []
            for key, child in value.items():
                if isinstance(child, (dict, list)):
                    pending.append((child, (f".{key}", path)))
                elif (
                    key == "reference"
                    and isinstance(child, str)
                    and child.startswith(URN_UUID_PREFIX)
                    and child not in full_urls
                ):
                    pending.append((child, (".reference", path)))
            stack.extend(reversed(pending))
        elif isinstance(value, list):
            stack.extend(
                reversed(
                    [
                        (item, (f"[{i}]", path))
                        for i, item in enumerate(value)
                        if isinstance(item, (dict, list))
                    ]
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
