"""The reference region data for tests: ``../shared/data/wilayah`` when it is beside the
repository (as in CI), else the copy shipped inside the package."""

from __future__ import annotations

import csv
import gzip
import io
from functools import cache
from importlib import resources
from pathlib import Path

TOTALS = {"provinces": 37, "cities": 514, "districts": 7277, "sub_districts": 83763}
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "wilayah"

Row = tuple[str, str, str, str]  # code, parent_code, bps_code, name


@cache
def rows(level: str) -> tuple[Row, ...]:
    """The rows of ``<level>.csv``, checked against the known totals."""
    path = SHARED_DATA / f"{level}.csv"
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        packaged = resources.files("sehatmu_async.sandbox") / "data" / f"{level}.csv.gz"
        text = gzip.decompress(packaged.read_bytes()).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == ["code", "parent_code", "bps_code", "name"]
    out = tuple((r[0], r[1], r[2], r[3]) for r in reader)
    assert len(out) == TOTALS[level], (level, len(out))
    return out
