"""Transport: one request pipeline for every call of the client.

Per logical call: get a token (cached), send, read a bounded body, and then
either return the answer, repeat it (401 once with a fresh token; retryable
failures by the :class:`RetryPolicy`), or raise the typed error the pure
decoders make of it.

Whether a failure may be retried depends on whether repeating the request is
safe. ``idempotent=False`` (Patient create) is repeated only when the request
provably never left this machine: the connection was refused, the name did not
resolve, or connecting timed out. Anything after that — a timeout while waiting,
a reset, a 5xx — raises :class:`OutcomeUnknownError` instead, because the
platform may already have stored the resource and refuses a resend as duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import warnings
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from ._auth import TokenCache
from ._config import InsecureTransportWarning
from ._decoders import (
    ResponseContext,
    decode_json,
    error_for_response,
    raise_for_embedded_error,
)
from ._retry import RetryPolicy, parse_retry_after
from ._token import AccessToken, decode_token
from ._token_store import TokenStore
from ._version import __version__
from .errors import APIError, ConfigurationError, OutcomeUnknownError, TransportError

__all__ = ["MISSING", "BaseClient", "Response"]

logger = logging.getLogger("sehatmu_async")

MISSING: Final[Any] = object()
TOKEN_PATH = "/oauth2/v1/accesstoken"  # noqa: S105 (a path, not a secret)
DEFAULT_MAX_BODY = 32 * 1024 * 1024
_REDACTED_PARAMS = frozenset({"identifier", "client_id", "client_secret"})

Sleep = Callable[[float], Awaitable[None]]


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


class _Failure(Exception):
    """Internal: a network failure, with whether the request provably never left.

    It keeps only a description, never aiohttp's exception: those carry the request's
    headers (the bearer token) and full URL (a NIK in a search) in ``request_info``,
    and error reporters record chained exceptions' attributes.
    """

    def __init__(self, *, not_sent: bool, description: str) -> None:
        super().__init__(description)
        self.not_sent = not_sent
        self.description = description


def _describe_network_error(exc: BaseException) -> tuple[bool, str]:
    """(provably not sent, one-line description) for a network-level exception."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return True, "the server's TLS certificate was not accepted"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Covers refused connections and DNS failures: nothing was written.
        return True, f"could not connect to {exc.host}:{exc.port} ({exc.os_error})"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return True, "connecting timed out"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return False, "no answer within the timeout"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return False, "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return False, "the answer was cut off"
    if isinstance(exc, aiohttp.ClientResponseError):
        # Its str() holds the full URL; the message is what the HTTP parser objected to.
        return False, f"the server's answer was not valid HTTP ({exc.message})"
    if isinstance(exc, (aiohttp.ClientOSError, ConnectionError, OSError)):
        return False, f"the connection failed ({exc})"
    return False, f"the request failed ({type(exc).__name__})"


def _log_attempt(
    method: str,
    path: str,
    outcome: int | str,
    attempt: int,
    elapsed: float,
    retry_in: float | None,
) -> None:
    # The path only: query strings can carry a NIK, and headers carry the token.
    logger.debug(
        "%s %s -> %s attempt=%d elapsed=%.3fs%s",
        method,
        path,
        outcome,
        attempt,
        elapsed,
        "" if retry_in is None else f" retry_in={retry_in:.2f}s",
    )


def _redacted_url(base_url: str, path: str, params: Mapping[str, str] | None) -> str:
    if not params:
        return base_url + path
    shown = {k: ("<redacted>" if k in _REDACTED_PARAMS else v) for k, v in params.items()}
    return f"{base_url}{path}?{urlencode(shown, safe=',|<>')}"


