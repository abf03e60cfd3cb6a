"""Master Wilayah: v1 lists, v2 cursor pagers, and the concurrent bulk pull.

``pull`` learns ``total_page`` from page 1 of a query, then fetches the other
pages by page number with at most ``concurrency`` requests in flight. The pages
are fetched by a fixed pool of workers in a background task; each worker holds
at most one decoded page while it waits for the consumer, so memory is bounded
by the pages in flight however slowly the consumer reads, and a consumer that
stops early (``break``, cancellation) cancels the workers.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .._codeset import CodeSet
from .._decoders import BODY_EXCERPT_CHARS, ResponseContext
from .._models import Region, RegionLevel
from ..errors import ConfigurationError, IncompleteDownloadError, PaginationError
from ..pagination import (
    Direction,
    PageFetcher,
    PageMeta,
    RegionPager,
    decode_pull_page,
    decode_pulled_regions,
    decode_region_list,
    decode_region_page,
)

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from .._base_client import BaseClient, Response

__all__ = ["RegionStream", "Regions", "RegionsV1"]

MAX_LIMIT = 2000
#: Regions decoded at a time in a pull (see ``_PulledPage.chunks``).
_CHUNK = 256
BODY_EXCERPT_BYTES = BODY_EXCERPT_CHARS * 4
#: Parent codes per query in a tree walk: keeps each URL's filter under ~1000 characters.
_FILTER_CHARS = 1000
#: No pull plans more pages than this for one query, whatever the server claims.
_MAX_PAGES = 1_000_000

CodeFilter = Iterable[str | int] | str | int | None


def _codes(value: CodeFilter, level: RegionLevel, param: str) -> list[str] | None:
    """Check a code filter before any request: digits, the level's length, no duplicates."""
    if value is None:
        return None
    items: Iterable[str | int] = [value] if isinstance(value, (str, int)) else value
    try:
        raw = list(items)
    except TypeError:
        raise ConfigurationError(
            f"{param} must be codes (str or int) or an iterable of them"
        ) from None
    want = level.code_length
    seen: dict[str, None] = {}
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ConfigurationError(f"{param}: {item!r} is not a region code (str or int)")
        code = str(item).strip()
        if not (code.isascii() and code.isdigit() and len(code) == want):
            raise ConfigurationError(
                f"{param}: {item!r} is not a {level.value} code; those are {want} digits "
                f"(e.g. {_EXAMPLE[level]})"
            )
        seen.setdefault(code, None)
    if not seen:
        raise ConfigurationError(f"{param} is empty; pass None to leave the filter out")
    return list(seen)


_EXAMPLE = {
    RegionLevel.PROVINCES: "'11'",
    RegionLevel.CITIES: "'1101'",
    RegionLevel.DISTRICTS: "'110101'",
    RegionLevel.SUB_DISTRICTS: "'1101012001'",
}


def _check_limit(limit: int | None, *, allow_none: bool) -> None:
    if limit is None and allow_none:
        return
    if (
        not isinstance(limit, int)
        or isinstance(limit, bool)
        or not 1 <= limit <= MAX_LIMIT
    ):
        raise ConfigurationError(
            f"limit must be an integer from 1 to {MAX_LIMIT} (the platform refuses more), "
            f"not {limit!r}"
        )


def _filters(
    level: RegionLevel, parents: CodeFilter, codes: CodeFilter
) -> dict[str, str]:
    params: dict[str, str] = {}
    parent_level = level.parent
    if parent_level is not None and level.parent_filter is not None:
        checked = _codes(parents, parent_level, level.parent_filter)
        if checked is not None:
            params[level.parent_filter] = ",".join(checked)
    own = _codes(codes, level, "codes")
    if own is not None:
        params["codes"] = ",".join(own)
    return params


