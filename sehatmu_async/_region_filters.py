"""Argument checks for region calls, made before any request: one spelling of each rule."""

from __future__ import annotations

from collections.abc import Iterable

from ._checks import is_int
from ._models import RegionLevel
from .errors import ConfigurationError

__all__ = [
    "FILTER_CHARS",
    "MAX_CONCURRENCY",
    "MAX_LIMIT",
    "MAX_SPLIT_REQUESTS",
    "MAX_WALK_FILTER_CHARS",
    "CodeFilter",
    "check_concurrency",
    "check_cursor",
    "check_limit",
    "check_parents",
    "check_walk_filters",
    "chunks",
    "codes",
    "filters",
    "split",
]

#: The platform refuses larger pages.
MAX_LIMIT = 2000
MAX_CONCURRENCY = 64
#: Characters of one filter's comma-joined codes per request: with two filters a URL
#: stays near 2 KB, far below what servers and proxies refuse (aiohttp's 8 KB line).
FILTER_CHARS = 1000
#: Requests one v1 call may be split into; more is a job for ``pull``.
MAX_SPLIT_REQUESTS = 256
#: Filter characters one v2 walk may send (a walk is one query, it cannot be split).
MAX_WALK_FILTER_CHARS = 4 * FILTER_CHARS

CodeFilter = Iterable[str | int] | str | int | None


def _items(value: str | int | Iterable[str | int], param: str) -> list[str | int]:
    # bytes iterate as integers (b"31" -> 51, 49): never a code list, always a mistake.
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ConfigurationError(
            f"{param}: {bytes(value)!r} is bytes; pass region codes as str or int "
            "(e.g. '31' or ['31', '32'])"
        )
    if isinstance(value, (str, int)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ConfigurationError(
            f"{param} must be codes (str or int) or an iterable of them"
        ) from None


def codes(value: CodeFilter, level: RegionLevel, param: str) -> list[str] | None:
    """Check a code filter: digits, the level's length, no duplicates (first order kept)."""
    if value is None:
        return None
    want = level.code_length
    seen: dict[str, None] = {}
    for item in _items(value, param):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ConfigurationError(f"{param}: {item!r} is not a region code (str or int)")
        code = str(item).strip()
        if not (code.isascii() and code.isdigit() and len(code) == want):
            raise ConfigurationError(
                f"{param}: {item!r} is not a {level.value} code; those are {want} digits "
                f"(e.g. {level.example!r})"
            )
        seen.setdefault(code, None)
    if not seen:
        raise ConfigurationError(f"{param} is empty; pass None to leave the filter out")
    return list(seen)


def filters(
    level: RegionLevel, parents: CodeFilter, own: CodeFilter
) -> dict[str, list[str]]:
    """The checked filters of a v1 or v2 query: parameter -> codes."""
    checked: dict[str, list[str]] = {}
    parent_level = level.parent
    if parent_level is not None and level.parent_filter is not None:
        parent_list = codes(parents, parent_level, level.parent_filter)
        if parent_list is not None:
            checked[level.parent_filter] = parent_list
    own_list = codes(own, level, "codes")
    if own_list is not None:
        checked["codes"] = own_list
    return checked


def check_parents(target: RegionLevel, value: CodeFilter) -> tuple[RegionLevel, list[str]] | None:
    """A pull's ``parent_codes``: their level (any above ``target``) and the sorted codes."""
    if value is None:
        return None
    raw = _items(value, "parent_codes")
    if not raw:
        raise ConfigurationError("parent_codes is empty; pass None to pull the whole level")
    first = str(raw[0]).strip()
    try:
        level: RegionLevel | None = RegionLevel.from_code(first)
    except ConfigurationError:
        level = None
    if level is None or not level.is_above(target):
        raise ConfigurationError(
            f"parent_codes must be codes of a level above {target.value} "
            f"(e.g. province codes like '11'); got {raw[0]!r}"
        )
    checked = codes(raw, level, "parent_codes")
    assert checked is not None
    return level, sorted(checked)


def check_limit(limit: object, *, allow_none: bool) -> None:
    if limit is None and allow_none:
        return
    if not is_int(limit) or not 1 <= limit <= MAX_LIMIT:
        raise ConfigurationError(
            f"limit must be an integer from 1 to {MAX_LIMIT} (the platform refuses more), "
            f"not {limit!r}"
        )


def check_concurrency(concurrency: object) -> None:
    if not is_int(concurrency) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ConfigurationError(
            f"concurrency must be an integer from 1 to {MAX_CONCURRENCY}"
        )


def check_cursor(cursor: object) -> None:
    if cursor is not None and (not isinstance(cursor, str) or not cursor.strip()):
        raise ConfigurationError("cursor must be a non-empty string from a page's cursors")


def chunks(codes: list[str], budget: int = FILTER_CHARS) -> list[str]:
    """``codes`` comma-joined in pieces of at most ``budget`` characters (one code at least)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for code in codes:
        if current and size + 1 + len(code) > budget:
            pieces.append(",".join(current))
            current, size = [], 0
        size += len(code) + (1 if current else 0)
        current.append(code)
    if current:
        pieces.append(",".join(current))
    return pieces


def split(checked: dict[str, list[str]], what: str) -> list[dict[str, str]]:
    """The queries that together ask what ``checked`` asks, each URL kept short.

    Every region matches one parent and one code, so the queries' answers are
    disjoint and their union is the one long query's answer.
    """
    queries: list[dict[str, str]] = [{}]
    for param, codes in checked.items():
        queries = [dict(query, **{param: piece}) for query in queries for piece in chunks(codes)]
    if len(queries) > MAX_SPLIT_REQUESTS:
        raise ConfigurationError(
            f"{what}: these filters need {len(queries)} requests of short URLs (at most "
            f"{MAX_SPLIT_REQUESTS}); use client.regions.pull(...) or fewer codes"
        )
    return queries


def check_walk_filters(level: RegionLevel, params: dict[str, str]) -> None:
    """Refuse a v2 walk whose filters would make a URL servers refuse (before sending)."""
    size = sum(len(value) for value in params.values())
    if size > MAX_WALK_FILTER_CHARS:
        raise ConfigurationError(
            f"v2 {level.value}: the filters are {size} characters, more than one URL can "
            f"carry ({MAX_WALK_FILTER_CHARS}); use client.regions.pull({level.value!r}, "
            "parent_codes=...) or client.regions.v1 (which splits long filters)"
        )