class BaseClient:
    """Holds the session, token cache and retry loop. :class:`SehatMuClient` builds on it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        base_url: str,
        timeout: aiohttp.ClientTimeout,
        retry: RetryPolicy,
        connection_limit: int,
        verify_tls: bool,
        user_agent: str | None,
        session: aiohttp.ClientSession | None,
        trust_env: bool,
        clock: Callable[[], float],
        sleep: Sleep,
        rng: random.Random | None,
        token_soft_window: float,
        token_hard_window: float,
        max_body_bytes: int,
        token_failure_cooldown: float = 60.0,
        token_store: TokenStore | None = None,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ConfigurationError("client_id must be a non-empty string")
        if not isinstance(client_secret, str) or not client_secret.strip():
            raise ConfigurationError("client_secret must be a non-empty string")
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a sehatmu_async.RetryPolicy")
        if (
            not isinstance(connection_limit, int)
            or isinstance(connection_limit, bool)
            or connection_limit < 1
        ):
            raise ConfigurationError("connection_limit must be a positive integer")
        if not verify_tls:
            warnings.warn(
                "TLS certificate verification is OFF: anyone on the network path can read "
                "the client secret and patient data. Use this only against a local sandbox.",
                InsecureTransportWarning,
                stacklevel=3,
            )
        self._client_id = client_id
        self._client_secret = client_secret
        self.base_url = base_url
        self._timeout = timeout
        self.retry = retry
        self._connection_limit = connection_limit
        self._verify_tls = verify_tls
        self._ssl: ssl.SSLContext | bool = bool(verify_tls)
        self.user_agent = user_agent or f"sehatmu-async/{__version__}"
        self._session = session
        self._owns_session = session is None
        self._trust_env = trust_env
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._max_body = max_body_bytes
        self._closed = False
        self._base_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        self._tokens = TokenCache(
            self._fetch_token,
            clock=clock,
            soft_window=token_soft_window,
            hard_window=token_hard_window,
            rng=self._rng,
            failure_cooldown=token_failure_cooldown,
            store=token_store,
            store_scope=(base_url, client_id),
        )

    # -- session -------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConfigurationError("this client is closed; create a new SehatMuClient")
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                limit_per_host=self._connection_limit,
                ssl=self._ssl,
            )
            session = aiohttp.ClientSession(connector=connector, trust_env=self._trust_env)
            self._session = session
        elif session.closed:
            raise ConfigurationError("the aiohttp session given to SehatMuClient is closed")
        return session

    async def aclose(self) -> None:
        """Stop background token work and close the session this client opened."""
        self._closed = True
        await self._tokens.aclose()
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    # -- token ---------------------------------------------------------------------

    async def token(self) -> AccessToken:
        """The current access token, fetched or renewed as needed."""
        return await self._tokens.get()

    @property
    def token_requests(self) -> int:
        """How many token requests this client has started."""
        return self._tokens.fetches

    async def _fetch_token(self, requested_at: float) -> AccessToken:
        form = urlencode({"client_id": self._client_id, "client_secret": self._client_secret})
        wall = datetime.now(timezone.utc)
        response = await self.request(
            "POST",
            TOKEN_PATH,
            params={"grant_type": "client_credentials"},
            content=form.encode(),
            content_type="application/x-www-form-urlencoded",
            auth=False,
            token_endpoint=True,
        )
        return decode_token(
            response.ctx,
            response.headers,
            response.body,
            requested_at=requested_at,
            requested_at_utc=wall,
        )

    # -- the pipeline --------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = MISSING,
        content: bytes | None = None,
        content_type: str | None = None,
        idempotent: bool = True,
        auth: bool = True,
        token_endpoint: bool = False,
    ) -> Response:
        """Send one logical request; return its 2xx answer or raise a typed error."""
        session = self._get_session()
        url = self.base_url + path
        shown_url = _redacted_url(self.base_url, path, params)
        if json is not MISSING:
            try:
                content = orjson.dumps(json)
            except orjson.JSONEncodeError as exc:
                raise ConfigurationError(
                    f"{method} {path}: the payload cannot be sent as JSON ({exc}); nothing "
                    "was sent"
                ) from None
            content_type = content_type or "application/json"
        headers = dict(self._base_headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        policy = self.retry
        deadline = self._clock() + policy.total_timeout
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            if self._closed:
                raise TransportError(
                    f"{method} {path}: the client was closed while this call was running",
                    method=method,
                    url=shown_url,
                    attempts=attempt - 1,
                )
            token: AccessToken | None = None
            if auth:
                token = await self._tokens.get()
                headers["Authorization"] = token.authorization()
            started = self._clock()
            failure: _Failure | None = None
            try:
                status, resp_headers, body = await self._send(
                    session, method, url, params, content, headers, deadline - started
                )
            except _TooLarge as too_large:
                # Not retried: the same request would fetch the same oversized answer.
                raise APIError(
                    f"{too_large.status} from {method} {path}: the answer is larger than "
                    f"{too_large.limit} bytes — the platform or a proxy sent something "
                    "unexpected; report it with the request id",
                    status=too_large.status,
                    method=method,
                    url=shown_url,
                    request_id=too_large.headers.get("X-Request-Id"),
                ) from None
            except _Failure as caught:
                failure = caught
            if failure is not None:
                # Handled outside the except block, so the error raised has no context.
                elapsed = self._clock() - started
                retry_in = self._retry_delay(
                    policy, attempt, deadline, None, allowed=idempotent or failure.not_sent
                )
                _log_attempt(method, path, failure.description, attempt, elapsed, retry_in)
                if retry_in is not None:
                    await self._sleep(retry_in)
                    continue
                raise self._transport_error(
                    failure, method, shown_url, attempt, idempotent, json, content
                )
            elapsed = self._clock() - started
            request_id = resp_headers.get("X-Request-Id")
            retry_in = None
            if status == 401 and auth and not reauthenticated and token is not None:
                # The token died early (revoked, server restart): renew once and repeat.
                self._tokens.invalidate(token)
                reauthenticated = True
                attempt -= 1
                logger.debug(
                    "%s %s -> 401 attempt=%d elapsed=%.3fs renewing token",
                    method,
                    path,
                    attempt + 1,
                    elapsed,
                )
                continue
            if policy.retryable_status(status) and idempotent:
                server_wait = parse_retry_after(resp_headers.get("Retry-After"))
                retry_in = self._retry_delay(policy, attempt, deadline, server_wait, allowed=True)
            _log_attempt(method, path, status, attempt, elapsed, retry_in)
            if retry_in is not None:
                await self._sleep(retry_in)
                continue
            ctx = ResponseContext(
                status=status,
                method=method,
                url=shown_url,
                path=path,
                request_id=request_id,
                withhold_body=token_endpoint and 200 <= status < 300,
            )
            if 200 <= status < 300:
                return Response(status, resp_headers, body, ctx)
            if not idempotent and status >= 500:
                raise OutcomeUnknownError(
                    f"{method} {path} got {status} after the request was sent: the platform "
                    "may or may not have stored it. Do not resend blindly; look it up first "
                    "(e.g. client.patients.search_by_nik(err.nik)).",
                    method=method,
                    url=shown_url,
                    attempts=attempt,
                    payload=json if json is not MISSING else None,
                    status=status,
                )
            raise error_for_response(ctx, resp_headers, body, token_endpoint=token_endpoint)

    def _retry_delay(
        self,
        policy: RetryPolicy,
        attempt: int,
        deadline: float,
        server_wait: float | None,
        *,
        allowed: bool,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None if there is none."""
        if not allowed or self._closed or attempt >= policy.attempts:
            return None
        if server_wait is not None:
            if server_wait > policy.retry_after_cap:
                return None
            delay = server_wait
        else:
            delay = policy.backoff(attempt, self._rng)
        if self._clock() + delay >= deadline:
            return None
        return delay

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        remaining: float,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        timeout = self._timeout
        if remaining <= 0:
            raise _Failure(not_sent=True, description="the total time budget ran out")
        if timeout.total is None or remaining < timeout.total:
            timeout = aiohttp.ClientTimeout(
                total=remaining,
                connect=timeout.connect,
                sock_connect=timeout.sock_connect,
                sock_read=timeout.sock_read,
            )
        failure: _Failure
        try:
            async with session.request(
                method,
                url,
                params=params,
                data=content,
                headers=headers,
                timeout=timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as resp:
                body = await self._read_body(resp)
                return resp.status, resp.headers, body
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            not_sent, description = _describe_network_error(exc)
            failure = _Failure(not_sent=not_sent, description=description)
        except RuntimeError:
            if not session.closed:
                raise
            # aclose() closed the session under this request.
            failure = _Failure(not_sent=False, description="the client was closed")
        # Raised outside the except blocks: aiohttp's exception must not ride along.
        raise failure

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        length = resp.content_length
        if length is not None and length <= self._max_body:
            return await resp.read()
        chunks = bytearray()
        async for chunk in resp.content.iter_chunked(1 << 16):
            chunks += chunk
            if len(chunks) > self._max_body:
                raise _TooLarge(resp.status, resp.headers, self._max_body)
        return bytes(chunks)

    def _transport_error(
        self,
        failure: _Failure,
        method: str,
        url: str,
        attempts: int,
        idempotent: bool,
        json: Any,
        content: bytes | None,
    ) -> TransportError:
        if not idempotent and not failure.not_sent:
            return OutcomeUnknownError(
                f"{method} {url.split('?')[0]}: {failure.description} after the request was "
                "sent; the platform may or may not have stored it. Do not resend blindly; look "
                "it up first (e.g. client.patients.search_by_nik(err.nik)).",
                method=method,
                url=url,
                attempts=attempts,
                payload=json if json is not MISSING else None,
            )
        tries = f" after {attempts} attempt(s)" if attempts > 1 else ""
        return TransportError(
            f"{method} {url.split('?')[0]}: {failure.description}{tries} — check the network "
            "and the base URL, then try again",
            method=method,
            url=url,
            attempts=attempts,
        )


class _TooLarge(Exception):
    """Internal: the body passed the size limit; carries what an error needs."""

    def __init__(self, status: int, headers: CIMultiDictProxy[str], limit: int) -> None:
        super().__init__(f"response body larger than {limit} bytes")
        self.status = status
        self.headers = headers
        self.limit = limit
