"""Pure decoding of platform answers: (status, headers, body bytes) -> result or error.

No I/O here, so every shape the platform sends can be tested byte for byte
without a network. The transport calls :func:`error_for_response` for non-2xx
answers and :func:`decode_json` / :func:`raise_for_embedded_error` for 2xx ones.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

import orjson

from ._outcome import OperationOutcome, parse_operation_outcome
from ._retry import parse_retry_after
from .errors import (
    APIError,
    AuthenticationError,
    DuplicateResourceError,
    MasterDataError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)

__all__ = [
    "BODY_EXCERPT_CHARS",
    "ResponseContext",
    "build_error",
    "decode_json",
    "error_for_response",
    "raise_for_embedded_error",
    "refusal_detail",
    "request_id_suffix",
]

#: How much of a body an error keeps: enough to diagnose, bounded for logs.
BODY_EXCERPT_CHARS = 500

Headers = Mapping[str, str]

#: A client id used for another organization's data (api.md, section 1).
_BUSINESS_RULE = "resource cannot be accessed due to business rule"


class ResponseContext:
    """What an error needs to say where it came from. Plain slots: built per response."""

    __slots__ = ("method", "path", "request_id", "status", "url", "withhold_body")

    def __init__(
        self,
        *,
        status: int,
        method: str,
        url: str,
        path: str,
        request_id: str | None,
        withhold_body: bool = False,
    ) -> None:
        self.status: int = status
        self.method: str = method
        self.url: str = url
        self.path: str = path
        self.request_id: str | None = request_id
        # The token endpoint's 2xx body holds the token: never copy it into an error.
        self.withhold_body: bool = withhold_body


def excerpt(body: bytes, limit: int = BODY_EXCERPT_CHARS) -> str:
    text = body[: limit * 4].decode("utf-8", errors="replace")
    if len(text) > limit or len(body) > limit * 4:
        return text[:limit] + "…"
    return text


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def request_id_suffix(request_id: str | None) -> str:
    """`` [request id …]`` for a message, or nothing when the platform sent none."""
    return f" [request id {request_id}]" if request_id else ""


def build_error(
    cls: type[APIError],
    ctx: ResponseContext,
    body: bytes,
    what: str,
    hint: str,
    **extra: Any,
) -> APIError:
    """The one shape of an API error's message: ``<status> from <where>: <what> — <hint>``."""
    where = f"{ctx.method} {ctx.path}"
    status = f"{ctx.status} {_reason(ctx.status)}".rstrip()
    message = f"{status} from {where}: {what} — {hint}{request_id_suffix(ctx.request_id)}"
    return cls(
        message,
        status=ctx.status,
        method=ctx.method,
        url=ctx.url,
        request_id=ctx.request_id,
        body="<withheld>" if ctx.withhold_body else excerpt(body),
        **extra,
    )


#: The old private name, still imported by ``resources/_patients.py``: use ``build_error``.
_build = build_error


def _try_json(body: bytes) -> Any:
    stripped = body.lstrip()
    if not stripped or stripped[:1] not in (b"{", b"["):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe_body(body: bytes, headers: Headers) -> str:
    if not body.strip():
        return "empty body"
    content_type = headers.get("Content-Type", "").lower()
    head = body.lstrip()[:15].lower()
    if "html" in content_type or head.startswith((b"<!doctype", b"<html")):
        return "an HTML page instead of JSON"
    return repr(_one_line(body.decode("utf-8", errors="replace"), 120))


def _outcome_error(outcome: OperationOutcome, ctx: ResponseContext, body: bytes) -> ValidationError:
    failing = [i for i in outcome.issues if i.is_failure] or list(outcome.issues)
    first = failing[0].describe() if failing else "OperationOutcome with no issues"
    more = f" (+{len(failing) - 1} more issue(s), see .issues)" if len(failing) > 1 else ""
    if "duplicate" in outcome.codes:
        return build_error(  # type: ignore[return-value]
            DuplicateResourceError,
            ctx,
            body,
            _one_line(first) + more,
            "the platform already holds this payload; do not send it again",
            outcome=outcome,
        )
    return build_error(  # type: ignore[return-value]
        ValidationError,
        ctx,
        body,
        _one_line(first) + more,
        "fix the payload and send it once more",
        outcome=outcome,
    )


def _fault_text(obj: Mapping[str, Any]) -> str | None:
    fault = obj.get("fault")
    if isinstance(fault, Mapping):
        text = fault.get("faultstring")
        detail = fault.get("detail")
        code = detail.get("errorcode") if isinstance(detail, Mapping) else None
        parts = [p for p in (text, code) if isinstance(p, str) and p]
        return " / ".join(parts) if parts else "gateway fault"
    if "ErrorCode" in obj or "Error" in obj:
        parts = [str(obj.get(k)) for k in ("ErrorCode", "Error") if obj.get(k)]
        return " / ".join(parts) if parts else "gateway error"
    return None


def _master_data_message(obj: Mapping[str, Any]) -> str | None:
    if "status_code" in obj and "message" in obj:
        message = obj.get("message")
        return message if isinstance(message, str) else str(message)
    return None


