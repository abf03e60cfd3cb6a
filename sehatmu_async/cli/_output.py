"""Row formats (JSON Lines, CSV); where rows go is ``_output_file``'s job."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import orjson

from .._models import Region
from ._output_file import open_output

__all__ = ["FIELDS", "RowFormat", "open_output", "row_format"]

FIELDS = ("code", "parent_code", "bps_code", "name", "level")

#: One region as bytes, newline included.
RowFormat = Callable[[Region], bytes]


def _jsonl_row(region: Region) -> bytes:
    return orjson.dumps(
        {
            "code": region.code,
            "parent_code": region.parent_code,
            "bps_code": region.bps_code,
            "name": region.name,
            "level": region.level.value,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


class _CsvRows:
    """CSV rows through the csv module's quoting, one reused buffer."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        # "\n" rather than the csv module's "\r\n": the other output is JSON Lines and
        # the usual readers (Python, pandas, spreadsheets, awk) take either.
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def _line(self, values: tuple[str | None, ...]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(values)  # None becomes an empty field
        return self._buffer.getvalue().encode("utf-8")

    def header(self) -> bytes:
        return self._line(FIELDS)

    def __call__(self, region: Region) -> bytes:
        return self._line(
            (region.code, region.parent_code, region.bps_code, region.name, region.level.value)
        )


def row_format(name: str) -> tuple[bytes, RowFormat]:
    """The header (empty for JSON Lines) and the row function of format ``name``."""
    if name == "csv":
        rows = _CsvRows()
        return rows.header(), rows
    return b"", _jsonl_row


