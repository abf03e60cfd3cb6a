"""``client.fhir.search(...)``: a pager over a FHIR search, following ``next`` links.

The SDK never builds a page URL: it follows the server's ``link[relation=next]``,
only on the base URL's scheme, host and port (checked by :func:`next_request`, so
the token never goes anywhere else). Every walk is bounded: a repeated ``next``
link, more than ``max_pages`` pages or more than ``timeout`` seconds is a
:class:`PaginationError`, never an endless loop and never a silently short list.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._checks import is_int
from .._fhir_wire import SearchPage, decode_searchset, next_request
from .._paths import fhir_type_path
from ..errors import (
    ConfigurationError,
    IncompleteDownloadError,
    MultipleResultsError,
    NotFoundError,
    PaginationError,
)

if TYPE_CHECKING:
    from .._base_client import BaseClient

__all__ = ["DEFAULT_MAX_PAGES", "DEFAULT_WALK_TIMEOUT", "SearchPager"]

R = TypeVar("R")

#: Pages one walk may take unless told otherwise (100,000 resources at _count=100).
DEFAULT_MAX_PAGES = 1000
#: Seconds one walk may take unless told otherwise.
DEFAULT_WALK_TIMEOUT = 600.0


class SearchPager(Generic[R]):
    """The answer of ``client.fhir.search``: nothing is sent until it is iterated.

    ``async for resource in pager`` walks every page; :meth:`pages` yields
    :class:`SearchPage` objects; :meth:`all`, :meth:`first` and :meth:`one` collect.
    Each walk starts again from the first page.
    """

    def __init__(
        self,
        client: BaseClient,
        resource_type: str,
        params: Mapping[str, str],
        *,
        convert: Callable[[dict[str, Any]], R],
        max_pages: int,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.resource_type = resource_type
        self._path = fhir_type_path(resource_type)
        self._params = dict(params)
        self._convert = convert
        self.max_pages = max_pages
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        # Parameter names only: values may be a NIK.
        return f"<SearchPager {self.resource_type} params={sorted(self._params)}>"

    async def _walk(self, max_pages: int) -> AsyncIterator[SearchPage]:
        deadline = self._clock() + self.timeout
        path: str = self._path
        params: Mapping[str, str] = self._params
        seen: set[str] = set()
        for number in range(1, max_pages + 1):
            response = await self._client.request("GET", path, params=params)
            page = decode_searchset(
                response.ctx,
                response.json(),
                resource_type=self.resource_type,
                body=response.body,
            )
            yield page
            if page.next_url is None:
                return
            if page.next_url in seen:
                raise PaginationError(
                    f"search {self.resource_type}: the server sent the same next link twice "
                    f"(page {number + 1}); stopped instead of looping"
                )
            seen.add(page.next_url)
            path, params = next_request(self._client.base_url, page.next_url)
            if self._clock() > deadline:
                raise PaginationError(
                    f"search {self.resource_type}: still more pages after {self.timeout:g} s "
                    f"({number} pages); narrow the search or pass a larger timeout="
                )
        raise PaginationError(
            f"search {self.resource_type}: more pages left after {max_pages} page(s); nothing "
            "was cut short silently — narrow the search or pass a larger max_pages="
        )

    async def pages(self, *, max_pages: int | None = None) -> AsyncGenerator[SearchPage, None]:
        """Each page in turn (``resources`` converted by ``model=`` if one was given)."""
        async for page in self._walk(self._bound(max_pages)):
            yield SearchPage(
                total=page.total,
                resources=tuple(self._convert(r) for r in page.resources),
                next_url=page.next_url,
            )

    async def _resources(self, max_pages: int, *, complete: bool) -> AsyncGenerator[R, None]:
        delivered: set[str] = set()
        count = 0
        total: int | None = None
        async for page in self._walk(max_pages):
            if total is None:
                total = page.total
            for resource in page.resources:
                rid = resource.get("id")
                # A resource shifted onto the next page while paging: deliver it once.
                if isinstance(rid, str):
                    if rid in delivered:
                        continue
                    delivered.add(rid)
                count += 1
                yield self._convert(resource)
        if complete and total is not None and count < total:
            raise IncompleteDownloadError(
                f"search {self.resource_type}: the server said {total} match(es) but its "
                f"pages held {count}; the result would be short",
                expected=total,
                delivered=count,
            )

    def __aiter__(self) -> AsyncIterator[R]:
        return self._resources(self.max_pages, complete=True)

    def _bound(self, max_pages: int | None) -> int:
        value = self.max_pages if max_pages is None else max_pages
        if not is_int(value) or value < 1:
            raise ConfigurationError(f"max_pages must be a positive integer, got {value!r}")
        return value

    async def all(self, *, max_pages: int | None = None) -> list[R]:
        """Every match; more pages than ``max_pages`` left is a :class:`PaginationError`."""
        return [r async for r in self._resources(self._bound(max_pages), complete=True)]

    async def first(self) -> R | None:
        """The first match, or None; stops after the page that held it."""
        async with aclosing(self._resources(self.max_pages, complete=False)) as stream:
            async for resource in stream:
                return resource
        return None

    async def _up_to_two(self) -> list[R]:
        found: list[R] = []
        async with aclosing(self._resources(self.max_pages, complete=False)) as stream:
            async for resource in stream:
                found.append(resource)
                if len(found) == 2:
                    break
        return found

    async def one_or_none(self) -> R | None:
        """The only match, None if there is none; several is :class:`MultipleResultsError`."""
        found = await self._up_to_two()
        if len(found) > 1:
            raise MultipleResultsError(
                f"search {self.resource_type} ({', '.join(sorted(self._params))}) matched "
                "more than one resource where one was expected; narrow the search",
                resource_type=self.resource_type,
                count=len(found),
            )
        return found[0] if found else None

    async def one(self) -> R:
        """Exactly one match: none is :class:`NotFoundError`, several
        :class:`MultipleResultsError`."""
        found = await self.one_or_none()
        if found is None:
            raise NotFoundError(
                f"search {self.resource_type} ({', '.join(sorted(self._params))}) matched "
                "nothing; check the search values",
                status=404,
                method="GET",
                url=self._client.base_url + self._path,
            )
        return found
