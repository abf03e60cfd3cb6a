"""Master Wilayah's wire shapes, decoded: pure functions, no I/O.

v1 answers are an envelope ``{"status", "error", "message", "data": [...]}``; v2
answers add ``meta`` (``item_count``, ``page``, ``cursors``). Every region answer of the
SDK is decoded here, into :class:`Region` values and a checked :class:`PageMeta`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Any

import attrs

from ._decoders import ResponseContext, shape_error
from ._models import Region, RegionLevel
from .errors import PaginationError

__all__ = [
    "PageMeta",
    "RegionShapeError",
    "decode_page_meta",
    "decode_pull_page",
    "decode_pulled_regions",
    "decode_region_list",
    "decode_region_page",
    "region_keys",
    "structure_regions",
]


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
    """Checked decoding of one item that is not the plain all-strings shape."""
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


# Slot descriptors fill a frozen instance without the frozen ``__setattr__`` detour
# attrs' generated ``__init__`` takes: ~30% cheaper per Region on the pull hot path.
_new = object.__new__
_set_code = Region.__dict__["code"].__set__
_set_parent = Region.__dict__["parent_code"].__set__
_set_bps = Region.__dict__["bps_code"].__set__
_set_name = Region.__dict__["name"].__set__
_set_level = Region.__dict__["level"].__set__


def structure_regions(items: Any, level: RegionLevel) -> list[Region]:
    """Decode a page's ``data`` list into ``Region`` objects, checking every item."""
    return _structure(items, level)


def _structure(items: Any, level: RegionLevel) -> list[Region]:
    if not isinstance(items, list):
        raise RegionShapeError(f"data is {type(items).__name__}, not a list")
    out: list[Region] = []
    append = out.append
    # The platform's items are dicts of four strings: those take this loop, with exact
    # type checks (no ABC isinstance); the first item of another shape hands the rest
    # to the checked path, which names the bad item.
    for item in items:
        if type(item) is not dict:
            break
        code = item.get("code")
        parent = item.get("parent_code")
        bps = item.get("bps_code")
        name = item.get("name")
        if not (
            type(code) is str
            and code
            and type(name) is str
            and type(parent) is str
            and type(bps) is str
        ):
            break
        region = _new(Region)
        _set_code(region, code)
        _set_parent(region, parent or None)
        _set_bps(region, bps or None)
        _set_name(region, name)
        _set_level(region, level)
        append(region)
    for index in range(len(out), len(items)):
        append(_slow_region(items[index], index, level))
    return out


def region_keys(regions: list[Region], level: RegionLevel) -> list[int] | None:
    """Each region's code as an integer, or None if one is not a code of ``level``."""
    return _keys([region.code for region in regions], level.code_length)


def _keys(codes: list[str], width: int) -> list[int] | None:
    """Codes as integers if every one is ``width`` ASCII digits, else None.

    Checked on the joined page and the set of lengths: C-level loops, not per-item
    Python, since this runs for every village of a pull.
    """
    if not codes:
        return []
    joined = "".join(codes)
    if not (joined.isascii() and joined.isdigit()) or set(map(len, codes)) != {width}:
        return None
    return list(map(int, codes))



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


def decode_pulled_regions(
    data: list[Any], level: RegionLevel, ctx: ResponseContext, body_excerpt: bytes
) -> tuple[list[Region], list[int]]:
    """Decode a pulled page's ``data``: the regions and their codes as integer keys."""
    try:
        items = structure_regions(data, level)
    except RegionShapeError as exc:
        raise shape_error(ctx, body_excerpt, str(exc)) from None
    keys = region_keys(items, level)
    if keys is None:
        raise shape_error(
            ctx,
            body_excerpt,
            f"a code in the page is not a {level.code_length}-digit {level.value} code",
        )
    return items, keys


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
    if meta.item_count != len(items):
        raise PaginationError(
            f"malformed meta from {_where(ctx)}: item_count {meta.item_count} but "
            f"{len(items)} items in data"
        )
    if len(items) > meta.limit:
        raise PaginationError(
            f"malformed page from {_where(ctx)}: {len(items)} items over limit {meta.limit}"
        )
    cursors = meta_raw.get("cursors")
    return meta, _cursor(cursors, "next"), _cursor(cursors, "previous")
