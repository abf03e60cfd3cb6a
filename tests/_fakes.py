"""The suite's one set of fakes: a scripted platform, a fake clock, a fake sleep and one
client builder (a unique module name: tests/ has no packages).

* :class:`ScriptedPlatform`: a real aiohttp server on 127.0.0.1 (in the test's loop, or in
  a thread of its own) with the platform's token endpoint built in; every other answer is
  scripted per route by the test (``on`` for a standing answer, ``script`` for one-shot
  steps answered first). It records every request it receives.
* :class:`FakeClock`: a monotonic clock the test moves by hand.
* :class:`FakeSleep`: stands in for ``asyncio.sleep``: records each delay, moves its clock
  (if it has one) and yields to the loop once, never waits.
* :func:`client_for`: a ``SehatMuClient`` for a platform, a sandbox or a URL, with fast
  retries and the fake sleep.
* :func:`settle`, :func:`other_tasks`, :func:`acquired_connections`: checks that a client
  leaves nothing running behind.

The root ``conftest.py`` turns these into the fixtures ``platform``, ``clock``, ``sleep``
and ``make_client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from _platform_answers import apigee_token
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, MultiDict

from sehatmu_async import RetryPolicy, SehatMuClient
from sehatmu_async.sandbox import Sandbox

#: Credentials of the scripted platform and of clients built for it. Twelve characters or
#: more, so the suite-wide leak scan of ``conftest.py`` looks for them in logs and errors.
CLIENT_ID = "cid-" + "Q7wXr4fuJicFoGt4MwoRp35O6Bg3LaWw"
CLIENT_SECRET = "csec-" + "tFb3el8LGjW08mWcGLyBDdiJp1hwymrA"
TOKEN_PATH = "/oauth2/v1/accesstoken"
TOKEN_ROUTE = ("POST", TOKEN_PATH)

#: The gateway's answer to a bearer token it does not know (seeds/001).
INVALID_TOKEN_FAULT = (
    b'{"fault": {"faultstring": "Invalid access token", '
    b'"detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}'
)
#: The token endpoint's answer to a wrong client id or secret (seeds/001).
BAD_CREDENTIALS = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "invalid",
                "code": "value",
                "details": {
                    "text": "The user or system was not able to be authenticated (either "
                    "client_id or client_secret combination is unacceptable)"
                },
            }
        ],
    }
)

#: Retries that ride out scripted failures quickly; every loop stays bounded.
FAST_RETRY = RetryPolicy(attempts=8, backoff_base=0.005, backoff_cap=0.05, total_timeout=20)

#: What a route answers with: ``async def (request) -> response`` (or a plain function).
Answer = Callable[[web.Request], "Awaitable[web.StreamResponse] | web.StreamResponse"]
Body = bytes | str | Mapping[str, Any] | list[Any]


# -- time ---------------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock the test moves by hand (``clock()`` reads it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, "a monotonic clock never goes back"
        self.now += seconds


class FakeSleep:
    """Stands in for ``asyncio.sleep`` (the client's ``sleep=`` setting).

    Records every delay in :attr:`calls`, advances ``clock`` by it (when given) and yields
    to the event loop once, so a retry loop cannot starve other tasks: it never waits.
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    @property
    def total(self) -> float:
        return sum(self.calls)


# -- answers ------------------------------------------------------------------------------


def response(
    status: int = 200,
    body: Body = b"",
    *,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A response: dicts and lists go out as JSON, text and bytes as they are."""
    if isinstance(body, (Mapping, list)):
        raw = orjson.dumps(body)
        content_type = content_type or "application/json"
    else:
        raw = body.encode() if isinstance(body, str) else body
        content_type = content_type or "text/plain"
    answer = web.Response(status=status, body=raw, headers=headers)
    answer.content_type = content_type
    return answer


def reply(
    status: int = 200,
    body: Body = b"",
    *,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """An answer that is always the same :func:`response`."""

    def answer(_: web.Request) -> web.StreamResponse:
        return response(status, body, content_type=content_type, headers=headers)

    return answer


def json_reply(obj: Any, status: int = 200) -> Answer:
    """An answer with ``obj`` as JSON."""
    return reply(status, orjson.dumps(obj), content_type="application/json")


# -- the platform -------------------------------------------------------------------------


class Received:
    """One request the scripted platform received (the body already read)."""

    def __init__(self, request: web.Request, body: bytes, route: str | None) -> None:
        self.method = request.method
        self.path = request.path
        #: The matched route pattern (``"/fhir-r4/v1/Patient/{id}"``), None if none matched.
        self.route = route
        #: The query string exactly as it arrived, and decoded.
        self.query_string = request.rel_url.raw_query_string
        self.query: MultiDict[str] = MultiDict(request.rel_url.query)
        self.headers: CIMultiDict[str] = CIMultiDict(request.headers)
        self.content_type = request.content_type
        self.body = body
        #: Path parameters of the route (``{"id": "P1"}``).
        self.match: dict[str, str] = {}

    def json(self) -> Any:
        return orjson.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def __repr__(self) -> str:
        query = f"?{self.query_string}" if self.query_string else ""
        return f"<Received {self.method} {self.path}{query}>"


class _Route:
    def __init__(self, method: str, pattern: str) -> None:
        self.method = method.upper()
        self.pattern = pattern
        self.regex = re.compile("^" + _pattern_regex(pattern) + "$")
        self.answer: Answer | None = None
        self.steps: deque[Answer] = deque()

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("*", method):
            return None
        found = self.regex.match(path)
        return None if found is None else found.groupdict()


def _pattern_regex(pattern: str) -> str:
    """aiohttp's route syntax: ``{name}`` is one segment, ``{name:regex}`` a regex."""
    out: list[str] = []
    position = 0
    for found in re.finditer(r"\{(\w+)(?::([^{}]+))?\}", pattern):
        out.append(re.escape(pattern[position : found.start()]))
        out.append(f"(?P<{found.group(1)}>{found.group(2) or '[^/]+'})")
        position = found.end()
    out.append(re.escape(pattern[position:]))
    return "".join(out)


class ScriptedPlatform:
    """A local stand-in for the platform whose answers each test scripts per route.

    ``POST /oauth2/v1/accesstoken`` is built in: it checks the form's credentials against
    :attr:`client_id`/:attr:`client_secret` and issues Apigee-shaped tokens (seeds/001)
    valid until :meth:`revoke_all`. Every other route answers what the test scripted:

    * ``on(method, route, answer)``: the route's standing answer (replaces an earlier one);
    * ``script(method, route, *steps)``: one-shot answers used, in order, before it.

    ``route`` uses aiohttp's syntax (``"/fhir-r4/v1/Patient/{id}"``, ``"/{tail:.*}"``);
    ``method`` may be ``"*"``. Plain paths are tried before patterns, and among patterns
    the one registered last comes first. A path no route matches gets a 404.

    With ``check_auth`` (the default) a data request whose bearer token the platform never
    issued gets the gateway's 401 fault before any answer runs; tokens in scripted token
    answers count as issued.

    Every request is recorded in :attr:`received`, token requests included.
    """

    #: What a recorded request is made into (a folder may add to it).
    received_class: type[Received] = Received

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        check_auth: bool = True,
        token_lifetime: int = 3599,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.check_auth = check_auth
        self.token_lifetime = token_lifetime
        self.received: list[Received] = []
        #: Tokens this platform issued and still accepts.
        self.valid_tokens: set[str] = set()
        self.issued: list[str] = []
        #: When set to an unset event, token requests wait for it (single-flight tests).
        self.token_gate: asyncio.Event | None = None
        self.token_seen = asyncio.Event()
        #: Set at teardown: answers held back with :meth:`hold` end at once.
        self.release = asyncio.Event()
        self.url = ""
        self._routes: list[_Route] = []
        self._server: TestServer | None = None
        self._thread: ServerThread | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.on(*TOKEN_ROUTE, self.issue_token)

    # -- scripting ----------------------------------------------------------------------

    def _route(self, method: str, route: str) -> _Route:
        for known in self._routes:
            if known.method == method.upper() and known.pattern == route:
                return known
        made = _Route(method, route)
        self._routes.append(made)
        return made

    def on(self, method: str, route: str, answer: Answer) -> ScriptedPlatform:
        """Answer every request on ``route`` with ``answer`` (after any scripted steps)."""
        target = self._route(method, route)
        target.answer = answer
        # The newest pattern is tried first, so a later specific pattern beats a catch-all.
        self._routes.remove(target)
        self._routes.append(target)
        return self

    def script(self, method: str, route: str, *steps: Answer) -> ScriptedPlatform:
        """Answer the next requests on ``route`` with ``steps``, one each, in order."""
        target = self._route(method, route)
        target.steps.extend(steps)
        return self

    # -- what it saw ---------------------------------------------------------------------

    @property
    def token_requests(self) -> list[Received]:
        return [r for r in self.received if (r.method, r.path) == TOKEN_ROUTE]

    @property
    def api_requests(self) -> list[Received]:
        """Every request but the token requests."""
        return [r for r in self.received if (r.method, r.path) != TOKEN_ROUTE]

    def requests(self, method: str | None = None, route: str | None = None) -> list[Received]:
        """Requests with this method, on this route pattern or path (None: any)."""
        return [
            r
            for r in self.received
            if (method is None or r.method == method.upper())
            and (route is None or route in (r.route, r.path))
        ]

    def count(self, method: str | None = None, route: str | None = None, **query: str) -> int:
        """How many requests matched, also by query values (``current_page="3"``)."""
        return sum(
            1
            for r in self.requests(method, route)
            if all(r.query.get(k) == v for k, v in query.items())
        )

    # -- building blocks for answers ------------------------------------------------------

    async def issue_token(self, request: web.Request) -> web.StreamResponse:
        """The built-in token endpoint (scripted token answers may call it to pass)."""
        form = await request.post()
        if form.get("client_id") != self.client_id or form.get(
            "client_secret"
        ) != self.client_secret:
            return response(401, BAD_CREDENTIALS, content_type="application/json")
        token = "AT" + secrets.token_hex(16)
        self.issued.append(token)
        self.valid_tokens.add(token)
        return response(200, apigee_token(token, self.client_id, self.token_lifetime))

    def revoke_all(self) -> None:
        """Refuse every token issued so far (as after a key rotation)."""
        self.valid_tokens.clear()

    async def hold(self, seconds: float = 5.0) -> None:
        """Keep an answer back for ``seconds``, or until teardown."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.release.wait(), seconds)

    def slow(self, seconds: float, then: Answer | None = None) -> Answer:
        """An answer that holds back ``seconds`` (see :meth:`hold`), then answers ``then``."""

        async def answer(request: web.Request) -> web.StreamResponse:
            await self.hold(seconds)
            if then is None:
                return response(200, {"ok": True, "slow": True})
            return await run_answer(then, request)

        return answer

    # -- serving ------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        for route in sorted(reversed(self._routes), key=lambda r: "{" in r.pattern):
            params = route.matches(request.method, request.path)
            if params is not None:
                break
        else:
            route, params = None, {}
        received = self.received_class(request, body, route.pattern if route else None)
        received.match = params or {}
        self.received.append(received)
        if (request.method, request.path) == TOKEN_ROUTE:
            self.token_seen.set()
            if self.token_gate is not None:
                await self.token_gate.wait()
        elif self.check_auth and received.bearer not in self.valid_tokens:
            return response(
                401,
                INVALID_TOKEN_FAULT,
                content_type="application/json",
                headers={
                    "WWW-Authenticate": 'Bearer realm="null",error="invalid_token"',
                    "X-Request-Id": f"rid-{len(self.received)}",
                },
            )
        if route is None:
            return response(404, {"error": "no such route in this test"})
        if route.steps:
            answer: Answer | None = route.steps.popleft()
        else:
            answer = route.answer
        if answer is None:
            return response(404, {"error": "nothing scripted for this route"})
        result = await run_answer(answer, request)
        if (request.method, request.path) == TOKEN_ROUTE:
            self._learn_token(result)
        return result

    def _learn_token(self, answer: web.StreamResponse) -> None:
        body = getattr(answer, "body", None)
        if answer.status != 200 or not isinstance(body, bytes):
            return
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            token = orjson.loads(body).get("access_token")
            if isinstance(token, str):
                self.valid_tokens.add(token)

    async def start(self, *, threaded: bool = False) -> ScriptedPlatform:
        """Serve on 127.0.0.1: in this loop, or in a thread with its own loop (then the
        test's loop holds only the client's tasks, for "nothing left running" checks)."""
        if threaded:
            self._thread = ServerThread(self.app)
            self.url = await asyncio.to_thread(self._thread.start)
        else:
            self._server = TestServer(self.app, host="127.0.0.1")
            await self._server.start_server()
            self.url = f"http://127.0.0.1:{self._server.port}"
        return self

    async def close(self) -> None:
        self.release.set()
        if self.token_gate is not None:
            self.token_gate.set()
        if self._server is not None:
            await self._server.close()
            self._server = None
        if self._thread is not None:
            await asyncio.to_thread(self._thread.stop)
            self._thread = None

    async def __aenter__(self) -> ScriptedPlatform:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()


async def run_answer(answer: Answer, request: web.Request) -> web.StreamResponse:
    """Run an answer, plain function or coroutine function alike."""
    result = answer(request)
    if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
        return await result
    return result


class ServerThread:
    """An aiohttp app served from its own event loop in a daemon thread.

    ``with ServerThread(app) as server: server.url``; the test's loop then holds only the
    client's tasks, so "nothing left running" is ``other_tasks(ignore=()) == set()``.
    """

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def start(self) -> str:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(30)
        return self.url

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def _serve(self) -> str:
        runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


# -- clients ------------------------------------------------------------------------------

Target = ScriptedPlatform | Sandbox | str


def client_for(target: Target, **settings: Any) -> SehatMuClient:
    """A client for a scripted platform, a sandbox or a base URL.

    Credentials come from the target (``CLIENT_ID``/``CLIENT_SECRET`` for a URL) unless
    given; ``retry`` defaults to :data:`FAST_RETRY` and ``sleep`` to a fresh
    :class:`FakeSleep`. Any other ``SehatMuClient`` setting passes through.
    """
    if isinstance(target, str):
        url, client_id, client_secret = target, CLIENT_ID, CLIENT_SECRET
    else:
        url, client_id, client_secret = target.url, target.client_id, target.client_secret
    assert url, "start the platform before building a client for it"
    settings.setdefault("base_url", url)
    settings.setdefault("retry", FAST_RETRY)
    settings.setdefault("sleep", FakeSleep())
    return SehatMuClient(
        settings.pop("client_id", client_id),
        settings.pop("client_secret", client_secret),
        **settings,
    )


#: The ``make_client`` fixture: ``make_client(target=the platform fixture, **settings)``.
MakeClient = Callable[..., SehatMuClient]


# -- nothing left behind ------------------------------------------------------------------


async def settle(rounds: int = 20) -> None:
    """Let callbacks, cancellations and closes run: loop turns only, no wall-clock wait
    and no garbage collection (a test that measures collection calls ``gc`` itself)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def other_tasks(ignore: Iterable[str] = ("RequestHandler.",)) -> set[asyncio.Task[Any]]:
    """Tasks still running besides the test's own; an in-process server's keep-alive
    handlers (``RequestHandler.*``) are not the client's and are left out."""
    current = asyncio.current_task()
    prefixes = tuple(ignore)
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and not (prefixes and task.get_coro().__qualname__.startswith(prefixes))  # type: ignore[union-attr]
    }


def acquired_connections(client: SehatMuClient) -> int:
    """Connections the client's pool handed out and has not had back."""
    session = client._session
    if session is None or session.connector is None:
        return 0
    # aiohttp keeps connections handed to responses in ``_acquired`` (private bookkeeping).
    acquired = session.connector._acquired
    assert isinstance(acquired, set)
    return len(acquired)
