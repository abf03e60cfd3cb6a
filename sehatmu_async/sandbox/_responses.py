"""Response builders for the body shapes the platform uses (JSON via orjson)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"


def json_bytes(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return json_bytes(orjson.dumps(obj), status, headers)


def text_response(text: str, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/plain", headers=headers)


def masterdata_error(message: str, status: int = 400) -> web.Response:
    """Master Wilayah's error envelope: ``status_code``, not ``status``."""
    return json_response({"status_code": status, "message": message, "data": None}, status)


def issue(code: str, text: str, expression: str | None = None) -> dict[str, Any]:
    """One OperationOutcome issue, shaped as in the validation document (004)."""
    entry: dict[str, Any] = {"severity": "error", "code": code, "details": {"text": text}}
    if expression is not None:
        entry["expression"] = [expression]
    return entry


def outcome(
    issues: list[dict[str, Any]], status: int = 400, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"resourceType": "OperationOutcome", "text": {"status": "generated"}, "issue": issues}
    return json_response(body, status, headers)


def gateway_fault(faultstring: str, errorcode: str, status: int = 401) -> web.Response:
    """An Apigee gateway fault; 401s also tell the client why, as the live gateway does."""
    headers = None
    if status == 401:
        headers = {
            "WWW-Authenticate": (
                f'Bearer realm="null",error="invalid_token",error_description="{faultstring}"'
            )
        }
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return json_response(body, status, headers)