def _batches(level: RegionLevel, parents: Sequence[str]) -> list[dict[str, str]]:
    """One query per batch of parent codes, filter strings kept short."""
    param = level.parent_filter
    assert param is not None
    per_query = max(1, _FILTER_CHARS // (len(parents[0]) + 1)) if parents else 1
    return [
        {param: ",".join(parents[i : i + per_query])} for i in range(0, len(parents), per_query)
    ]


class _PulledPage:
    """A fetched page of a pull, waiting for the consumer.

    Pages wait as the raw answer (about 110 bytes a village, no Python objects to
    track) and are parsed, checked and decoded when the consumer reaches them; only
    page 1 is parsed on arrival, because its meta plans the other pages.
    """

    __slots__ = ("meta", "number", "parsed", "response")

    def __init__(self, number: int, response: Response) -> None:
        self.number = number
        self.response = response
        self.parsed: list[Any] | None = None
        self.meta: PageMeta | None = None

    def parse(self, level: RegionLevel) -> tuple[list[Any], PageMeta]:
        """The page's ``data`` (undecoded) and meta, checked; parses once."""
        if self.parsed is None or self.meta is None:
            response = self.response
            data, meta = decode_pull_page(response.json(), response.ctx, response.body)
            if meta.current != self.number:
                raise PaginationError(
                    f"asked {level.value} page {self.number} but the server answered page "
                    f"{meta.current} [request id {response.ctx.request_id}]"
                )
            self.parsed, self.meta = data, meta
        return self.parsed, self.meta

    def chunks(self, level: RegionLevel) -> Iterator[tuple[list[Region], list[int]]]:
        """The page's regions and integer code keys, a chunk at a time.

        Chunks stay below the garbage collector's young-generation threshold (700
        allocations), so a consumer that drops regions as it goes keeps few of them
        alive through a collection: whole pages of live Regions were promoted and
        made the collector re-walk the whole heap several times per village pull.
        """
        data, _ = self.parse(level)
        # The parsed dicts are garbage once decoded: the page keeps only its raw answer.
        self.parsed = None
        response = self.response
        excerpt = response.body[:BODY_EXCERPT_BYTES]
        for start in range(0, len(data), _CHUNK):
            yield decode_pulled_regions(data[start : start + _CHUNK], level, response.ctx, excerpt)


def _leaf_error(group: BaseException) -> BaseException:
    """The first real failure inside an exception group (anyio 4 always groups)."""
    inner = getattr(group, "exceptions", None)
    if not inner:
        return group
    for exc in inner:
        leaf = _leaf_error(exc)
        if not isinstance(leaf, (asyncio.CancelledError, anyio.get_cancelled_exc_class())):
            return leaf
    return _leaf_error(inner[0])


class RegionStream:
    """What ``client.regions.pull`` returns: an async iterator of regions with ``aclose()``.

    It flattens the pull's per-page batches into single regions. A plain class rather
    than an async generator: one cheap ``__anext__`` per region instead of a generator
    hop per layer. Leaving early closes the page generator (``aclose``, or its
    finalizer when this object is collected), which cancels the fetches.
    """

    __slots__ = ("_batch", "_batches", "_index")

    def __init__(self, batches: AsyncGenerator[list[Region], None]) -> None:
        self._batches = batches
        self._batch: list[Region] = []
        self._index = 0

    def __aiter__(self) -> RegionStream:
        return self

    async def __anext__(self) -> Region:
        index = self._index
        batch = self._batch
        while index >= len(batch):
            batch = await self._batches.__anext__()
            self._batch = batch
            index = 0
        self._index = index + 1
        return batch[index]

    async def aclose(self) -> None:
        """Stop the pull now: cancel fetches in flight and release their connections."""
        self._batch = []
        self._index = 0
        await self._batches.aclose()


class RegionsV1:
    """Master Wilayah version 1: one request, one list."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    async def _list(self, level: RegionLevel, params: Mapping[str, str]) -> list[Region]:
        response = await self._client.request("GET", f"/masterdata/v1/{level.path}", params=params)
        return decode_region_list(response.json(), level, response.ctx, response.body)

    @staticmethod
    def _required(level: RegionLevel, params: dict[str, str], param: str) -> dict[str, str]:
        if param not in params:
            raise ConfigurationError(
                f"v1 {level.value} needs {param}= (the platform requires it); to list every "
                f"region of the level use client.regions.{level.value}() or .pull()"
            )
        return params

    async def provinces(self, codes: CodeFilter) -> list[Region]:
        level = RegionLevel.PROVINCES
        return await self._list(level, self._required(level, _filters(level, None, codes), "codes"))

    async def cities(self, province_codes: CodeFilter, codes: CodeFilter = None) -> list[Region]:
        level = RegionLevel.CITIES
        params = _filters(level, province_codes, codes)
        return await self._list(level, self._required(level, params, "province_codes"))

    async def districts(self, city_codes: CodeFilter, codes: CodeFilter = None) -> list[Region]:
        level = RegionLevel.DISTRICTS
        params = _filters(level, city_codes, codes)
        return await self._list(level, self._required(level, params, "city_codes"))

    async def sub_districts(
        self, district_codes: CodeFilter, codes: CodeFilter = None
    ) -> list[Region]:
        level = RegionLevel.SUB_DISTRICTS
        params = _filters(level, district_codes, codes)
        return await self._list(level, self._required(level, params, "district_codes"))


class Regions:
    """Master Wilayah: ``.v1`` lists, v2 pagers per level, and ``pull``."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self.v1 = RegionsV1(client)

    # -- v2 pagers -------------------------------------------------------------------

    def _pager(
        self,
        level: RegionLevel,
        params: dict[str, str],
        limit: int | None,
        cursor: str | None,
    ) -> RegionPager:
        _check_limit(limit, allow_none=True)
        if cursor is not None and (not isinstance(cursor, str) or not cursor.strip()):
            raise ConfigurationError("cursor must be a non-empty string from a page's cursors")
        return RegionPager(self._page_fetcher(level, params, limit), cursor=cursor)

    def _page_fetcher(
        self, level: RegionLevel, params: dict[str, str], limit: int | None
    ) -> PageFetcher:
        path = f"/masterdata/v2/{level.path}"
        base = dict(params)
        if limit is not None:
            base["limit"] = str(limit)

        async def fetch(
            number: int, direction: Direction | None, cursor: str | None
        ) -> tuple[list[Region], PageMeta, str | None, str | None, ResponseContext]:
            query = dict(base)
            query["current_page"] = str(number)
            if direction is not None and cursor is not None:
                query["next" if direction == "next" else "prev"] = cursor
            response = await self._client.request("GET", path, params=query)
            items, meta, next_cursor, previous_cursor = decode_region_page(
                response.json(), level, response.ctx, response.body
            )
            return items, meta, next_cursor, previous_cursor, response.ctx

        return fetch

    def provinces(
        self, *, codes: CodeFilter = None, limit: int | None = None, cursor: str | None = None
    ) -> RegionPager:
        level = RegionLevel.PROVINCES
        return self._pager(level, _filters(level, None, codes), limit, cursor)

    def cities(
        self,
        *,
        province_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        level = RegionLevel.CITIES
        return self._pager(level, _filters(level, province_codes, codes), limit, cursor)

    def districts(
        self,
        *,
        city_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        level = RegionLevel.DISTRICTS
        return self._pager(level, _filters(level, city_codes, codes), limit, cursor)

    def sub_districts(
        self,
        *,
        district_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        level = RegionLevel.SUB_DISTRICTS
        return self._pager(level, _filters(level, district_codes, codes), limit, cursor)

    # -- bulk pull -------------------------------------------------------------------

    def pull(
        self,
        level: RegionLevel | str,
        *,
        parent_codes: CodeFilter = None,
        concurrency: int = 8,
        limit: int = 1000,
    ) -> RegionStream:
        """Every region of ``level`` (under ``parent_codes`` if given), each exactly once.

        Arguments are checked here, before any request. Regions arrive as pages
        arrive, not in code order. A shortfall against the server's ``meta.total``
        raises :class:`IncompleteDownloadError`; a page that still fails after the
        retry policy cancels the other fetches and raises. Use
        ``contextlib.aclosing`` to stop the fetches at once when leaving early;
        a plain ``break`` stops them when the iterator is collected.
        """
        target = RegionLevel.parse(level)
        _check_limit(limit, allow_none=False)
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not (
            1 <= concurrency <= 64
        ):
            raise ConfigurationError("concurrency must be an integer from 1 to 64")
        parents = self._parents(target, parent_codes)
        # Nothing is sent until the first item is asked for.
        return RegionStream(self._pull(target, parents, concurrency, limit))

    @staticmethod
    def _parents(target: RegionLevel, parent_codes: CodeFilter) -> list[str] | None:
        if parent_codes is None:
            return None
        try:
            raw = [parent_codes] if isinstance(parent_codes, (str, int)) else list(parent_codes)
        except TypeError:
            raise ConfigurationError(
                "parent_codes must be codes (str or int) or an iterable of them"
            ) from None
        if not raw:
            raise ConfigurationError("parent_codes is empty; pass None to pull the whole level")
        first = str(raw[0]).strip()
        try:
            parent_level = RegionLevel.from_code(first)
        except ConfigurationError:
            parent_level = None
        order = list(RegionLevel)
        if parent_level is None or order.index(parent_level) >= order.index(target):
            raise ConfigurationError(
                f"parent_codes must be codes of a level above {target.value} "
                f"(e.g. province codes like '11'); got {raw[0]!r}"
            )
        checked = _codes(raw, parent_level, "parent_codes")
        assert checked is not None
        return sorted(checked)

    async def _pull(
        self,
        target: RegionLevel,
        parents: list[str] | None,
        concurrency: int,
        limit: int,
    ) -> AsyncGenerator[list[Region], None]:
        if parents is None:
            queries: list[dict[str, str]] = [{}]
        else:
            # Walk down the tree one level at a time until the target's parents are known.
            level = RegionLevel.from_code(parents[0])
            codes = parents
            while level.child is not None and level.child is not target:
                child = level.child
                found: list[str] = []
                async with aclosing(
                    self._pull_level(child, _batches(child, codes), concurrency, limit)
                ) as regions:
                    async for batch in regions:
                        found.extend(region.code for region in batch)
                codes, level = sorted(found), child
            queries = _batches(target, codes) if codes else []
        async with aclosing(self._pull_level(target, queries, concurrency, limit)) as batches:
            async for batch in batches:
                yield batch

    async def _pull_level(
        self,
        level: RegionLevel,
        queries: list[dict[str, str]],
        concurrency: int,
        limit: int,
    ) -> AsyncGenerator[list[Region], None]:
        """Exactly-once delivery of every region the queries cover, count-checked.

        Yields one page at a time, decoded only now (see :class:`_PulledPage`); one
        list per page because per-item generator hops would dominate the cost of a
        village pull.
        """
        if not queries:
            return
        seen = CodeSet()
        expected = 0
        delivered = 0
        async with aclosing(self._pages(level, queries, concurrency, limit)) as pages:
            async for page in pages:
                page_fresh = 0
                meta = page.parse(level)[1]
                if page.number == 1:
                    expected += meta.total
                for items, keys in page.chunks(level):
                    fresh = seen.add(keys)
                    page_fresh += len(fresh)
                    if len(fresh) == len(items):
                        batch = items
                    else:
                        batch = []
                        for region, key in zip(items, keys, strict=True):
                            if key in fresh:
                                fresh.discard(key)
                                batch.append(region)
                    delivered += len(batch)
                    yield batch
                if meta.item_count and not page_fresh:
                    raise PaginationError(
                        f"page {page.number} of {level.value} held only regions already "
                        "delivered; the server is not paging by current_page"
                    )
        if delivered < expected:
            raise IncompleteDownloadError(
                f"pulled {delivered} of {expected} {level.value}: the platform's pages came back "
                "short — nothing was silently dropped; retry the pull",
                expected=expected,
                delivered=delivered,
            )

    async def _pages(
        self,
        level: RegionLevel,
        queries: list[dict[str, str]],
        concurrency: int,
        limit: int,
    ) -> AsyncGenerator[_PulledPage, None]:
        # Zero buffer: a worker hands its page straight to the consumer or waits.
        send, receive = anyio.create_memory_object_stream[_PulledPage](0)
        task = asyncio.ensure_future(self._pump(level, queries, concurrency, limit, send))
        try:
            async with receive:
                async for page in receive:
                    yield page
            await task
        except BaseExceptionGroup as group:
            raise _leaf_error(group) from None
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _pump(
        self,
        level: RegionLevel,
        queries: list[dict[str, str]],
        concurrency: int,
        limit: int,
        send: MemoryObjectSendStream[_PulledPage],
    ) -> None:
        limiter = anyio.CapacityLimiter(concurrency)
        jobs_send, jobs_receive = anyio.create_memory_object_stream[tuple[int, int]](math.inf)
        outstanding = len(queries)
        for index in range(len(queries)):
            jobs_send.send_nowait((index, 1))

        async def worker() -> None:
            nonlocal outstanding
            async for index, number in jobs_receive:
                async with limiter:
                    page = await self._pull_page(level, queries[index], number, limit)
                if number == 1:
                    pages = page.parse(level)[1].last_page
                    if pages > _MAX_PAGES:
                        raise PaginationError(
                            f"{level.value}: the server claims {pages} pages; refusing to plan "
                            "that many requests"
                        )
                    for later in range(2, pages + 1):
                        jobs_send.send_nowait((index, later))
                    outstanding += max(0, pages - 1)
                await send.send(page)
                outstanding -= 1
                if outstanding == 0:
                    jobs_send.close()

        # Every stream is closed on every exit (early break, failure), not only when the
        # last job is done: an unclosed anyio stream warns when it is collected.
        async with send, jobs_send, jobs_receive, anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)

    async def _pull_page(
        self,
        level: RegionLevel,
        query: dict[str, str],
        number: int,
        limit: int,
    ) -> _PulledPage:
        params = dict(query)
        params["current_page"] = str(number)
        params["limit"] = str(limit)
        response = await self._client.request(
            "GET", f"/masterdata/v2/{level.path}", params=params
        )
        return _PulledPage(number, response)
