"""One send: wait for a connection slot, exchange one request, read a bounded body.

Whether a failed request may be repeated depends on whether its bytes may have left
this machine, so every failure says so (:class:`SendFailure`). The pipeline holds its
own connection slots (:class:`Sender`, one permit per pooled connection): waiting for a
busy pool happens here, before aiohttp is asked, so a call that times out while waiting
is provably not sent. aiohttp's own pool wait cannot be told from waiting for an answer
(both end in the same timeout), and tracing signals would cost every request.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from collections import deque
from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDictProxy

from ._body import BodyTooLarge, BodyUndecodable, Inflater, wire_limit

__all__ = [
    "Answer",
    "BadBody",
    "SendFailure",
    "Sender",
    "describe_network_error",
    "slots_for",
]

#: (status, headers, body) of one exchange.
Answer = tuple[int, CIMultiDictProxy[str], bytes]

RETRY_HINT = "check the network and the base URL, then try again"


class SendFailure(Exception):
    """Internal: a request that got no answer, with whether it provably never left.

    It keeps only a description, never aiohttp's exception: those carry the request's
    headers (the bearer token) and full URL (a NIK in a search) in ``request_info``,
    and error reporters record chained exceptions' attributes.
    """

    def __init__(
        self, *, not_sent: bool, description: str, hint: str = RETRY_HINT, final: bool = False
    ) -> None:
        super().__init__(description)
        self.not_sent = not_sent
        self.description = description
        self.hint = hint
        #: Repeating cannot help (a closed session): never retried.
        self.final = final


class BadBody(Exception):
    """Internal: an answer came but its body is unusable (too large, undecodable)."""

    def __init__(self, status: int, headers: CIMultiDictProxy[str], what: str) -> None:
        super().__init__(what)
        self.status = status
        self.headers = headers
        self.what = what


def describe_network_error(exc: BaseException) -> tuple[bool, str]:
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
        return False, f"the server's answer was not valid HTTP ({_one_line(str(exc.message))})"
    if isinstance(exc, (aiohttp.ClientOSError, ConnectionError, OSError)):
        return False, f"the connection failed ({exc})"
    return False, f"the request failed ({type(exc).__name__})"


def _one_line(text: str, limit: int = 120) -> str:
    # aiohttp's parser quotes the offending bytes, over several lines.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, decoded, refused as soon as it passes ``limit`` bytes."""
    encoding = resp.headers.get("Content-Encoding")
    length = resp.content_length
    if encoding is None or encoding.strip().lower() == "identity":
        if length is not None:
            if length > limit:
                raise BodyTooLarge
            return await resp.read()
        body = bytearray()
        async for chunk in resp.content.iter_any():
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge
        return bytes(body)
    inflater = Inflater(encoding.strip().lower(), limit)
    cap = wire_limit(limit)
    if length is not None and length > cap:
        raise BodyTooLarge
    received = 0
    async for chunk in resp.content.iter_any():
        received += len(chunk)
        if received > cap:
            raise BodyTooLarge
        inflater.feed(chunk)
        while True:
            if not inflater.step():
                break
            await asyncio.sleep(0)  # a large body inflates in slices, not in one stall
    return inflater.finish()


def slots_for(connection_limit: int, session: aiohttp.ClientSession | None) -> int:
    """Requests in flight at once: the client's limit, within a borrowed connector's."""
    slots = connection_limit
    connector = session.connector if session is not None else None
    if connector is not None:
        for limit in (connector.limit, connector.limit_per_host):
            if limit:  # 0 means unlimited
                slots = min(slots, limit)
    return slots


class _Slots:
    """Connection slots: a counter on the fast path, first come first served when full.

    Cheaper than ``asyncio.Semaphore`` on the path every request takes (no coroutine,
    no waiter scan when a slot is free).
    """

    __slots__ = ("free", "size", "waiters")

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self.waiters: deque[asyncio.Future[None]] = deque()

    def release(self) -> None:
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # handed straight to the next in line
                return
        self.free += 1

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a slot; False if none came."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            pass
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as this caller was cancelled
            raise
        else:
            return True
        if waiter.done() and not waiter.cancelled():
            self.release()  # handed over just as the time ran out
        return False


class Sender:
    """Sends one request per connection slot at a time; built once per client."""

    __slots__ = ("_max_body", "_slots", "_ssl", "_timeout", "_total")

    def __init__(
        self,
        *,
        slots: int,
        timeout: aiohttp.ClientTimeout,
        ssl: ssl.SSLContext | bool,
        max_body: int,
    ) -> None:
        self._slots = _Slots(slots)
        self._timeout = timeout
        self._total = math.inf if timeout.total is None else timeout.total
        self._ssl = ssl
        self._max_body = max_body

    async def send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        budget: float,
    ) -> Answer:
        """One exchange within ``budget`` seconds (and the per-attempt timeout)."""
        if budget <= 0:
            raise SendFailure(
                not_sent=True,
                description="the call's total time budget ran out",
                hint="raise RetryPolicy.total_timeout, or try again later",
            )
        allowed = min(budget, self._total)
        slots = self._slots
        if slots.free and not slots.waiters:
            slots.free -= 1
        else:
            allowed = await self._wait_for_slot(allowed)
        try:
            timeout = self._timeout
            if allowed < self._total:
                timeout = aiohttp.ClientTimeout(
                    total=allowed,
                    connect=timeout.connect,
                    sock_connect=timeout.sock_connect,
                    sock_read=timeout.sock_read,
                )
            return await self._exchange(session, method, url, params, content, headers, timeout)
        finally:
            slots.release()

    async def _wait_for_slot(self, allowed: float) -> float:
        """Wait for a connection slot; what is left of ``allowed`` once it is free."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if await self._slots.wait(allowed):
            return allowed - (loop.time() - started)
        raise SendFailure(
            not_sent=True,
            description=f"every pooled connection ({self._slots.size}) stayed busy until the "
            "timeout, so it was not sent",
            hint="raise connection_limit or the timeout, or make fewer calls at once",
        )

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
    ) -> Answer:
        failure: SendFailure
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
                auto_decompress=False,  # read_body inflates, within the size limit
            ) as resp:
                try:
                    body = await read_body(resp, self._max_body)
                except BodyTooLarge:
                    what = f"the answer is larger than {self._max_body} bytes"
                except BodyUndecodable as exc:
                    what = f"the answer cannot be decoded: {exc}"
                else:
                    return resp.status, resp.headers, body
                raise BadBody(resp.status, resp.headers, what)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            not_sent, description = describe_network_error(exc)
            failure = (
                _closed_session(not_sent)
                if session.closed
                else SendFailure(not_sent=not_sent, description=description)
            )
        except RuntimeError:
            if not session.closed:
                raise
            # aiohttp refuses a closed session before writing anything.
            failure = _closed_session(not_sent=True)
        # Raised outside the except blocks: aiohttp's exception must not ride along.
        raise failure


def _closed_session(not_sent: bool) -> SendFailure:
    """The session was closed under the request (aclose(), or a borrowed one's owner)."""
    return SendFailure(
        not_sent=not_sent,
        description="the aiohttp session was closed",
        hint="keep a session given as session= open while the client is in use",
        final=True,
    )
