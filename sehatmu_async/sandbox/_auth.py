"""The OAuth2 client_credentials endpoint and the bearer check on every other route.

Nothing here logs a credential or a token.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from ._responses import gateway_fault, json_response
from ._state import STATE, TOKEN_ROUTE
from ._tokens import TokenState

TOKEN_PATH = "/oauth2/v1/accesstoken"  # noqa: S105 - a URL path, not a password
BAD_CREDENTIALS = (
    "The user or system was not able to be authenticated "
    "(either client_id or client_secret combination is unacceptable)"
)


def _token_error(text: str, status: int) -> web.Response:
    # The token endpoint's documented 4xx: an OperationOutcome with severity "invalid".
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "invalid", "code": "value", "details": {"text": text}}],
    }
    return json_response(body, status)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def token(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if state.require_user_agent and not request.headers.get("User-Agent"):
        return _token_error("User-Agent header is required", 400)
    if request.rel_url.query.get("grant_type") != "client_credentials":
        return _token_error("grant_type must be client_credentials", 400)
    form = await request.post()
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if not (
        isinstance(client_id, str)
        and isinstance(client_secret, str)
        # Both compared, always, so the answer time says nothing about which was wrong.
        and _same(client_id, state.client_id) & _same(client_secret, state.client_secret)
    ):
        return _token_error(BAD_CREDENTIALS, 401)
    ttl = state.faults.token_ttl_s
    body: dict[str, Any] = {
        "refresh_token_expires_in": "0",
        "api_product_list": "[api-sandbox]",
        "api_product_list_json": ["api-sandbox"],
        "organization_name": "ihs-sandbox",
        "developer.email": "developer@sandbox.invalid",
        "token_type": "BearerToken",
        "issued_at": str(time.time_ns() // 1_000_000),
        "client_id": state.client_id,
        "access_token": state.tokens.issue(ttl),
        "application_name": state.application_name,
        "scope": "",
        "expires_in": str(ttl),
        "refresh_count": "0",
        "status": "approved",
    }
    return json_response(body)


_INVALID = ("Invalid access token", "oauth.v2.InvalidAccessToken")
_EXPIRED = ("Access Token expired", "keymanagement.service.access_token_expired")


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gateway faults for a missing, unknown, revoked or expired token."""
    state = request.app[STATE]
    # Before the token route too: a token issued after a revocation boundary must live.
    state.tokens.tick(state.faults.revoke_every_s)
    if (
        request.match_info.route.name == TOKEN_ROUTE
        or request.match_info.http_exception is not None
    ):
        # Unknown routes answer 404 before any token check, as on the live platform.
        return await handler(request)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return gateway_fault(*_INVALID)
    verdict = state.tokens.check(value.strip())
    if verdict is TokenState.EXPIRED:
        return gateway_fault(*_EXPIRED)
    if verdict is TokenState.INVALID:
        return gateway_fault(*_INVALID)
    return await handler(request)
