"""The ``Sandbox``: a real aiohttp server speaking the SehatMu API, with fault knobs."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from . import _patient_routes, _regions
from ._access_log import PathOnlyAccessLogger
from ._auth import TOKEN_PATH, bearer_auth, token
from ._counters import SandboxCounters
from ._data import load_regions
from ._faults import SandboxFaults
from ._fhir_routes import add_routes as add_fhir_routes
from ._middleware import bookkeeping, inject_faults
from ._state import PATIENT_ANSWERS, STATE, TOKEN_ROUTE, PatientAnswer, SandboxState
from ._tokens import TokenStore
from ._transactions import add_routes as add_transaction_routes

# In-flight requests get this long to finish on stop (a slow create may be sleeping).
_SHUTDOWN_TIMEOUT_S = 1.0


class Sandbox:
    """A local SehatMu server on the loopback interface, for tests, demos and the CLI."""

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        faults: SandboxFaults | None = None,
        seed: int | None = None,
        patient_answer: PatientAnswer = "fhir",
        clock: Callable[[], float] = time.monotonic,
        require_user_agent: bool = True,
    ) -> None:
        if patient_answer not in PATIENT_ANSWERS:
            raise ValueError(f"patient_answer must be one of {PATIENT_ANSWERS}")
        self._state = SandboxState(
            client_id=client_id if client_id is not None else secrets.token_urlsafe(24),
            client_secret=client_secret if client_secret is not None else secrets.token_urlsafe(48),
            faults=faults if faults is not None else SandboxFaults(),
            counters=SandboxCounters(),
            tokens=TokenStore(clock),
            # Fault dice, seedable for reproducible tests; nothing secret is drawn from it.
            rng=random.Random(seed),
            patient_answer=patient_answer,
            require_user_agent=require_user_agent,
            application_name=str(uuid.uuid4()),
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        # No credentials: a client id is secret-grade too.
        return f"<Sandbox url={self._url!r} patient_answer={self.patient_answer!r}>"

    @property
    def client_id(self) -> str:
        return self._state.client_id

    @property
    def client_secret(self) -> str:
        return self._state.client_secret

    @property
    def faults(self) -> SandboxFaults:
        return self._state.faults

    @faults.setter
    def faults(self, faults: SandboxFaults) -> None:
        self._state.faults = faults

    @property
    def counters(self) -> SandboxCounters:
        return self._state.counters

    @property
    def patient_answer(self) -> PatientAnswer:
        return self._state.patient_answer

    @patient_answer.setter
    def patient_answer(self, answer: PatientAnswer) -> None:
        if answer not in PATIENT_ANSWERS:
            raise ValueError(f"patient_answer must be one of {PATIENT_ANSWERS}")
        self._state.patient_answer = answer

    @property
    def require_user_agent(self) -> bool:
        return self._state.require_user_agent

    @require_user_agent.setter
    def require_user_agent(self, required: bool) -> None:
        self._state.require_user_agent = required

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox is not running: await sandbox.start() first")
        return self._url

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not running: await sandbox.start() first")
        return self._port

    def revoke_tokens(self) -> None:
        """Every token issued so far becomes invalid (a 401 on its next use)."""
        self._state.tokens.revoke_all()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        # The first load in a process parses ~90,000 regions: keep it off the event loop.
        await asyncio.to_thread(load_regions)
        runner = web.AppRunner(
            make_app(self),
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            # aiohttp's default logs query strings, and a Patient search carries a NIK.
            access_log_class=PathOnlyAccessLogger,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        shown_host = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown_host}:{self._port}"
        # Periodic revocation counts from now.
        self._state.tokens.tick(self.faults.revoke_every_s)
        return self._url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._url = self._port = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def make_app(sandbox: Sandbox) -> web.Application:
    """The sandbox's aiohttp application, e.g. for aiohttp's pytest test server.

    Every application made for one sandbox shares its tokens, patients and counters.
    Serve it with ``access_log_class=PathOnlyAccessLogger`` (``sehatmu_async.sandbox``;
    for aiohttp's ``TestServer``, an argument of ``start_server``): aiohttp's default
    access log writes query strings, NIKs included.
    """
    # Outermost first: count and stamp every request, then faults, then the token check.
    app = web.Application(middlewares=[bookkeeping, inject_faults, bearer_auth])
    app[STATE] = sandbox._state
    app.router.add_post(TOKEN_PATH, token, name=TOKEN_ROUTE)
    _regions.add_routes(app.router)
    _patient_routes.add_routes(app.router)
    add_fhir_routes(app.router)  # after Patient's: its routes match first
    add_transaction_routes(app.router)  # POST /fhir-r4/v1, the FHIR base itself
    return app
