"""A refused transaction, decoded by pure functions from either shape a platform may use.

* a 4xx ``OperationOutcome`` whose issues name the entry in ``expression``
  (``Bundle.entry[2].resource.encounter``) or carry its ``fullUrl`` in ``diagnostics``,
  with a "due to previous error" issue (20012/20013) for each entry refused after it;
* a 4xx ``Bundle`` of ``type: transaction-response`` whose entries carry
  ``response.outcome``.

Either becomes one :class:`~sehatmu_async.errors.TransactionError` whose ``entries`` say
which entry failed first and which were refused after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from ._bundle_result import (
    BundleEntryResult,
    SentEntry,
    entry_result,
    issue_line,
    response_entries,
)
from ._decoders import ResponseContext, build_error, error_for_response
from ._outcome import OperationOutcome, OutcomeIssue
from .errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransactionError,
)

__all__ = ["decode_refusal", "transaction_refusal"]

_ENTRY_EXPRESSION = re.compile(r"^\s*Bundle\.entry\[(\d+)\]")
_URN_UUID = re.compile(r"urn:uuid:[0-9A-Fa-f-]{36}")


def _entry_of_issue(issue: OutcomeIssue, sent: Sequence[SentEntry]) -> int | None:
    """Which entry an OperationOutcome issue is about: by expression, else by fullUrl."""
    for expression in issue.expression:
        match = _ENTRY_EXPRESSION.match(expression)
        if match and int(match.group(1)) < len(sent):
            return int(match.group(1))
    by_url = {full_url.lower(): i for i, (full_url, _) in enumerate(sent) if full_url}
    for text in (issue.diagnostics, issue.text):
        for found in _URN_UUID.findall(text or ""):
            if found.lower() in by_url:
                return by_url[found.lower()]
        match = _ENTRY_EXPRESSION.match(text or "")
        if match and int(match.group(1)) < len(sent):
            return int(match.group(1))
    return None


def _entries_from_outcome(
    outcome: OperationOutcome, sent: Sequence[SentEntry]
) -> tuple[BundleEntryResult, ...]:
    by_entry: dict[int, list[OutcomeIssue]] = {}
    for issue in outcome.issues:
        index = _entry_of_issue(issue, sent)
        if index is not None:
            by_entry.setdefault(index, []).append(issue)
    return tuple(
        BundleEntryResult(
            index=index,
            full_url=full_url,
            resource_type=resource_type,
            status=None,
            outcome=OperationOutcome(issues=tuple(by_entry[index])) if index in by_entry else None,
            rolled_back=True,
        )
        for index, (full_url, resource_type) in enumerate(sent)
    )


def _entries_from_bundle(
    entries: list[Any], sent: Sequence[SentEntry]
) -> tuple[BundleEntryResult, ...]:
    results: list[BundleEntryResult] = []
    for index, sent_entry in enumerate(sent):
        raw_entry = entries[index] if index < len(entries) else None
        if isinstance(raw_entry, Mapping):
            result, _ = entry_result(index, sent_entry, raw_entry)
            # Nothing of a refused transaction was stored, whatever an entry's status says.
            results.append(attrs.evolve(result, id=None, resource=None, rolled_back=True))
        else:
            results.append(
                BundleEntryResult(
                    index, sent_entry[0], sent_entry[1], status=None, rolled_back=True
                )
            )
    return tuple(results)


# Errors whose meaning does not depend on the bundle: they keep their own class.
_NOT_REFUSALS = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitError,
    ServerError,
)


def _body_json(err: APIError, body_obj: object) -> object:
    if body_obj is not None:
        return body_obj
    text = err.body
    # An excerpt cut short ends in "…" and is no JSON; a whole small body is.
    if not text or text.endswith("…") or text.lstrip()[:1] != "{":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def transaction_refusal(
    err: APIError,
    sent: Sequence[SentEntry],
    *,
    path: str,
    body_obj: object = None,
) -> TransactionError | None:
    """The :class:`TransactionError` a refusal of the bundle stands for, or None.

    ``err`` is what the pipeline raised for the answer; ``body_obj`` its parsed JSON
    when the caller has it whole (else the error's body is read if it is complete).
    None means the answer is no refusal of the bundle's content (401, 403, 404, 429,
    5xx, HTML…): the caller raises ``err`` as it is.
    """
    if isinstance(err, (TransactionError, *_NOT_REFUSALS)) or not 200 <= err.status < 500:
        return None
    obj = _body_json(err, body_obj)
    bundle_entries = response_entries(obj)
    if bundle_entries is not None:
        entries = _entries_from_bundle(bundle_entries, sent)
        issues = tuple(issue for entry in entries for issue in entry.issues)
        outcome: OperationOutcome | None = OperationOutcome(issues=issues)
    elif err.outcome is not None:
        outcome = err.outcome
        entries = _entries_from_outcome(outcome, sent)
    else:
        return None
    return _refusal_error(err, path, outcome, entries)


def _refusal_error(
    err: APIError,
    path: str,
    outcome: OperationOutcome | None,
    entries: tuple[BundleEntryResult, ...],
) -> TransactionError:
    probe = TransactionError("", status=err.status, method=err.method, url=err.url, entries=entries)
    first = probe.first_failure
    refused = len(probe.refused)
    after = f"; {refused} other entr{'y' if refused == 1 else 'ies'} refused due to previous error"
    after = after if refused else ""
    if first is not None:
        what = f"transaction refused at {first.describe()}{after}"
        if "duplicate" in {issue.code for issue in first.issues}:
            # A duplicate usually means this visit was sent before (e.g. an answer was lost).
            hint = (
                f"nothing of this bundle was stored, but the platform already holds entry "
                f"{first.index}: do not send the bundle again before finding what is stored "
                "(client.fhir.find_by_identifier)"
            )
        else:
            hint = (
                f"nothing of the bundle was stored; fix entry {first.index} and send the "
                "whole bundle again"
            )
    else:
        failing = [i for i in (outcome.issues if outcome else ()) if i.is_failure]
        reason = issue_line(failing[0]) if failing else "no entry named"
        what = f"transaction refused: {reason}{after}"
        hint = "nothing of the bundle was stored; fix it and send the whole bundle again"
    ctx = ResponseContext(
        status=err.status, method=err.method, url=err.url, path=path, request_id=err.request_id
    )
    if ctx.status < 400:
        # An error OperationOutcome in a 2xx answer: the message still says it was refused.
        what = f"{what} (with status {ctx.status})"
    error = build_error(
        TransactionError,
        ctx,
        err.body.encode("utf-8"),
        what,
        hint,
        outcome=outcome,
        entries=entries,
    )
    assert isinstance(error, TransactionError)
    return error


def decode_refusal(
    ctx: ResponseContext, headers: Mapping[str, str], body: bytes, sent: Sequence[SentEntry]
) -> APIError:
    """The error a 4xx answer to a transaction stands for, read from the whole body.

    A refusal of the bundle (either shape) is a :class:`TransactionError`; anything else
    is the error the pipeline would have raised for it.
    """
    err = error_for_response(ctx, headers, body)
    try:
        obj: object = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    refusal = transaction_refusal(err, sent, path=ctx.path, body_obj=obj)
    return refusal if refusal is not None else err
