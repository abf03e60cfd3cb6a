"""Fixtures for the transaction tests: a sandbox, a client on it, and a stored patient."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _fakes import MakeClient

from sehatmu_async import Identifier, Patient, SehatMuClient
from sehatmu_async.sandbox import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=13) as sb:
        yield sb


@pytest.fixture
def sandbox_client(sandbox: Sandbox, make_client: MakeClient) -> SehatMuClient:
    return make_client(sandbox)


@pytest.fixture
async def patient_ref(sandbox_client: SehatMuClient) -> str:
    """``Patient/{id}`` of a patient stored in the sandbox."""
    created = await sandbox_client.patients.create(
        Patient(identifier=[Identifier.nik("3171012345678901")], gender="male")
    )
    return f"Patient/{created.id}"
