"""Master Wilayah's wire shapes: raw answer bytes -> typed, checked values. Pure, no I/O.

v1 answers are an envelope ``{"status", "error", "message", "data": [...]}``; v2
answers add ``meta`` (``item_count``, ``page``, ``cursors``). Every region answer the
SDK receives is read here, in one msgspec call per page into ``Region`` values and a
checked :class:`PageMeta`. Answers of the documented shape never build a dict; any
other answer (an int code, a digit-string page number, an error in a 2xx envelope,
not JSON at all) fails that decode and takes the checked path of
``_regions_checked.py`` on the same bytes, so every message is that path's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from ._decoders import ResponseContext, decode_json, raise_for_embedded_error
from ._models import Region, RegionLevel
from ._regions_checked import (
    PageMeta,
    check_counts,
    checked_codes,
    decode_pull_page,
    decode_region_list,
    decode_region_page,
    structure_regions_or_raise,
)

__all__ = ["PulledData", "read_pull_page", "read_region_list", "read_region_page"]

Headers = Mapping[str, str]


_Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _Item(msgspec.Struct, gc=False):
    code: Annotated[str, msgspec.Meta(min_length=1)]
    name: str
    parent_code: str | None = None
    bps_code: str | None = None


class _PageInfo(msgspec.Struct, gc=False):
    current: _Count
    total_page: _Count
    total: _Count
    limit: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    previous: int | None = None
    next: int | None = None
    is_cursor: bool | None = None


class _Cursors(msgspec.Struct, gc=False):
    next: str | None = None
    previous: str | None = None


class _Meta(msgspec.Struct, gc=False):
    page: _PageInfo
    item_count: _Count | None = None
    cursors: _Cursors | None = None


class _V1Answer(msgspec.Struct, gc=False):
    data: list[_Item] | None
    # What raise_for_embedded_error looks at: present, they send the answer the slow way.
    error: Any = None
    status_code: Any = None
    resource_type: Any = msgspec.field(default=None, name="resourceType")


class _V2Answer(_V1Answer, gc=False):
    meta: _Meta | None = None


_V1 = msgspec.json.Decoder(_V1Answer)
_V2 = msgspec.json.Decoder(_V2Answer)


def _typed(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    """The typed answer, or None when it is off the normal shape (or an error envelope)."""
    try:
        answer = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if answer.error is True or answer.status_code is not None or answer.resource_type is not None:
        return None
    return answer


def _parsed(body: bytes, headers: Headers, ctx: ResponseContext) -> Any:
    """The checked path's parse: JSON, then errors the platform wraps in a 2xx."""
    obj = decode_json(ctx, headers, body)
    raise_for_embedded_error(ctx, obj, body)
    return obj


def _regions(items: list[_Item], level: RegionLevel) -> list[Region]:
    return [
        Region(item.code, item.parent_code or None, item.bps_code or None, item.name, level)
        for item in items
    ]


def _meta(meta: _Meta, count: int, ctx: ResponseContext) -> tuple[PageMeta, str | None, str | None]:
    page = meta.page
    checked = PageMeta(
        item_count=count if meta.item_count is None else meta.item_count,
        current=page.current,
        total_page=page.total_page,
        total=page.total,
        limit=page.limit,
        previous=page.previous,
        next=page.next,
        is_cursor=page.is_cursor,
    )
    check_counts(checked, count, ctx)
    cursors = meta.cursors
    if cursors is None:
        return checked, None, None
    return checked, _nonblank(cursors.next), _nonblank(cursors.previous)


def _nonblank(cursor: str | None) -> str | None:
    return cursor if cursor is not None and cursor.strip() else None


def read_region_list(
    body: bytes, headers: Headers, ctx: ResponseContext, level: RegionLevel
) -> list[Region]:
    """A v1 answer's regions, from the raw body."""
    answer = _typed(_V1, body)
    if answer is None:
        return decode_region_list(_parsed(body, headers, ctx), level, ctx, body)
    return _regions(answer.data or [], level)


def read_region_page(
    body: bytes, headers: Headers, ctx: ResponseContext, level: RegionLevel
) -> tuple[list[Region], PageMeta, str | None, str | None]:
    """A v2 answer, from the raw body: (regions, meta, next cursor, previous cursor)."""
    answer = _typed(_V2, body)
    if answer is None or answer.meta is None:
        return decode_region_page(_parsed(body, headers, ctx), level, ctx, body)
    items = _regions(answer.data or [], level)
    return (items, *_meta(answer.meta, len(items), ctx))


class PulledData:
    """A pulled page's items (typed, or parsed JSON off the normal shape) and its meta.

    Regions are built from it a slice at a time (:meth:`regions`), so no stretch of
    the work holds the event loop for long.
    """

    __slots__ = ("_ctx", "_excerpt", "_items", "_typed", "meta")

    def __init__(
        self, items: list[Any], meta: PageMeta, typed: bool, ctx: ResponseContext, excerpt: bytes
    ) -> None:
        self._items = items
        self._typed = typed
        self._ctx = ctx
        self._excerpt = excerpt
        self.meta = meta

    def __len__(self) -> int:
        return len(self._items)

    def regions(self, start: int, stop: int, level: RegionLevel) -> tuple[list[Region], list[str]]:
        """Regions ``start:stop`` of the page and their codes, checked as ``level`` codes."""
        part = self._items[start:stop]
        if self._typed:
            regions = _regions(part, level)
        else:
            regions = structure_regions_or_raise(part, level, self._ctx, self._excerpt, start)
        return regions, checked_codes(regions, level, self._ctx, self._excerpt)


def read_pull_page(
    body: bytes, headers: Headers, ctx: ResponseContext, excerpt: bytes
) -> PulledData:
    """A v2 answer for a bulk pull, from the raw body: items and checked meta."""
    answer = _typed(_V2, body)
    if answer is None or answer.meta is None:
        data, meta = decode_pull_page(_parsed(body, headers, ctx), ctx, body)
        return PulledData(data, meta, False, ctx, excerpt)
    items = answer.data or []
    return PulledData(items, _meta(answer.meta, len(items), ctx)[0], True, ctx, excerpt)
