"""Master Wilayah v2 pagination: page meta, pages, and the cursor pager.

When a walk ends (``api.md``, "Decided here"): the documents' own last page still
shows ``page.next`` and non-empty cursors, so neither means another page exists.
Going forward, a page is the last when ``current >= total_page``, when it is
empty, when it holds fewer items than ``limit``, or when its ``next`` cursor is
missing or empty. A cursor that comes back a second time in one walk raises
:class:`PaginationError` instead of looping.

One refinement, also decided here: the documents' examples give ``total_page``
as ``total // limit`` (514 cities at 10 a page: 51) as well as rounded up
(2 provinces: 1). A walk trusts whichever is larger, ``total_page`` or
``ceil(total / limit)``, so a floor-rounding server cannot hide its last,
partial page.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sized
from typing import Any, Literal

import attrs

from ._converter import RegionShapeError, region_keys, structure_regions
from ._decoders import ResponseContext, shape_error
from ._models import Region, RegionLevel
from .errors import ConfigurationError, IncompleteDownloadError, PaginationError

__all__ = [
    "PageMeta",
    "RegionPage",
    "RegionPager",
    "decode_page_meta",
    "decode_pull_page",
    "decode_pulled_regions",
    "decode_region_list",
    "decode_region_page",
]

Direction = Literal["next", "previous"]


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


# -- pages and walks -----------------------------------------------------------------

#: Fetches one page: (current_page, cursor direction or None, cursor) -> decoded page parts.
PageFetcher = Callable[
    [int, "Direction | None", "str | None"],
    Awaitable[tuple[list[Region], PageMeta, "str | None", "str | None", ResponseContext]],
]


class _Walk:
    """State shared by the pages of one walk: the cursors already followed."""

    __slots__ = ("bound", "fetch", "followed", "numbered", "requests")

    def __init__(self, fetch: PageFetcher, *, numbered: bool) -> None:
        self.fetch = fetch
        # Page numbers are only trustworthy for walks that started at a page number.
        self.numbered = numbered
        self.followed: set[tuple[str, str]] = set()
        self.requests = 0
        # The page count the walk's first answer claimed: later answers cannot raise it,
        # or a server whose total grows with every page would never be caught.
        self.bound: int | None = None

    async def page(
        self, number: int, direction: Direction | None, cursor: str | None
    ) -> RegionPage:
        if direction is not None and cursor is not None:
            key = (direction, cursor)
            if key in self.followed:
                raise PaginationError(
                    f"the server handed back the {direction} cursor {cursor!r} a second time "
                    "in one walk; following it would loop forever"
                )
            self.followed.add(key)
        self.requests += 1
        items, meta, next_cursor, previous_cursor, ctx = await self.fetch(number, direction, cursor)
        if self.bound is None:
            self.bound = meta.last_page
        if self.requests > self.bound + 2:
            # Every walk is bounded: no server answer can keep it going past its own total.
            raise PaginationError(
                f"{ctx.method} {ctx.path}: {self.requests} pages fetched but the server counts "
                f"{self.bound}; its cursors do not converge"
            )
        return RegionPage(
            items=items,
            meta=meta,
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
            walk=self,
            via=direction,
        )


@attrs.frozen(slots=True)
class RegionPage:
    """One v2 page: its regions, its meta and the cursors to its neighbours."""

    items: list[Region]
    meta: PageMeta
    next_cursor: str | None
    previous_cursor: str | None
    _walk: _Walk = attrs.field(repr=False, eq=False, alias="walk")
    _via: Direction | None = attrs.field(repr=False, eq=False, alias="via")

    @property
    def is_last(self) -> bool:
        """True when no page follows this one, by the end-of-walk rules."""
        if self._walk.numbered and self.meta.current >= self.meta.last_page:
            return True
        return (
            not self.items or len(self.items) < self.meta.limit or self.next_cursor is None
        )

    @property
    def is_first(self) -> bool:
        """True when no page comes before this one."""
        if self._walk.numbered and self.meta.current <= 1:
            return True
        if not self.items or self.previous_cursor is None:
            return True
        # A short page reached by walking backwards means the start was reached.
        return self._via == "previous" and len(self.items) < self.meta.limit

    async def next_page(self) -> RegionPage | None:
        """The following page, or None at the end."""
        if self.is_last:
            return None
        return await self._walk.page(self.meta.current + 1, "next", self.next_cursor)

    async def previous_page(self) -> RegionPage | None:
        """The page before this one, or None at the start."""
        if self.is_first:
            return None
        number = max(1, self.meta.current - 1)
        return await self._walk.page(number, "previous", self.previous_cursor)


class RegionPager:
    """A v2 walk over one level, returned without awaiting by ``client.regions.<level>()``.

    ``async for region in pager`` yields every region of every page (and checks a
    walk from the first page delivered ``meta.total`` regions);
    ``pager.pages()`` yields the pages; ``pager.pages(direction="previous")``
    walks backwards from the last page (or from ``cursor``).
    """

    def __init__(self, fetch: PageFetcher, *, cursor: str | None = None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def __aiter__(self) -> AsyncIterator[Region]:
        return self._regions()

    async def _regions(self) -> AsyncGenerator[Region, None]:
        delivered = 0
        expected: int | None = None
        async for page in self.pages():
            if expected is None and page._walk.numbered:
                expected = page.meta.total
            delivered += len(page.items)
            for region in page.items:
                yield region
        if expected is not None and delivered < expected:
            raise IncompleteDownloadError(
                f"the walk ended after {delivered} of {expected} regions (a short page before "
                "the end?) — retry the download; the platform's data was inconsistent",
                expected=expected,
                delivered=delivered,
            )

    async def first_page(self) -> RegionPage:
        """The page the walk starts on: page 1, or the page after ``cursor``."""
        if self._cursor is not None:
            return await _Walk(self._fetch, numbered=False).page(1, "next", self._cursor)
        return await _Walk(self._fetch, numbered=True).page(1, None, None)

    async def pages(self, direction: Direction = "next") -> AsyncGenerator[RegionPage, None]:
        """Yield pages forward (``"next"``) or backward (``"previous"``)."""
        if direction == "next":
            page: RegionPage | None = await self.first_page()
            while page is not None:
                yield page
                page = await page.next_page()
            return
        if direction != "previous":
            raise ConfigurationError("direction must be 'next' or 'previous'")
        if self._cursor is not None:
            walk = _Walk(self._fetch, numbered=False)
            page = await walk.page(1, "previous", self._cursor)
        else:
            walk = _Walk(self._fetch, numbered=True)
            probe = await walk.page(1, None, None)
            last = probe.meta.last_page
            page = probe if last <= 1 else await walk.page(last, None, None)
        while page is not None:
            yield page
            page = await page.previous_page()
