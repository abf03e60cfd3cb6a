"""Master Wilayah answers already parsed as JSON, checked item by item: the checked path.

Answers off the documented shape (an int code, digit-string page numbers, a missing
key) come here from ``_regions_wire.py``; every message about a bad region answer
is written here. Also the page ``meta`` (:class:`PageMeta`) and its count checks,
shared by both paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Any

import attrs

from ._decoders import ResponseContext, request_id_suffix, shape_error
from ._models import Region, RegionLevel
from .errors import PaginationError

__all__ = [
    "PageMeta",
    "RegionShapeError",
    "check_counts",
    "checked_codes",
    "decode_page_meta",
    "decode_pull_page",
    "decode_pulled_regions",
    "decode_region_list",
    "decode_region_page",
    "region_keys",
    "structure_regions",
    "structure_regions_or_raise",
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
    return f"{ctx.method} {ctx.path}{request_id_suffix(ctx.request_id)}"


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
    check_counts(meta, len(items), ctx)
    cursors = meta_raw.get("cursors")
    return meta, _cursor(cursors, "next"), _cursor(cursors, "previous")


def check_counts(meta: PageMeta, count: int, ctx: ResponseContext) -> None:
    if meta.item_count != count:
        raise PaginationError(
            f"malformed meta from {_where(ctx)}: item_count {meta.item_count} but "
            f"{count} items in data"
        )
    if count > meta.limit:
        raise PaginationError(
            f"malformed page from {_where(ctx)}: {count} items over limit {meta.limit}"
        )
