"""A pytest plugin: test your own code against a local SehatMu sandbox.

Installed with the package (entry point ``pytest11``), so the fixtures are there
in any project that has ``sehatmu-async`` and ``pytest-asyncio``::

    async def test_my_import(sehatmu_sandbox):
        client = sehatmu_sandbox.client              # a connected SehatMuClient
        sehatmu_sandbox.faults.fail_rate = 0.05      # 5% of answers become 5xx
        await my_code.import_villages(client)
        assert sehatmu_sandbox.counters.token_requests == 1

Each test gets its own sandbox on a free 127.0.0.1 port, with fresh state.

An ``async def`` test that uses ``sehatmu_sandbox`` or ``sehatmu_client`` runs under
pytest-asyncio whatever its ``asyncio_mode``: in its default strict mode the plugin adds
the ``asyncio`` mark such a test would otherwise need (a test already marked for asyncio
or anyio is left as it is). Other async tests follow the project's own settings.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from ._client import SehatMuClient
from .sandbox import Sandbox, SandboxCounters, SandboxFaults

__all__ = ["SandboxHarness", "sehatmu_client", "sehatmu_sandbox"]

#: The fixtures that make a test an asyncio test.
_FIXTURES = frozenset({"sehatmu_sandbox", "sehatmu_client"})


@attrs.frozen
class SandboxHarness:
    """What the ``sehatmu_sandbox`` fixture yields."""

    #: A client connected to the sandbox (closed after the test).
    client: SehatMuClient
    #: The running sandbox: ``url``, ``client_id``, ``revoke_tokens()``, ``patient_answer``.
    sandbox: Sandbox

    @property
    def faults(self) -> SandboxFaults:
        """Fault knobs; changes apply from the next request."""
        return self.sandbox.faults

    @property
    def counters(self) -> SandboxCounters:
        """What the sandbox has seen: ``requests``, ``token_requests``, ``by_route``."""
        return self.sandbox.counters

    @property
    def url(self) -> str:
        return self.sandbox.url


async def _harness() -> AsyncIterator[SandboxHarness]:
    async with Sandbox() as sandbox:
        client = SehatMuClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url)
        async with client:
            yield SandboxHarness(client=client, sandbox=sandbox)


def _needs_pytest_asyncio(function: Callable[..., Any]) -> Any:
    """Stand-in fixture: this plugin loads in every pytest run, with or without pytest-asyncio."""

    def missing() -> None:
        pytest.fail(
            f"the {function.__name__} fixture needs pytest-asyncio: pip install pytest-asyncio"
        )

    return pytest.fixture(name=function.__name__)(missing)


try:
    import pytest_asyncio

    _async_fixture: Callable[[Callable[..., Any]], Any] = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = _needs_pytest_asyncio


@_async_fixture
async def sehatmu_sandbox() -> AsyncIterator[SandboxHarness]:
    """A running sandbox and a client connected to it."""
    async for harness in _harness():
        yield harness


@_async_fixture
async def sehatmu_client(sehatmu_sandbox: SandboxHarness) -> SehatMuClient:
    """Just the connected client of ``sehatmu_sandbox``."""
    return sehatmu_sandbox.client


# trylast: the innermost wrapper, so the mark is there when pytest-asyncio's own wrapper of
# this hook looks for it on the collected items.
@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    """Mark ``async def`` tests using this plugin's fixtures for pytest-asyncio."""
    outcome = yield
    if _async_fixture is _needs_pytest_asyncio or not inspect.iscoroutinefunction(obj):
        return
    try:
        result = outcome.get_result()
    except BaseException:  # collection errors are pytest's to report
        return
    items = result if isinstance(result, list) else [result]
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and _FIXTURES & set(item.fixturenames)
            and item.get_closest_marker("asyncio") is None
            and item.get_closest_marker("anyio") is None
        ):
            item.add_marker(pytest.mark.asyncio)
