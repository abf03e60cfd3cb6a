"""Exactly-once bookkeeping for bulk pulls, in about 8 bytes per region code.

A plain ``set`` of the 83,763 village codes costs about 7 MB, more than the
pull's whole streaming budget. Region codes are fixed-length digit strings, so
they fit in unsigned 64-bit integers, and the platform serves them ordered by
code (its keyset cursors depend on that), so each page covers a narrow code
range that other pages do not touch. We keep one sorted ``array('Q')`` per
run of codes, the runs disjoint and ordered: a page overlapping no run becomes
a run of its own; a page that does overlap (an unordered or shifting server) is
merged with the runs it touches, which costs more but stays exact.

A pull's usual page (its codes sorted, a range of its own) is kept as it came: the
page's codes joined into one string (:meth:`CodeSet.add_page`), so the hot path
never converts 83,763 codes to integers; a run is unpacked only if a later page
overlaps it.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

__all__ = ["CodeSet", "take"]


class _Packed(Sequence[int]):
    """A run of equal-width digit codes joined into one string, read as integers."""

    __slots__ = ("_joined", "_width")

    def __init__(self, joined: str, width: int) -> None:
        self._joined = joined
        self._width = width

    def __len__(self) -> int:
        return len(self._joined) // self._width

    def __getitem__(self, index: int) -> int:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        width = self._width
        return int(self._joined[index * width : (index + 1) * width])

    def __iter__(self) -> Iterator[int]:
        joined, width = self._joined, self._width
        return (int(joined[i : i + width]) for i in range(0, len(joined), width))


class CodeSet:
    """Remembers integer codes; :meth:`add` says which of a batch are new."""

    __slots__ = ("_count", "_firsts", "_lasts", "_runs")

    def __init__(self) -> None:
        self._runs: list[Sequence[int]] = []
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, int):
            return False
        index = bisect_right(self._firsts, code) - 1
        if index < 0 or self._lasts[index] < code:
            return False
        run = self._runs[index]
        position = bisect_left(run, code)
        return position < len(run) and run[position] == code

    def add(self, codes: Iterable[int]) -> set[int]:
        """Record ``codes``; return those not seen before (duplicates in the batch count once)."""
        batch = sorted(set(codes))
        if not batch:
            return set()
        low, high = batch[0], batch[-1]
        # Runs are disjoint and sorted, so the ones overlapping [low, high] are contiguous.
        start = bisect_left(self._lasts, low)
        stop = bisect_right(self._firsts, high)
        if start >= stop:
            self._insert(start, start, batch)
            return set(batch)
        known: set[int] = set()
        for run in self._runs[start:stop]:
            known.update(run)
        fresh = [code for code in batch if code not in known]
        if fresh:
            known.update(fresh)
            self._insert(start, stop, sorted(known))
        return set(fresh)

    def add_page(self, codes: list[str]) -> set[int] | None:
        """Record a page's codes (ASCII digit strings of one width, as checked by the caller).

        Returns None when every code is new and the page's own (the usual page:
        sorted, distinct, a range no earlier page touched), else the new codes as
        integers, as :meth:`add` does.
        """
        if codes and all(map(operator.lt, codes, islice(codes, 1, None))):
            low, high = int(codes[0]), int(codes[-1])
            start = bisect_left(self._lasts, low)
            if start >= bisect_right(self._firsts, high):
                self._runs.insert(start, _Packed("".join(codes), len(codes[0])))
                self._firsts.insert(start, low)
                self._lasts.insert(start, high)
                self._count += len(codes)
                return None
        return self.add(map(int, codes))

    def _insert(self, start: int, stop: int, merged: list[int]) -> None:
        replaced = sum(len(run) for run in self._runs[start:stop])
        self._runs[start:stop] = [array("Q", merged)]
        self._firsts[start:stop] = [merged[0]]
        self._lasts[start:stop] = [merged[-1]]
        self._count += len(merged) - replaced


def take(fresh: set[int], code: int) -> bool:
    """True the first time a new code is met: a batch repeating a code delivers it once."""
    if code in fresh:
        fresh.discard(code)
        return True
    return False
