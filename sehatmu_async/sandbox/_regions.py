"""Master Wilayah v1 (one list) and v2 (paginated, keyset cursors) handlers.

Pages are assembled from the store's pre-serialised region bytes; only the small
``meta`` object is dumped per request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from ._data import Level, load_regions
from ._responses import json_bytes, masterdata_error

# URL segment -> (store level, the query parameter naming parent codes).
LEVEL_PATHS: dict[str, tuple[str, str | None]] = {
    "provinces": ("provinces", None),
    "cities": ("cities", "province_codes"),
    "districts": ("districts", "city_codes"),
    "sub-districts": ("sub_districts", "district_codes"),
}
MAX_LIMIT = 2000
DEFAULT_LIMIT = 10

_SUCCESS_HEAD = b'{"status":200,"error":false,"message":"success","data":['


class BadRequest(Exception):
    """A query the platform refuses with its ``status_code`` envelope."""


def _codes(query: Mapping[str, str], name: str) -> list[str] | None:
    """Comma-joined codes (spaces tolerated); ``None`` when absent or blank."""
    raw = query.get(name)
    if raw is None:
        return None
    codes = [part.strip() for part in raw.split(",") if part.strip()]
    if not codes:
        return None
    for code in codes:
        if not (code.isascii() and code.isdigit()):
            raise BadRequest(f"{name} must be numeric region codes joined by commas")
    return codes


def _select(
    level: Level, request: web.Request, parent_param: str | None, v1: bool
) -> Sequence[int]:
    query = request.rel_url.query
    codes = _codes(query, "codes")
    if parent_param is None:
        if v1 and codes is None:
            raise BadRequest("codes is required")
        return level.select(None, codes)
    parents = _codes(query, parent_param)
    if v1 and parents is None:
        raise BadRequest(f"{parent_param} is required")
    return level.select(parents, codes)


def _positive_int(raw: str | None, name: str) -> int:
    if raw is None or raw.strip() == "":
        raise BadRequest(f"{name} is required")
    raw = raw.strip()
    # int() would also take "+3", "1_0" and non-ASCII digits; the platform wants a number.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise BadRequest(f"{name} must be a positive integer")
    return int(raw)


def _cursor(raw: str | None) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        code = base64.b64decode(raw.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("invalid cursor") from None
    if not code.isdigit():
        raise BadRequest("invalid cursor")
    return code


def _b64(code: str) -> str:
    return base64.b64encode(code.encode("ascii")).decode("ascii")


def _v1(level: Level, parent_param: str | None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            selection = _select(level, request, parent_param, v1=True)
        except BadRequest as exc:
            return masterdata_error(str(exc))
        return json_bytes(_SUCCESS_HEAD + b",".join(level.blobs_of(selection)) + b"]}")

    return handler


def _page_params(request: web.Request) -> tuple[int, int, str | None, str | None]:
    query = request.rel_url.query
    current = _positive_int(query.get("current_page"), "current_page")
    raw_limit = query.get("limit", "")
    limit = _positive_int(raw_limit, "limit") if raw_limit.strip() else DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise BadRequest(f"limit cannot be more than {MAX_LIMIT}")
    after, before = _cursor(query.get("next")), _cursor(query.get("prev"))
    if after is not None and before is not None:
        raise BadRequest("next and prev cannot be used together")
    return current, limit, after, before


def _v2(level: Level, parent_param: str | None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            current, limit, after, before = _page_params(request)
            selection = _select(level, request, parent_param, v1=False)
        except BadRequest as exc:
            return masterdata_error(str(exc))
        if after is not None:
            start = level.after(selection, after)
            page = selection[start : start + limit]
        elif before is not None:
            end = level.before(selection, before)
            page = selection[max(0, end - limit) : end]
        else:
            offset = (current - 1) * limit
            page = selection[offset : offset + limit]
        total = len(selection)
        codes = level.codes
        meta = {
            "item_count": len(page),
            "page": {
                "is_cursor": True,
                "current": current,
                # Reproduced from the documents: next/previous are plain arithmetic,
                # even on the last page (provinces example: total_page 1, next 2).
                "previous": current - 1,
                "next": current + 1,
                "limit": limit,
                "total_page": -(-total // limit),
                "total": total,
            },
            "cursors": {
                "next": _b64(codes[page[-1]]) if page else "",
                "previous": _b64(codes[page[0]]) if page else "",
            },
        }
        body = b"".join(
            (
                _SUCCESS_HEAD,
                b",".join(level.blobs_of(page)),
                b'],"meta":',
                orjson.dumps(meta),
                b"}",
            )
        )
        return json_bytes(body)

    return handler


def add_routes(router: web.UrlDispatcher) -> None:
    # Parses the region files on the process's first app, not on its first request.
    levels = load_regions()
    for segment, (name, parent_param) in LEVEL_PATHS.items():
        level = levels[name]
        router.add_get(f"/masterdata/v1/{segment}", _v1(level, parent_param), allow_head=False)
        router.add_get(f"/masterdata/v2/{segment}", _v2(level, parent_param), allow_head=False)
