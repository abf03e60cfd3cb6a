"""The bulk pull engine: every region of a level (or a subtree), exactly once, count-checked.

A pull learns ``total_page`` from page 1 of a query, then fetches the other pages by
page number with at most ``concurrency`` requests in flight. The pages are fetched by
a fixed pool of workers in a background task; each worker holds at most one page
while it waits for the consumer, so memory is bounded by the pages in flight however
slowly the consumer reads, and a consumer that stops early (``break``, cancellation)
cancels the workers.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ._codeset import CodeSet, take
from ._decoders import BODY_EXCERPT_CHARS, request_id_suffix
from ._exc_group import first_failure
from ._models import Region, RegionLevel
from ._region_filters import chunks
from ._regions_wire import PulledData, read_pull_page
from .errors import IncompleteDownloadError, PaginationError

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from ._base_client import BaseClient, Response

__all__ = ["RegionStream", "pull"]

#: Regions built, checked and handed over at a time; the pull yields to the event loop
#: between slices, so no stretch of its work holds the loop for more than about a
#: millisecond, even for a page of 2000.
SLICE = 500
BODY_EXCERPT_BYTES = BODY_EXCERPT_CHARS * 4
#: No pull plans more pages than this for one query, whatever the server claims.
_MAX_PAGES = 1_000_000


def _batches(level: RegionLevel, parents: list[str]) -> list[dict[str, str]]:
    """One query per batch of parent codes, filter strings kept short."""
    param = level.parent_filter
    assert param is not None
    return [{param: piece} for piece in chunks(parents)]


class _PulledPage:
    """A fetched page of a pull, waiting for the consumer.

    Pages wait as the raw answer (about 110 bytes a village) and are decoded when the
    consumer reaches them; only page 1 is decoded on arrival, because its meta plans
    the other pages.
    """

    __slots__ = ("data", "number", "response")

    def __init__(self, number: int, response: Response) -> None:
        self.number = number
        self.response = response
        self.data: PulledData | None = None

    def decode(self, level: RegionLevel) -> PulledData:
        """The page's items and checked meta; decodes once."""
        if self.data is None:
            response = self.response
            data = read_pull_page(
                response.body, response.headers, response.ctx, response.body[:BODY_EXCERPT_BYTES]
            )
            if data.meta.current != self.number:
                raise PaginationError(
                    f"asked {level.value} page {self.number} but the server answered page "
                    f"{data.meta.current}{request_id_suffix(response.ctx.request_id)}"
                )
            self.data = data
        return self.data


