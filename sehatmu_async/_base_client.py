"""Transport: one request pipeline for every call of the client, in four small layers.

1. :meth:`BaseClient.request` encodes the payload and builds the :class:`~._pipeline.Call`,
   then turns the final answer into a :class:`Response` or a typed error.
2. :meth:`BaseClient._renewed` renews the access token once when the platform answers
   401 (a token revoked early, a restarted gateway) and repeats the call.
3. :meth:`BaseClient._attempts` attaches the token, waits for the rate limiter and
   repeats what is safe to repeat, with back-off, within the call's total time budget
   (:class:`RetryPolicy`).
4. :meth:`._send.Sender.send` makes one send: a connection slot, the exchange, and the
   body read within ``max_body_bytes`` (:mod:`._body`).

Whether a failure may be retried depends on whether repeating the request is safe.
``idempotent=False`` (Patient create) is repeated only when the request provably never
left this machine: the connection was refused, the name did not resolve, connecting
timed out, every pooled connection stayed busy, or the rate limiter held it. Anything
after that — a timeout while waiting, a reset, a 5xx — raises
:class:`OutcomeUnknownError` instead, because the platform may already have stored the
resource and refuses a resend as duplicate.

Decisions:

* **One renewal per call.** A 401 on a call whose token was renewed during that same
  call is reported as the platform refusing a token it had just issued (an
  :class:`AuthenticationError` that does not blame the credentials); the token is
  forgotten so the next call asks for a new one, but this call does not renew again.
  A second renewal would almost always meet the same refusal, and under load every
  caller would spend a token request on it (the token endpoint is rate-limited).
* **Borrowed sessions.** With ``session=``, the pool is shared with requests this client
  cannot see. The client holds at most as many requests in flight as that session's
  connector allows, so its own calls wait for the pool here (not sent); a wait inside
  aiohttp caused by the session's other users cannot be told from a lost answer, and a
  create that times out there stays an :class:`OutcomeUnknownError` (never a duplicate).
* **One event loop.** A client, its session and its token cache belong to the loop that
  first used it; another loop gets a :class:`ConfigurationError` saying so.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import sys
from collections.abc import Awaitable, Callable, Container, Mapping
from datetime import datetime, timezone
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp

from . import _pipeline as errs
from ._auth import TokenCache
from ._body import ACCEPT_ENCODING
from ._config import check_client_settings
from ._pipeline import Call, Response, log_attempt, redacted_url
from ._rate_limit import RateLimiter, bind_rate_limiter
from ._retry import RetryPolicy, parse_retry_after
from ._send import Answer, BadBody, Sender, SendFailure, slots_for
from ._token import AccessToken, decode_token
from ._token_store import TokenStore
from ._version import __version__
from .errors import ConfigurationError

__all__ = ["DEFAULT_MAX_BODY", "MISSING", "BaseClient", "Response"]

logger = logging.getLogger("sehatmu_async")

MISSING: Final[Any] = object()
TOKEN_PATH = "/oauth2/v1/accesstoken"  # noqa: S105 (a path, not a secret)
DEFAULT_MAX_BODY = 32 * 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]

_CLOSED = "this client is closed; create a new SehatMuClient"


class BaseClient:
    """Holds the session, token cache and the pipeline. :class:`SehatMuClient` builds on it."""

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
        rate_limiter: RateLimiter | None = None,
        token_failure_cooldown: float = 60.0,
        token_store: TokenStore | None = None,
    ) -> None:
        check_client_settings(client_id, client_secret, connection_limit, verify_tls)
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a sehatmu_async.RetryPolicy")
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise ConfigurationError("rate_limiter must have async acquire() and pause(seconds)")
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
        # A fleet limiter keys its shared state by this client (a hash of the client id).
        self._rate_limiter = (
            bind_rate_limiter(rate_limiter, base_url, client_id)
            if rate_limiter is not None
            else None
        )
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._base_headers = {
            "User-Agent": self.user_agent,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._sender = Sender(
            slots=slots_for(connection_limit, session),
            timeout=timeout,
            ssl=self._ssl,
            max_body=max_body_bytes,
        )
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

    # -- session and loop ----------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConfigurationError(_CLOSED)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
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

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not None:
            raise errs.other_loop_error()
        self._loop = loop

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
        self._get_session()  # a closed client or another loop is refused here
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

    # -- layer 1: encode, build, and turn the final answer into a result -------------

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
        answer_statuses: Container[int] = (),
    ) -> Response:
        """Send one logical request; return its 2xx answer or raise a typed error.

        A final answer (after the 401 renewal and any retries) whose status is in
        ``answer_statuses`` is returned too, for a resource that decodes that refusal
        itself (a transaction's 4xx ``Bundle``).
        """
        session = self._get_session()
        payload = None
        if json is not MISSING:
            payload = json
            content = errs.encode_json(method, path, json)
            content_type = content_type or "application/json"
        headers = dict(self._base_headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        call = Call(
            method,
            path,
            self.base_url + path,
            redacted_url(self.base_url, path, params),
            params,
            content,
            headers,
            idempotent,
            auth,
            token_endpoint,
            payload,
            self._clock() + self.retry.total_timeout,
        )
        try:
            answer = await self._attempts(session, call)
            if answer[0] == 401 and call.token is not None:
                answer = await self._renewed(session, call, answer)
        except BadBody as bad:
            raise errs.unusable_body(call, bad) from None
        status, resp_headers, body = answer
        if 200 <= status < 300 or status in answer_statuses:
            return Response(status, resp_headers, body, call.context(status, resp_headers))
        raise errs.error_for_answer(call, answer)

    # -- layer 2: the access token's one renewal -------------------------------------

    async def _renewed(self, session: aiohttp.ClientSession, call: Call, answer: Answer) -> Answer:
        """After a 401: forget the refused token, renew it once and repeat the call.

        Not wrapped around the hot path as an extra coroutine: ``request`` calls it only
        when a 401 came for a token.
        """
        refused = call.token
        if refused is not None:  # the token died early (revoked, gateway restart)
            self._tokens.invalidate(refused)
        if call.renewed:
            raise errs.fresh_token_refused(call, answer)
        call.renewed = True
        call.attempts -= 1  # the refused attempt does not count against the policy
        logger.debug("%s %s -> 401 renewing token", call.method, call.path)
        answer = await self._attempts(session, call)
        if answer[0] == 401 and call.token is not None:
            return await self._renewed(session, call, answer)
        return answer

    # -- layer 3: attempts and back-off ----------------------------------------------

    async def _attempts(self, session: aiohttp.ClientSession, call: Call) -> Answer:
        while True:
            call.attempts += 1
            if self._closed:
                raise errs.closed_error(call, sent=False)
            started = self._clock()
            if call.auth:
                token = call.token = await self._tokens.get()
                call.headers["Authorization"] = token.authorization()
            failure: SendFailure | None = None
            try:
                if self._rate_limiter is not None and not call.token_endpoint:
                    await self._take_turn(call)
                answer = await self._sender.send(
                    session,
                    call.method,
                    call.url,
                    call.params,
                    call.content,
                    call.headers,
                    call.deadline - self._clock(),
                )
            except SendFailure as caught:
                failure = caught  # handled below, so the error raised carries no context
            if failure is not None:
                retry_in = self._failure_delay(call, failure)
                log_attempt(call, failure.description, started, self._clock, retry_in)
                if retry_in is None:
                    raise self._failure_error(call, failure)
            else:
                retry_in = (
                    await self._answer_delay(call, answer)
                    if self.retry.retryable_status(answer[0])
                    else None
                )
                log_attempt(call, answer[0], started, self._clock, retry_in)
                if retry_in is None:
                    return answer
            await self._sleep(retry_in)

    def _failure_error(self, call: Call, failure: SendFailure) -> Exception:
        if self._closed:
            return errs.closed_error(call, sent=not failure.not_sent)
        return errs.failure_error(call, failure)

    def _failure_delay(self, call: Call, failure: SendFailure) -> float | None:
        allowed = (call.idempotent or failure.not_sent) and not failure.final
        return self._retry_delay(call, None, allowed=allowed)

    async def _answer_delay(self, call: Call, answer: Answer) -> float | None:
        """For a retryable status: the wait before repeating it, or None."""
        status, headers = answer[0], answer[1]
        server_wait = parse_retry_after(headers.get("Retry-After"))
        if status == 429 and server_wait is not None and self._rate_limiter is not None:
            # Everyone sharing the limiter holds back, not only this call.
            limiter = self._rate_limiter
            if not await self._within_budget(call, limiter.pause(server_wait)):
                return None
        if not call.idempotent:
            return None
        return self._retry_delay(call, server_wait, allowed=True)

    def _retry_delay(self, call: Call, server_wait: float | None, *, allowed: bool) -> float | None:
        """Seconds to wait before the next attempt, or None if there is none."""
        policy = self.retry
        if not allowed or self._closed or call.attempts >= policy.attempts:
            return None
        if server_wait is not None:
            if server_wait > policy.retry_after_cap:
                return None
            delay = server_wait
        else:
            delay = policy.backoff(call.attempts, self._rng)
        if self._clock() + delay >= call.deadline:
            return None
        return delay

    # -- the rate limiter --------------------------------------------------------------

    async def _take_turn(self, call: Call) -> None:
        """Wait for the rate limiter's turn within the call's budget (never sent if not)."""
        limiter = self._rate_limiter
        if limiter is not None and not await self._within_budget(call, limiter.acquire()):
            raise errs.limiter_held("back")

    async def _within_budget(self, call: Call, waiting: Awaitable[None]) -> bool:
        """Await the rate limiter within what is left of the call's budget; False if not."""
        remaining = max(call.deadline - self._clock(), 0.0)
        try:
            if sys.version_info >= (3, 11):
                async with asyncio.timeout(remaining):  # no task per call, unlike wait_for
                    await waiting
            else:
                await asyncio.wait_for(waiting, remaining)
        except asyncio.TimeoutError:
            return False
        return True
