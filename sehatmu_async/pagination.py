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

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Literal

import attrs

from ._codeset import CodeSet, take
from ._decoders import ResponseContext
from ._models import Region
from ._regions_checked import (
    PageMeta,
    checked_codes,
    decode_page_meta,
    decode_pull_page,
    decode_pulled_regions,
    decode_region_list,
    decode_region_page,
)
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
            ctx=ctx,
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
    _ctx: ResponseContext | None = attrs.field(default=None, repr=False, eq=False, alias="ctx")

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
        # Distinct codes are counted, not items: a server repeating one region and
        # dropping another must not pass. Each region is yielded once.
        seen = CodeSet()
        expected: int | None = None
        async for page in self.pages():
            if expected is None and page._walk.numbered:
                expected = page.meta.total
            items = page.items
            if not items:
                continue
            ctx = page._ctx or ResponseContext(
                status=200, method="GET", url="", path="", request_id=None
            )
            fresh = seen.add_page(checked_codes(items, items[0].level, ctx, b""))
            for region in items:
                if fresh is None or take(fresh, int(region.code)):
                    yield region
        delivered = len(seen)
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
