"""Master Wilayah's wire shapes, decoded: pure functions, no I/O.

v1 answers are an envelope ``{"status", "error", "message", "data": [...]}``; v2
answers add ``meta`` (``item_count``, ``page``, ``cursors``). Every region answer of the
SDK is decoded here, into :class:`Region` values and a checked :class:`PageMeta`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Annotated, Any

import attrs
import msgspec

from ._decoders import ResponseContext, decode_json, raise_for_embedded_error, shape_error
from ._models import Region, RegionLevel
from .errors import PaginationError

__all__ = [
    "PageMeta",
    "PulledData",
    "RegionShapeError",
    "checked_codes",
    "decode_page_meta",
    "decode_pull_page",
    "decode_pulled_regions",
    "decode_region_list",
    "decode_region_page",
    "read_pull_page",
    "read_region_list",
    "read_region_page",
    "region_keys",
    "structure_regions",
]

Headers = Mapping[str, str]


class RegionShapeError(ValueError):
    """A region item of the wrong shape; the resource layer turns it into an APIError."""


def _opt(value: Any, field: str, index: int) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RegionShapeError(f"data[{index}].{field} is {type(value).__name__}, not a string")


def _slow_region(item: Any, index: int, level: RegionLevel) -> Region:
    """Checked decoding of one parsed item."""
    if not isinstance(item, Mapping):
        raise RegionShapeError(f"data[{index}] is {type(item).__name__}, not an object")
    try:
        code = item["code"]
        name = item["name"]
    except KeyError as missing:
        raise RegionShapeError(f"data[{index}] has no {missing.args[0]!r}") from None
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or not code:
        raise RegionShapeError(f"data[{index}].code is not a non-empty string")
    if not isinstance(name, str):
        raise RegionShapeError(f"data[{index}].name is not a string")
    return Region(
        code,
        _opt(item.get("parent_code"), "parent_code", index),
        _opt(item.get("bps_code"), "bps_code", index),
        name,
        level,
    )


def structure_regions(items: Any, level: RegionLevel, *, offset: int = 0) -> list[Region]:
    """The checked path: a parsed ``data`` list into ``Region`` values, naming a bad item.

    ``offset`` is the index of ``items[0]`` in the page, for the messages.
    """
    if not isinstance(items, list):
        raise RegionShapeError(f"data is {type(items).__name__}, not a list")
    return [_slow_region(item, offset + index, level) for index, item in enumerate(items)]


def region_keys(regions: list[Region], level: RegionLevel) -> list[int] | None:
    """Each region's code as an integer, or None if one is not a code of ``level``."""
    codes = [region.code for region in regions]
    return list(map(int, codes)) if _all_of_width(codes, level.code_length) else None


def _all_of_width(codes: list[str], width: int) -> bool:
    """True if every code is ``width`` ASCII digits.

    Checked on the joined page and the set of lengths: C-level loops, not per-item
    Python, since this runs for every village of a pull.
    """
    if not codes:
        return True
    joined = "".join(codes)
    return joined.isascii() and joined.isdigit() and set(map(len, codes)) == {width}


