"""Master Wilayah: v1 lists, v2 cursor pagers, and the bulk pull (engine in ``_pull.py``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio

from .._decoders import ResponseContext
from .._exc_group import first_failure
from .._models import Region, RegionLevel
from .._pull import RegionStream, pull
from .._region_filters import (
    CodeFilter,
    check_concurrency,
    check_cursor,
    check_limit,
    check_parents,
    check_walk_filters,
    filters,
    split,
)
from .._regions_wire import read_region_list, read_region_page
from ..errors import ConfigurationError
from ..pagination import Direction, PageFetcher, PageMeta, RegionPager

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from .._base_client import BaseClient

__all__ = ["RegionStream", "Regions", "RegionsV1"]

#: Requests in flight for one v1 call split into several.
_SPLIT_CONCURRENCY = 4


def _joined(checked: Mapping[str, list[str]]) -> dict[str, str]:
    return {param: ",".join(codes) for param, codes in checked.items()}


class RegionsV1:
    """Master Wilayah version 1: one request, one list."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    async def _list(
        self, level: RegionLevel, parents: CodeFilter, codes: CodeFilter
    ) -> list[Region]:
        checked = filters(level, parents, codes)
        # The platform requires the parent filter, or ``codes`` for provinces.
        required = level.parent_filter or "codes"
        if required not in checked:
            raise ConfigurationError(
                f"v1 {level.value} needs {required}= (the platform requires it); to list every "
                f"region of the level use client.regions.{level.value}() or .pull()"
            )
        queries = split(checked, f"v1 {level.value}")
        if len(queries) == 1:
            return await self._one(level, queries[0])
        return await self._split(level, queries)

    async def _one(self, level: RegionLevel, params: dict[str, str]) -> list[Region]:
        response = await self._client.request("GET", f"/masterdata/v1/{level.path}", params=params)
        return read_region_list(response.body, response.headers, response.ctx, level)

    async def _split(self, level: RegionLevel, queries: list[dict[str, str]]) -> list[Region]:
        """Long filters as several short requests, merged into what one would answer."""
        answers: list[list[Region]] = [[] for _ in queries]
        limiter = anyio.CapacityLimiter(_SPLIT_CONCURRENCY)

        async def fetch(index: int) -> None:
            async with limiter:
                answers[index] = await self._one(level, queries[index])

        try:
            async with anyio.create_task_group() as group:
                for index in range(len(queries)):
                    group.start_soon(fetch, index)
        except BaseExceptionGroup as failed:
            raise first_failure(failed) from None
        # In code order, as the platform lists one answer; a region twice only once.
        merged = {region.code: region for answer in answers for region in answer}
        return [merged[code] for code in sorted(merged)]

    async def provinces(self, codes: CodeFilter) -> list[Region]:
        return await self._list(RegionLevel.PROVINCES, None, codes)

    async def cities(self, province_codes: CodeFilter, codes: CodeFilter = None) -> list[Region]:
        return await self._list(RegionLevel.CITIES, province_codes, codes)

    async def districts(self, city_codes: CodeFilter, codes: CodeFilter = None) -> list[Region]:
        return await self._list(RegionLevel.DISTRICTS, city_codes, codes)

    async def sub_districts(
        self, district_codes: CodeFilter, codes: CodeFilter = None
    ) -> list[Region]:
        return await self._list(RegionLevel.SUB_DISTRICTS, district_codes, codes)


class Regions:
    """Master Wilayah: ``.v1`` lists, v2 pagers per level, and ``pull``."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self.v1: RegionsV1 = RegionsV1(client)

    # -- v2 pagers -------------------------------------------------------------------

    def _pager(
        self,
        level: RegionLevel,
        parents: CodeFilter,
        codes: CodeFilter,
        limit: int | None,
        cursor: str | None,
    ) -> RegionPager:
        params = _joined(filters(level, parents, codes))
        check_walk_filters(level, params)
        check_limit(limit, allow_none=True)
        check_cursor(cursor)
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
            items, meta, next_cursor, previous_cursor = read_region_page(
                response.body, response.headers, response.ctx, level
            )
            return items, meta, next_cursor, previous_cursor, response.ctx

        return fetch

    def provinces(
        self, *, codes: CodeFilter = None, limit: int | None = None, cursor: str | None = None
    ) -> RegionPager:
        return self._pager(RegionLevel.PROVINCES, None, codes, limit, cursor)

    def cities(
        self,
        *,
        province_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        return self._pager(RegionLevel.CITIES, province_codes, codes, limit, cursor)

    def districts(
        self,
        *,
        city_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        return self._pager(RegionLevel.DISTRICTS, city_codes, codes, limit, cursor)

    def sub_districts(
        self,
        *,
        district_codes: CodeFilter = None,
        codes: CodeFilter = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RegionPager:
        return self._pager(RegionLevel.SUB_DISTRICTS, district_codes, codes, limit, cursor)

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
        check_limit(limit, allow_none=False)
        check_concurrency(concurrency)
        return pull(self._client, target, check_parents(target, parent_codes), concurrency, limit)
