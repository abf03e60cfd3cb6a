"""``SehatMuClient``: the one object users hold."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType

import aiohttp

from ._base_client import DEFAULT_MAX_BODY, BaseClient
from ._config import env_settings, resolve_base_url, resolve_timeout
from ._rate_limit import RateLimiter
from ._retry import RetryPolicy
from ._token_store import TokenStore
from .resources._fhir import Fhir
from .resources._patients import Patients
from .resources._regions import Regions

__all__ = ["SehatMuClient"]


class SehatMuClient(BaseClient):
    """Async client for the SehatMu (SATUSEHAT) platform.

    ::

        async with SehatMuClient(client_id, client_secret, environment="staging") as client:
            async for village in client.regions.pull("sub_districts"):
                ...

    One client is meant to live long and be shared: its token cache, connection
    pool and retry policy serve every concurrent call. It opens its own
    ``aiohttp.ClientSession`` lazily inside the running loop and closes it on
    exit, or borrows ``session=`` and leaves that open. ``rate_limiter=`` (a
    :class:`~sehatmu_async._rate_limit.RateLimiter`) paces every request but the token
    request and hears the platform's ``429 Retry-After``.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
        retry: RetryPolicy | None = None,
        connection_limit: int = 100,
        verify_tls: bool = True,
        user_agent: str | None = None,
        session: aiohttp.ClientSession | None = None,
        trust_env: bool = False,
        token_soft_window: float = 300.0,
        token_hard_window: float = 60.0,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
        rate_limiter: RateLimiter | None = None,
        token_failure_cooldown: float = 60.0,
        token_store: TokenStore | None = None,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            base_url=resolve_base_url(environment, base_url),
            timeout=resolve_timeout(timeout),
            retry=retry if retry is not None else RetryPolicy(),
            connection_limit=connection_limit,
            verify_tls=verify_tls,
            user_agent=user_agent,
            session=session,
            trust_env=trust_env,
            clock=clock or time.monotonic,
            sleep=sleep or asyncio.sleep,
            rng=rng,
            token_soft_window=token_soft_window,
            token_hard_window=token_hard_window,
            max_body_bytes=max_body_bytes,
            rate_limiter=rate_limiter,
            token_failure_cooldown=token_failure_cooldown,
            token_store=token_store,
        )
        #: Master Wilayah: ``.v1`` lists, v2 pagers and the bulk ``pull``.
        self.regions: Regions = Regions(self)
        #: Master Patient Index: create, patch, get, search by NIK.
        self.patients: Patients = Patients(self)
        #: Every FHIR resource type: create, read, update, patch, search, reconcile.
        self.fhir: Fhir = Fhir(self, clock=self._clock)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **settings: object
    ) -> SehatMuClient:
        """Build from ``SEHATMU_CLIENT_ID``, ``SEHATMU_CLIENT_SECRET`` and
        ``SEHATMU_BASE_URL`` (wins) or ``SEHATMU_ENVIRONMENT``; ``settings`` are passed on."""
        found = env_settings(environ)
        if found["base_url"]:
            found["environment"] = None
        return cls(
            str(found["client_id"]),
            str(found["client_secret"]),
            environment=found["environment"],
            base_url=found["base_url"],
            **settings,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        # The client id is secret-grade too: one id belongs to exactly one organization.
        return f"SehatMuClient(base_url={self.base_url!r}, client_id='<hidden>')"

    __str__ = __repr__

    async def __aenter__(self) -> SehatMuClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
