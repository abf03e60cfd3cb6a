"""The region store: the four Master Wilayah levels, loaded once per process.

The CSVs (``code,parent_code,bps_code,name``) ship gzipped beside this module. Every
region is serialised to JSON once, at load time, so that a page is served by joining
byte slices instead of building and dumping thousands of dicts per request.
"""

from __future__ import annotations

import bisect
import csv
import functools
import gzip
import io
from collections.abc import Iterable, Sequence
from importlib import resources

import attrs
import orjson

LEVELS: tuple[str, ...] = ("provinces", "cities", "districts", "sub_districts")


@attrs.frozen(eq=False)
class Level:
    """One administrative level, every column kept in code order."""

    name: str
    codes: list[str]
    parents: list[str]
    # The JSON object of each region, ready to be joined into a response.
    blobs: list[bytes]
    position: dict[str, int]
    children: dict[str, list[int]]

    def select(
        self, parent_codes: Iterable[str] | None, codes: Iterable[str] | None
    ) -> Sequence[int]:
        """Positions of the regions matching both filters (``None`` = no filter), ascending.

        With no filter at all this is a ``range``, which lets a page be cut straight out
        of ``blobs`` without copying positions.
        """
        if codes is not None:
            found = sorted({self.position[c] for c in codes if c in self.position})
            if parent_codes is None:
                return found
            wanted = set(parent_codes)
            return [i for i in found if self.parents[i] in wanted]
        if parent_codes is not None:
            merged: set[int] = set()
            for parent in parent_codes:
                merged.update(self.children.get(parent, ()))
            return sorted(merged)
        return range(len(self.codes))

    def after(self, selection: Sequence[int], code: str) -> int:
        """Index in ``selection`` of the first region whose code is greater than ``code``."""
        return bisect.bisect_right(selection, code, key=self.codes.__getitem__)

    def before(self, selection: Sequence[int], code: str) -> int:
        """Index in ``selection`` of the first region whose code is not less than ``code``."""
        return bisect.bisect_left(selection, code, key=self.codes.__getitem__)

    def blobs_of(self, positions: Sequence[int]) -> list[bytes]:
        if isinstance(positions, range) and positions.step == 1:
            return self.blobs[positions.start : positions.stop]
        blobs = self.blobs
        return [blobs[i] for i in positions]


def _read_rows(level: str) -> list[list[str]]:
    source = resources.files(__package__) / "data" / f"{level}.csv.gz"
    with gzip.open(io.BytesIO(source.read_bytes()), "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)  # header: code,parent_code,bps_code,name
        return sorted((row for row in reader if row), key=lambda row: row[0])


def _build_level(name: str, rows: list[list[str]]) -> Level:
    codes: list[str] = []
    parents: list[str] = []
    blobs: list[bytes] = []
    children: dict[str, list[int]] = {}
    for index, (code, parent_code, bps_code, region_name) in enumerate(rows):
        codes.append(code)
        parents.append(parent_code)
        blobs.append(
            orjson.dumps(
                {
                    "code": code,
                    "parent_code": parent_code,
                    "bps_code": bps_code,
                    "name": region_name,
                }
            )
        )
        children.setdefault(parent_code, []).append(index)
    return Level(
        name=name,
        codes=codes,
        parents=parents,
        blobs=blobs,
        position={code: i for i, code in enumerate(codes)},
        children=children,
    )


@functools.cache
def load_regions() -> dict[str, Level]:
    """Every level, keyed by its name in ``LEVELS``; parsed on first call only."""
    return {name: _build_level(name, _read_rows(name)) for name in LEVELS}
