"""Answers of the real platform, shared by the test folders' fake servers."""

from __future__ import annotations

from typing import Any


def apigee_token(access_token: str, client_id: str, expires_in: int = 3599) -> dict[str, Any]:
    """The token answer in the Apigee shape of seeds/001 (every number a string)."""
    return {
        "refresh_token_expires_in": "0",
        "api_product_list": "[api-sandbox]",
        "api_product_list_json": ["api-sandbox"],
        "organization_name": "ihs-prod-1",
        "developer.email": "<email-dev>",
        "token_type": "BearerToken",
        "issued_at": "1671109805593",
        "client_id": client_id,
        "access_token": access_token,
        "application_name": "992291b8-a613-40aa-b27c-41e480c7585f",
        "scope": "",
        "expires_in": str(expires_in),
        "refresh_count": "0",
        "status": "approved",
    }
