"""One logical call's state, its :class:`Response`, and every error the pipeline raises.

:class:`Call` is what the layers of :class:`~sehatmu_async._base_client.BaseClient`
pass down (encoded request, budget, attempts, token used); the builders below are the
only places the pipeline's own errors are worded. :func:`outcome_unknown` is the one
place an :class:`OutcomeUnknownError` is made: it names no resource, because the
transport knows none; the resource that knows the identifiers adds them with
``err.add_context(...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from ._decoders import (
    ResponseContext,
    build_error,
    decode_json,
    error_for_response,
    raise_for_embedded_error,
    refusal_detail,
    request_id_suffix,
)
from ._send import Answer, BadBody, SendFailure
from ._token import AccessToken
from .errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    TransportError,
)

__all__ = [
    "Call",
    "Response",
    "closed_error",
    "encode_json",
    "error_for_answer",
    "failure_error",
    "fresh_token_refused",
    "limiter_held",
    "log_attempt",
    "other_loop_error",
    "outcome_unknown",
    "redacted_url",
    "unusable_body",
]

logger = logging.getLogger("sehatmu_async")

_REDACTED_PARAMS = frozenset({"identifier", "client_id", "client_secret"})


def redacted_url(base_url: str, path: str, params: Mapping[str, str] | None) -> str:
    """The URL as errors show it: identifiers and credentials in the query are hidden."""
    if not params:
        return base_url + path
    shown = {k: ("<redacted>" if k in _REDACTED_PARAMS else v) for k, v in params.items()}
    return f"{base_url}{path}?{urlencode(shown, safe=',|<>')}"


class Response:
    """A 2xx answer: status, headers and the whole body, with its error context."""

    __slots__ = ("body", "ctx", "headers", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], body: bytes, ctx: ResponseContext
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.ctx = ctx

    def json(self) -> Any:
        """The decoded JSON body; raises for non-JSON bodies and errors wrapped in a 2xx."""
        obj = decode_json(self.ctx, self.headers, self.body)
        raise_for_embedded_error(self.ctx, obj, self.body)
        return obj


class Call:
    """One logical request on its way through the layers. Plain slots: one per call."""

    __slots__ = (
        "attempts",
        "auth",
        "content",
        "deadline",
        "headers",
        "idempotent",
        "method",
        "params",
        "path",
        "payload",
        "renewed",
        "shown_url",
        "token",
        "token_endpoint",
        "url",
    )

    def __init__(
        self,
        method: str,
        path: str,
        url: str,
        shown_url: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: dict[str, str],
        idempotent: bool,
        auth: bool,
        token_endpoint: bool,
        payload: Any,
        deadline: float,
    ) -> None:
        # Positional: built once per request, on the hot path.
        self.method = method
        self.path = path
        self.url = url
        self.shown_url = shown_url
        self.params = params
        self.content = content
        self.headers = headers
        self.idempotent = idempotent
        self.auth = auth
        self.token_endpoint = token_endpoint
        #: What an OutcomeUnknownError keeps so nothing is lost (the JSON given, if any).
        self.payload = payload
        self.deadline = deadline
        #: Sends made so far; a 401 answered by the one renewal does not count.
        self.attempts = 0
        #: The token the latest attempt carried, and whether this call renewed one.
        self.token: AccessToken | None = None
        self.renewed = False

    def context(self, status: int, headers: Mapping[str, str]) -> ResponseContext:
        return ResponseContext(
            status=status,
            method=self.method,
            url=self.shown_url,
            path=self.path,
            request_id=headers.get("X-Request-Id"),
            withhold_body=self.token_endpoint and 200 <= status < 300,
        )


def log_attempt(
    call: Call,
    outcome: int | str,
    started: float,
    clock: Callable[[], float],
    retry_in: float | None,
) -> None:
    # The path only: query strings can carry a NIK, and headers carry the token.
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %s attempt=%d elapsed=%.3fs%s",
            call.method,
            call.path,
            outcome,
            call.attempts,
            clock() - started,
            "" if retry_in is None else f" retry_in={retry_in:.2f}s",
        )


def outcome_unknown(call: Call, what: str, *, status: int | None = None) -> OutcomeUnknownError:
    """The one builder of OutcomeUnknownError: ``what`` happened after the request left."""
    return OutcomeUnknownError(
        f"{call.method} {call.path}: {what} after the request was sent; the platform may or "
        "may not have stored it. Do not resend it blindly: look it up first.",
        method=call.method,
        url=call.shown_url,
        attempts=call.attempts,
        payload=call.payload,
        status=status,
    )


def error_for_answer(call: Call, answer: Answer) -> APIError | OutcomeUnknownError:
    """The error a final non-2xx answer stands for."""
    status, headers, body = answer
    if not call.idempotent and status >= 500:
        rid = request_id_suffix(headers.get("X-Request-Id"))
        return outcome_unknown(call, f"the platform answered {status}{rid}", status=status)
    return error_for_response(
        call.context(status, headers), headers, body, token_endpoint=call.token_endpoint
    )


def fresh_token_refused(call: Call, answer: Answer) -> APIError:
    """A 401 for a token this very call was just granted: not a credentials problem."""
    status, headers, body = answer
    return build_error(
        AuthenticationError,
        call.context(status, headers),
        body,
        f"the platform refused an access token it had just issued to this client "
        f"({refusal_detail(headers, body)}); the token endpoint accepted the client id and "
        "secret moments before",
        "the platform revoked it again or its gateway has not caught up; try the call again "
        "shortly, and report it with the request id if it persists",
    )


def unusable_body(call: Call, bad: BadBody) -> APIError:
    """Not retried: the same request would fetch the same unusable answer."""
    return build_error(
        APIError,
        call.context(bad.status, bad.headers),
        b"",
        bad.what,
        "the platform or a proxy sent something unexpected; report it with the request id",
    )


def closed_error(call: Call, *, sent: bool) -> TransportError:
    """The client was closed (``aclose()``) while this call was running."""
    what = "the client was closed (aclose()) while this call was running"
    if sent and not call.idempotent:
        return outcome_unknown(call, what)
    return TransportError(
        f"{call.method} {call.path}: {what}; it was not completed — use an open client",
        method=call.method,
        url=call.shown_url,
        attempts=call.attempts,
    )


def failure_error(call: Call, failure: SendFailure) -> TransportError:
    """The error a request that got no answer stands for."""
    if not call.idempotent and not failure.not_sent:
        return outcome_unknown(call, failure.description)
    tries = f" after {call.attempts} attempt(s)" if call.attempts > 1 else ""
    return TransportError(
        f"{call.method} {call.path}: {failure.description}{tries} — {failure.hint}",
        method=call.method,
        url=call.shown_url,
        attempts=call.attempts,
    )


def limiter_held(what: str) -> SendFailure:
    """The rate limiter kept the request past the call's budget: it never left."""
    return SendFailure(
        not_sent=True,
        description=f"the rate limiter held it {what} until the call's time budget ran out, "
        "so it was not sent",
        hint="raise RetryPolicy.total_timeout or make fewer calls; the limiter decides the pace",
    )


def encode_json(method: str, path: str, json: Any) -> bytes:
    """The payload as JSON bytes, or a ConfigurationError (nothing was sent)."""
    try:
        return orjson.dumps(json)
    except orjson.JSONEncodeError as exc:
        message = f"{method} {path}: the payload cannot be sent as JSON ({exc}); nothing "
        message += "was sent"
    raise ConfigurationError(message)


def other_loop_error() -> ConfigurationError:
    return ConfigurationError(
        "this SehatMuClient is used from another event loop than the one that first "
        "used it (a second asyncio.run(), or another thread); a client, its "
        "connections and its token cache belong to that first loop. Create one "
        "client per event loop, inside it (e.g. `async with SehatMuClient(...)`)"
    )
