"""Fixtures shared by every test folder (keep small: folder fixtures live with their tests)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest
from _fakes import FakeClock, FakeSleep, MakeClient, ScriptedPlatform, Target, client_for

from sehatmu_async import SehatMuClient

#: Loggers of aiohttp's server side (the fake platforms tests run), not of the SDK.
_SERVER_LOGGERS = ("aiohttp.access", "aiohttp.server", "aiohttp.web")


class SecretScan:
    """Collects texts that users could see (logs, exceptions, reprs) and checks for secrets.

    Log records come from ``caplog`` at DEBUG for every client-side logger. Objects handed to
    :meth:`add` are scanned through ``str``, ``repr``, ``args``, their attributes and,
    for exceptions, their whole ``__cause__``/``__context__`` chain and traceback text.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self._objects: list[object] = []

    def records(self) -> list[logging.LogRecord]:
        """Records of the SDK's side: a local test server's own access log is not scanned."""
        return [r for r in self._caplog.records if not r.name.startswith(_SERVER_LOGGERS)]

    def add(self, *objects: object) -> None:
        self._objects.extend(objects)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every scanned text."""
        for record in self.records():
            where = f"log record {record.name}:{record.levelname}"
            yield where, record.getMessage()
            yield where, repr(record.args)
            yield where, str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                yield where, "".join(traceback.format_exception(record.exc_info[1]))
        for obj in self._objects:
            yield from _object_texts(obj)

    def assert_clean(self, *secrets: str) -> None:
        secrets = tuple(s for s in secrets if s)
        assert secrets, "nothing to scan for"
        for where, text in self.texts():
            for secret in secrets:
                assert secret not in text, f"secret {secret[:4]}… leaked in {where}: {text!r}"


def _object_texts(obj: object, seen: set[int] | None = None) -> Iterable[tuple[str, str]]:
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    where = f"{type(obj).__name__} object"
    yield where, str(obj)
    yield where, repr(obj)
    if isinstance(obj, BaseException):
        yield where, repr(obj.args)
        yield where, "".join(traceback.format_exception(obj))
        for attr, value in vars(obj).items():
            yield f"{where}.{attr}", repr(value)
        for linked in (obj.__cause__, obj.__context__):
            if linked is not None:
                yield from _object_texts(linked, seen)


@pytest.fixture
def secret_scan(caplog: pytest.LogCaptureFixture) -> SecretScan:
    """Capture logs at DEBUG; ``secret_scan.add(exc)``, then ``assert_clean(secret, ...)``."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sehatmu_async")
    return SecretScan(caplog)


# -- the suite-wide leak scan ------------------------------------------------------------
#
# Every test of the suite runs under this fixture: it learns each secret-grade value the
# test creates (client secrets handed to a client, sandbox credentials, access tokens the
# SDK decodes or the sandbox issues), captures every log record at DEBUG and every SDK
# exception created, and fails the test if any of them shows one of those values.

_MIN_SECRET = 12  # shorter literals ("secret", "id") would match innocent text


class _LeakWatch:
    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.errors: list[BaseException] = []

    def learn(self, value: object) -> None:
        if isinstance(value, str) and len(value) >= _MIN_SECRET:
            self.secrets.add(value)


@pytest.fixture(autouse=True)
def _no_secret_leaks(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    from sehatmu_async import _auth, _base_client, errors
    from sehatmu_async.sandbox import _tokens
    from sehatmu_async.sandbox._server import Sandbox

    watch = _LeakWatch()
    caplog.set_level(logging.DEBUG, logger="sehatmu_async")

    # The client's credentials, learnt where its token cache is built (a wrapper around
    # the client's own __init__ would shift the stack its warnings point at).
    cache_init = _auth.TokenCache.__init__

    def cache_created(self: Any, fetch: Any, **kwargs: Any) -> None:
        owner = getattr(fetch, "__self__", None)
        watch.learn(getattr(owner, "_client_secret", None))
        watch.learn(getattr(owner, "_client_id", None))
        cache_init(self, fetch, **kwargs)

    decode_token = _base_client.decode_token

    def token_decoded(*args: Any, **kwargs: Any) -> Any:
        token = decode_token(*args, **kwargs)
        watch.learn(token.access_token)
        return token

    issue = _tokens.TokenStore.issue

    def token_issued(self: Any, *args: Any, **kwargs: Any) -> str:
        token = issue(self, *args, **kwargs)
        watch.learn(token)
        return token

    sandbox_init = Sandbox.__init__

    def sandbox_created(self: Any, *args: Any, **kwargs: Any) -> None:
        sandbox_init(self, *args, **kwargs)
        watch.learn(self.client_secret)
        watch.learn(self.client_id)

    error_init = errors.SehatMuError.__init__

    def error_created(self: BaseException, *args: Any, **kwargs: Any) -> None:
        error_init(self, *args, **kwargs)  # type: ignore[arg-type]
        watch.errors.append(self)

    monkeypatch.setattr(_auth.TokenCache, "__init__", cache_created)
    monkeypatch.setattr(_base_client, "decode_token", token_decoded)
    monkeypatch.setattr(_tokens.TokenStore, "issue", token_issued)
    monkeypatch.setattr(Sandbox, "__init__", sandbox_created)
    monkeypatch.setattr(errors.SehatMuError, "__init__", error_created)
    yield
    texts: list[tuple[str, str]] = []
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        if record.name.startswith("sehatmu_async") or record.levelno >= logging.WARNING:
            texts.append((f"log {record.name}", record.getMessage()))
    for error in watch.errors:
        texts.append((type(error).__name__, f"{error!s} {error!r} {error.args!r}"))
    for where, text in texts:
        for secret in watch.secrets:
            assert secret not in text, f"a secret ({secret[:3]}…) leaked into {where}"


# -- the shared fakes (tests/_fakes.py) as fixtures ----------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock at 1000.0."""
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    """A fake ``asyncio.sleep`` that records its delays and advances ``clock``."""
    return FakeSleep(clock)


@pytest.fixture
async def platform() -> AsyncIterator[ScriptedPlatform]:
    """A started :class:`~_fakes.ScriptedPlatform`; script it with ``on``/``script``."""
    async with ScriptedPlatform() as fake:
        yield fake


@pytest.fixture
async def make_client(
    request: pytest.FixtureRequest, sleep: FakeSleep
) -> AsyncIterator[MakeClient]:
    """``make_client(target=None, **settings)``: a client for ``target`` (a platform, a
    sandbox or a URL; by default the test's ``platform`` fixture, which the test must then
    request) with fast retries and the ``sleep`` fixture; all closed at teardown."""
    made: list[SehatMuClient] = []

    def build(target: Target | None = None, **settings: Any) -> SehatMuClient:
        if target is None:
            assert "platform" in request.fixturenames, "request the platform fixture too"
            target = request.getfixturevalue("platform")
        settings.setdefault("sleep", sleep)
        client = client_for(target, **settings)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()
