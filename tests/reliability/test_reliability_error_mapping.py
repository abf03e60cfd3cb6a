"""Refusals map to the error a user can act on, whatever status the platform chose."""

from __future__ import annotations

import pytest
from _fakes import ScriptedPlatform, client_for, json_reply

from sehatmu_async import ConfigurationError, PermissionDeniedError, SehatMuClient


async def test_business_rule_refusal_is_permission_denied_whatever_the_status() -> None:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "value", "details": {
            "text": "resource cannot be accessed due to business rule"}}],
    }
    async with ScriptedPlatform() as fake:
        fake.on("GET", "/fhir-r4/v1/Patient/{id}", json_reply(body, status=400))
        async with client_for(fake) as client:
            with pytest.raises(PermissionDeniedError):
                await client.patients.get("P02029100001")


def test_base_url_with_user_and_password_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="user:password"):
        SehatMuClient("id", "secret", base_url="http://user:pass@127.0.0.1:8080")