@attrs.frozen(slots=True)
class PageMeta:
    """The ``meta`` of a v2 page."""

    item_count: int
    current: int
    total_page: int
    total: int
    limit: int
    previous: int | None = None
    next: int | None = None
    is_cursor: bool | None = None

    @property
    def last_page(self) -> int:
        """The last page number, trusting the larger of ``total_page`` and ``total/limit``."""
        # Integer ceiling: float division is inexact past 2**53 and overflows on huge totals.
        return max(self.total_page, -(-self.total // self.limit))


def _where(ctx: ResponseContext) -> str:
    rid = f" [request id {ctx.request_id}]" if ctx.request_id else ""
    return f"{ctx.method} {ctx.path}{rid}"


def _int(value: Any, name: str, ctx: ResponseContext, *, minimum: int) -> int:
    # ASCII digits only (str.isdigit() also passes '²', which int() refuses), and few
    # enough of them: int() refuses strings past 4,300 digits.
    text = value.strip() if isinstance(value, str) else None
    if text is not None and len(text) <= 18 and text.isascii() and text.isdigit():
        value = int(text)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        raise PaginationError(
            f"malformed meta from {_where(ctx)}: {name} is {shown}, expected an integer "
            f">= {minimum} — the platform's pagination cannot be followed safely"
        )
    return value


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cursor(cursors: Any, key: str) -> str | None:
    if not isinstance(cursors, Mapping):
        return None
    value = cursors.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _data_list(obj: Any, ctx: ResponseContext, body: bytes) -> Any:
    if not isinstance(obj, Mapping):
        raise shape_error(ctx, body, f"the answer is a {type(obj).__name__}, not an object")
    if "data" not in obj:
        raise shape_error(ctx, body, "the answer has no 'data'")
    data = obj["data"]
    # An empty result has been seen as null from Go-style backends; it means "no regions".
    return [] if data is None else data


def decode_region_list(
    obj: Any, level: RegionLevel, ctx: ResponseContext, body: bytes = b""
) -> list[Region]:
    """Decode a v1 answer (``{"status", "error", "message", "data": [...]}``)."""
    try:
        return structure_regions(_data_list(obj, ctx, body), level)
    except RegionShapeError as exc:
        raise shape_error(ctx, body, str(exc)) from None


def decode_region_page(
    obj: Any, level: RegionLevel, ctx: ResponseContext, body: bytes = b""
) -> tuple[list[Region], PageMeta, str | None, str | None]:
    """Decode a v2 answer into (items, meta, next cursor, previous cursor)."""
    items = decode_region_list(obj, level, ctx, body)
    return (items, *decode_page_meta(obj, items, ctx))


def decode_pull_page(
    obj: Any, ctx: ResponseContext, body: bytes = b""
) -> tuple[list[Any], PageMeta]:
    """A v2 answer for a bulk pull: its ``data`` list still undecoded, and checked meta.

    The regions are decoded by :func:`decode_pulled_regions` when the consumer reaches
    the page: parsed JSON of strings is not tracked by the garbage collector, Regions
    are, and a pull holds several pages in flight.
    """
    data = _data_list(obj, ctx, body)
    if not isinstance(data, list):
        raise shape_error(ctx, body, f"data is {type(data).__name__}, not a list")
    return data, decode_page_meta(obj, data, ctx)[0]


def structure_regions_or_raise(
    data: Any, level: RegionLevel, ctx: ResponseContext, body_excerpt: bytes, offset: int = 0
) -> list[Region]:
    try:
        return structure_regions(data, level, offset=offset)
    except RegionShapeError as exc:
        raise shape_error(ctx, body_excerpt, str(exc)) from None


def decode_pulled_regions(
    data: list[Any],
    level: RegionLevel,
    ctx: ResponseContext,
    body_excerpt: bytes,
    *,
    offset: int = 0,
) -> tuple[list[Region], list[int]]:
    """Decode a pulled page's ``data``: the regions and their codes as integer keys."""
    items = structure_regions_or_raise(data, level, ctx, body_excerpt, offset)
    checked_codes(items, level, ctx, body_excerpt)
    return items, list(map(int, (region.code for region in items)))


def checked_codes(
    items: list[Region], level: RegionLevel, ctx: ResponseContext, body_excerpt: bytes
) -> list[str]:
    """The regions' codes, each checked to be a code of ``level`` (an APIError if not)."""
    codes = [region.code for region in items]
    if not _all_of_width(codes, level.code_length):
        raise shape_error(
            ctx,
            body_excerpt,
            f"a code in the page is not a {level.code_length}-digit {level.value} code",
        )
    return codes


def decode_page_meta(
    obj: Any, items: Sized, ctx: ResponseContext
) -> tuple[PageMeta, str | None, str | None]:
    """Check and decode ``meta`` of a v2 answer whose ``data`` decoded to ``items``."""
    meta_raw = obj.get("meta") if isinstance(obj, Mapping) else None
    page = meta_raw.get("page") if isinstance(meta_raw, Mapping) else None
    if not isinstance(meta_raw, Mapping) or not isinstance(page, Mapping):
        raise PaginationError(
            f"malformed meta from {_where(ctx)}: no meta.page object — the platform's "
            "pagination cannot be followed safely"
        )
    meta = PageMeta(
        item_count=_int(meta_raw.get("item_count", len(items)), "item_count", ctx, minimum=0),
        current=_int(page.get("current"), "page.current", ctx, minimum=0),
        total_page=_int(page.get("total_page"), "page.total_page", ctx, minimum=0),
        total=_int(page.get("total"), "page.total", ctx, minimum=0),
        limit=_int(page.get("limit"), "page.limit", ctx, minimum=1),
        previous=_opt_int(page.get("previous")),
        next=_opt_int(page.get("next")),
        is_cursor=page.get("is_cursor") if isinstance(page.get("is_cursor"), bool) else None,
    )
    _check_counts(meta, len(items), ctx)
    cursors = meta_raw.get("cursors")
    return meta, _cursor(cursors, "next"), _cursor(cursors, "previous")


def _check_counts(meta: PageMeta, count: int, ctx: ResponseContext) -> None:
    if meta.item_count != count:
        raise PaginationError(
            f"malformed meta from {_where(ctx)}: item_count {meta.item_count} but "
            f"{count} items in data"
        )
    if count > meta.limit:
        raise PaginationError(
            f"malformed page from {_where(ctx)}: {count} items over limit {meta.limit}"
        )


# -- the fast path: raw bytes -> typed values in one msgspec call per page ---------------
# Answers of the documented shape decode here without building any dict; anything off
# that shape (an int code, a digit-string page number, an error in a 2xx envelope, not
# JSON at all) fails this decode and takes the checked path above on the same bytes,
# so every message stays the checked path's.

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
    _check_counts(checked, count, ctx)
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