def _read_refusal(
    headers: Headers, body: bytes
) -> tuple[Mapping[str, Any] | None, OperationOutcome | None, str | None, str]:
    """(JSON object, OperationOutcome, gateway fault, one-line detail) of an error body."""
    obj = _try_json(body)
    mapping: Mapping[str, Any] | None = obj if isinstance(obj, Mapping) else None
    outcome = parse_operation_outcome(mapping) if mapping is not None else None
    fault = _fault_text(mapping) if mapping is not None else None
    detail = (
        (outcome.issues[0].describe() if outcome and outcome.issues else None)
        or fault
        or (_master_data_message(mapping) if mapping is not None else None)
        or _describe_body(body, headers)
    )
    return mapping, outcome, fault, _one_line(detail)


def refusal_detail(headers: Headers, body: bytes) -> str:
    """One line saying what an error answer said (its issue, fault or body)."""
    return _read_refusal(headers, body)[3]


def error_for_response(
    ctx: ResponseContext, headers: Headers, body: bytes, *, token_endpoint: bool = False
) -> APIError:
    """Turn a non-2xx answer into the matching :class:`APIError` subclass."""
    status = ctx.status
    mapping, outcome, fault, detail = _read_refusal(headers, body)

    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        when = f"after {retry_after:g} s" if retry_after is not None else "later"
        return build_error(
            RateLimitError,
            ctx,
            body,
            f"rate limited ({detail})",
            f"slow down and try again {when}",
            retry_after=retry_after,
            outcome=outcome,
        )
    if status >= 500:
        return build_error(
            ServerError,
            ctx,
            body,
            f"the platform failed ({detail})",
            "this is on the platform's side; try again later",
            outcome=outcome,
        )
    if token_endpoint and status in (400, 401, 403):
        return build_error(
            AuthenticationError,
            ctx,
            body,
            f"no access token was granted ({detail})",
            "check the client id and secret and that they belong to this environment",
            outcome=outcome,
        )
    if fault is not None or status == 401:
        return build_error(
            AuthenticationError,
            ctx,
            body,
            f"not authenticated ({detail})",
            "check the client id and secret for this environment",
            outcome=outcome,
        )
    if status == 403 or _BUSINESS_RULE in detail.lower():
        # The documents give this refusal's text but not its status.
        return build_error(
            PermissionDeniedError,
            ctx,
            body,
            f"access denied ({detail})",
            "this client's organization may not use this resource; ask the platform to grant it",
            outcome=outcome,
        )
    if status == 404:
        return build_error(
            NotFoundError,
            ctx,
            body,
            f"not found ({detail})",
            "check the id or the base URL",
            outcome=outcome,
        )
    if outcome is not None:
        return _outcome_error(outcome, ctx, body)
    if mapping is not None and (message := _master_data_message(mapping)) is not None:
        return _master_data_error(ctx, body, message)
    return build_error(
        APIError,
        ctx,
        body,
        f"request refused ({detail})",
        "check the request; the platform gave no structured reason",
    )


def decode_json(ctx: ResponseContext, headers: Headers, body: bytes) -> Any:
    """Parse a 2xx JSON body, or raise :class:`APIError` saying what came instead."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # Raised outside the except block: the JSONDecodeError (its ``doc`` is the whole body,
    # maybe a token) must not ride along as ``__context__``. A withheld body (the token
    # endpoint's 2xx) is never quoted either.
    got = "a body that is not JSON" if ctx.withhold_body else _describe_body(body, headers)
    raise build_error(
        APIError,
        ctx,
        body,
        f"expected JSON, got {got}",
        "the platform or a proxy answered in an unexpected format; report it with the request id",
    )


def raise_for_embedded_error(ctx: ResponseContext, obj: Any, body: bytes) -> None:
    """Raise for errors the platform wraps in a 2xx answer.

    An OperationOutcome with an error-severity issue is a refusal even with 200/201;
    an ``information``/``suppressed`` one (consent rules) is not. A Master Wilayah
    ``status_code`` envelope of 400 or more is a refusal too.
    """
    if not isinstance(obj, Mapping):
        return
    resource_type = obj.get("resourceType")
    if resource_type == "OperationOutcome":
        outcome = parse_operation_outcome(obj)
        if outcome is not None and outcome.is_failure:
            raise _outcome_error(outcome, ctx, body)
        return
    if resource_type is not None:
        return
    code = obj.get("status_code")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        raise _master_data_error(ctx, body, _master_data_message(obj) or "error")
    if obj.get("error") is True:
        flagged = obj.get("message")
        raise _master_data_error(
            ctx, body, flagged if isinstance(flagged, str) else "error flag set"
        )


def _master_data_error(ctx: ResponseContext, body: bytes, message: str) -> APIError:
    """Master Wilayah's own refusal (its ``status_code`` envelope or ``error`` flag)."""
    return build_error(
        MasterDataError,
        ctx,
        body,
        _one_line(message),
        "fix the region query's parameters",
        api_message=message,
    )


def shape_error(ctx: ResponseContext, body: bytes, what: str) -> APIError:
    """An :class:`APIError` for a JSON answer of the wrong shape (missing keys, wrong types)."""
    return build_error(
        APIError,
        ctx,
        body,
        f"unexpected answer shape: {what}",
        "the platform's answer does not match its documentation; report it with the request id",
    )
