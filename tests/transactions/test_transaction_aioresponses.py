"""client.fhir.transaction over a mocked transport (aioresponses): one POST, never two."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from _aioresponses_compat import compat_aioresponses
from _fakes import CLIENT_ID, CLIENT_SECRET, FAST_RETRY, FakeSleep
from _platform_answers import apigee_token
from _transaction_helpers import visit

from sehatmu_async import OutcomeUnknownError, SehatMuClient, TransactionError

BASE = "https://api.test"
TRANSACTION_URL = BASE + "/fhir-r4/v1"


@pytest.fixture
def mocked() -> Iterator[Any]:
    with compat_aioresponses() as m:
        m.post(
            re.compile(r"https://api\.test/oauth2/v1/accesstoken.*"),
            payload=apigee_token("tok-" + "x" * 20, CLIENT_ID),
            repeat=True,
        )
        yield m


def posts(mocked: Any) -> int:
    return sum(
        len(found)
        for (method, url), found in mocked.requests.items()
        if method == "POST" and url.path == "/fhir-r4/v1"
    )


def client() -> SehatMuClient:
    return SehatMuClient(
        CLIENT_ID, CLIENT_SECRET, base_url=BASE, retry=FAST_RETRY, sleep=FakeSleep()
    )


@pytest.mark.parametrize(
    "failure",
    [asyncio.TimeoutError(), ConnectionResetError("reset by peer")],
)
async def test_a_failure_after_sending_is_outcome_unknown_after_one_post(
    mocked: Any, failure: Exception
) -> None:
    mocked.post(TRANSACTION_URL, exception=failure, repeat=True)
    bundle, _ = visit()
    async with client() as api:
        with pytest.raises(OutcomeUnknownError) as caught:
            await api.fhir.transaction(bundle)
    assert posts(mocked) == 1
    assert caught.value.resource_type == "Bundle"
    assert caught.value.payload == bundle.to_wire()


async def test_a_503_is_sent_once(mocked: Any) -> None:
    mocked.post(TRANSACTION_URL, status=503, body="no healthy upstream", repeat=True)
    async with client() as api:
        with pytest.raises(OutcomeUnknownError):
            await api.fhir.transaction(visit()[0])
    assert posts(mocked) == 1


async def test_a_refusal_names_the_entry(mocked: Any) -> None:
    bundle, refs = visit()
    mocked.post(
        TRANSACTION_URL,
        status=400,
        payload={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "value",
                    "details": {"text": "Invalid coding system (RuleNumber: 10002)"},
                    "diagnostics": f"entry {refs['pulse']}",
                }
            ],
        },
    )
    async with client() as api:
        with pytest.raises(TransactionError) as caught:
            await api.fhir.transaction(bundle)
    assert caught.value.first_failure is not None
    assert caught.value.first_failure.index == 3
    assert "entry 3 (Observation)" in str(caught.value)
    assert posts(mocked) == 1
