"""Exactly-once bookkeeping for bulk pulls, in about 8 bytes per region code.

A plain ``set`` of the 83,763 village codes costs about 7 MB, more than the
pull's whole streaming budget. Region codes are fixed-length digit strings, so
they fit in unsigned 64-bit integers, and the platform serves them ordered by
code (its keyset cursors depend on that), so each page covers a narrow code
range that other pages do not touch. We keep one sorted ``array('Q')`` per
run of codes, the runs disjoint and ordered: a page overlapping no run becomes
a run of its own; a page that does overlap (an unordered or shifting server) is
merged with the runs it touches, which costs more but stays exact.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

__all__ = ["CodeSet"]


class CodeSet:
    """Remembers integer codes; :meth:`add` says which of a batch are new."""

    __slots__ = ("_count", "_firsts", "_lasts", "_runs")

    def __init__(self) -> None:
        self._runs: list[array[int]] = []
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

    def _insert(self, start: int, stop: int, merged: list[int]) -> None:
        replaced = sum(len(run) for run in self._runs[start:stop])
        self._runs[start:stop] = [array("Q", merged)]
        self._firsts[start:stop] = [merged[0]]
        self._lasts[start:stop] = [merged[-1]]
        self._count += len(merged) - replaced
