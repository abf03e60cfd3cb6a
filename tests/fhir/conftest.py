"""Fixtures for the FHIR tests: a sandbox, a client on it, and a patient stored in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _fakes import MakeClient
from _fhir_helpers import organization, patient

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=7) as sb:
        yield sb


@pytest.fixture
def sandbox_client(sandbox: Sandbox, make_client: MakeClient) -> SehatMuClient:
    return make_client(sandbox)


@pytest.fixture
async def stored(sandbox_client: SehatMuClient) -> dict[str, Any]:
    """Ids of a Patient and an Organization already in the sandbox."""
    pat = await sandbox_client.patients.create(patient())
    org = await sandbox_client.fhir.create(organization())
    return {"patient": pat.id, "organization": org["id"]}