class _Position:
    """Where per-region iteration is in the current batch (shared with ``batches()``)."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Iterator[Region] = iter(())


async def _flatten(
    batches: AsyncGenerator[list[Region], None], position: _Position
) -> AsyncGenerator[Region, None]:
    try:
        async for batch in batches:
            position.current = current = iter(batch)
            for region in current:
                yield region
    finally:
        # Left early (or collected): close the pull now, in order, from here.
        await batches.aclose()


class RegionStream:
    """What ``client.regions.pull`` returns: an async iterator of regions with ``aclose()``.

    Regions come one by one from an async generator that flattens the pull's batches
    (CPython resumes those faster than any ``__anext__`` written in Python), or a
    list at a time from :meth:`batches`. Leaving early closes the pull (``aclose``,
    or the generators' finalizers when this object is collected), which cancels the
    fetches.
    """

    __slots__ = ("_batches", "_flat", "_position")

    def __init__(self, batches: AsyncGenerator[list[Region], None]) -> None:
        self._batches = batches
        self._position = _Position()
        # Not a method generator: one holding ``self`` would make a reference cycle, and
        # the collector then finalizes the whole chain of generators at once, out of order.
        self._flat = _flatten(batches, self._position)

    def __aiter__(self) -> AsyncIterator[Region]:
        return self._flat

    def __anext__(self) -> Awaitable[Region]:
        return self._flat.__anext__()

    def batches(self) -> AsyncIterator[list[Region]]:
        """The rest of the pull a list at a time (at most a slice of one page each).

        For consumers that handle regions in bulk: no await per region. Regions already
        taken one by one are not repeated. Close the stream itself to stop early.
        """
        return self._rest()

    async def _rest(self) -> AsyncGenerator[list[Region], None]:
        rest = list(self._position.current)
        if rest:
            yield rest
        async for batch in self._batches:
            if batch:
                yield batch

    async def aclose(self) -> None:
        """Stop the pull now: cancel fetches in flight and release their connections."""
        self._position.current = iter(())
        await self._flat.aclose()
        await self._batches.aclose()


def pull(
    client: BaseClient,
    target: RegionLevel,
    parents: tuple[RegionLevel, list[str]] | None,
    concurrency: int,
    limit: int,
) -> RegionStream:
    """The pull of checked arguments; nothing is sent until the first item is asked for."""
    return RegionStream(_Pull(client, concurrency, limit).run(target, parents))


class _Pull:
    """One pull's settings and its fetch pipeline."""

    def __init__(self, client: BaseClient, concurrency: int, limit: int) -> None:
        self._client = client
        self._concurrency = concurrency
        self._limit = limit

    async def run(
        self, target: RegionLevel, parents: tuple[RegionLevel, list[str]] | None
    ) -> AsyncGenerator[list[Region], None]:
        if parents is None:
            queries: list[dict[str, str]] = [{}]
        else:
            # Walk down the tree one level at a time until the target's parents are known.
            level, codes = parents
            while level.child is not None and level.child is not target:
                child = level.child
                found: list[str] = []
                async with aclosing(self._level(child, _batches(child, codes))) as regions:
                    async for batch in regions:
                        found.extend(region.code for region in batch)
                codes, level = sorted(found), child
            queries = _batches(target, codes) if codes else []
        async with aclosing(self._level(target, queries)) as batches:
            async for batch in batches:
                yield batch

    async def _level(
        self, level: RegionLevel, queries: list[dict[str, str]]
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
        async with aclosing(self._pages(level, queries)) as pages:
            async for page in pages:
                data = page.decode(level)
                if page.number == 1:
                    expected += data.meta.total
                page_fresh = 0
                for start in range(0, len(data), SLICE):
                    # A page of several slices: the loop runs between its decode (one
                    # msgspec call) and each slice of region building and checking.
                    if len(data) > SLICE:
                        await asyncio.sleep(0)
                    items, codes = data.regions(start, start + SLICE, level)
                    fresh = seen.add_page(codes)
                    if fresh is not None:
                        items = [r for r in items if take(fresh, int(r.code))]
                    page_fresh += len(items)
                    delivered += len(items)
                    yield items
                # Only the raw answer stays referenced once the page is handed over.
                page.data = None
                if data.meta.item_count and not page_fresh:
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
        self, level: RegionLevel, queries: list[dict[str, str]]
    ) -> AsyncGenerator[_PulledPage, None]:
        # Zero buffer: a worker hands its page straight to the consumer or waits.
        send, receive = anyio.create_memory_object_stream[_PulledPage](0)
        task = asyncio.ensure_future(self._pump(level, queries, send))
        try:
            async with receive:
                async for page in receive:
                    yield page
            await task
        except BaseExceptionGroup as group:
            raise first_failure(group) from None
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _pump(
        self,
        level: RegionLevel,
        queries: list[dict[str, str]],
        send: MemoryObjectSendStream[_PulledPage],
    ) -> None:
        limiter = anyio.CapacityLimiter(self._concurrency)
        jobs_send, jobs_receive = anyio.create_memory_object_stream[tuple[int, int]](math.inf)
        outstanding = len(queries)
        for index in range(len(queries)):
            jobs_send.send_nowait((index, 1))

        async def worker() -> None:
            nonlocal outstanding
            async for index, number in jobs_receive:
                async with limiter:
                    page = await self._fetch(level, queries[index], number)
                if number == 1:
                    pages = page.decode(level).meta.last_page
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
            for _ in range(self._concurrency):
                group.start_soon(worker)

    async def _fetch(self, level: RegionLevel, query: dict[str, str], number: int) -> _PulledPage:
        params = dict(query)
        params["current_page"] = str(number)
        params["limit"] = str(self._limit)
        response = await self._client.request(
            "GET", f"/masterdata/v2/{level.path}", params=params
        )
        return _PulledPage(number, response)
