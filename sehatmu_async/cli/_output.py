"""Row formats (JSON Lines, CSV) and the output: stdout, or a file replaced only on success."""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import BinaryIO

import orjson

from .._models import Region
from ._failures import UsageError

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


def _new_file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777  # replacing a file keeps its permissions
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def _atomic_file(path: str) -> Iterator[BinaryIO]:
    if os.path.isdir(path):
        raise UsageError(f"--out {path!r} is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        # Same directory as the target, so os.replace is a rename on one filesystem.
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, _new_file_mode(path))
        os.replace(temp, path)
    except BaseException:
        # Any failure, Ctrl-C included: the previous file stays as it was.
        with suppress(OSError):
            os.unlink(temp)
        raise


@contextmanager
def _stdout() -> Iterator[BinaryIO]:
    out = sys.stdout.buffer
    yield out
    out.flush()


def open_output(path: str) -> AbstractContextManager[BinaryIO]:
    """``-``: stdout; else a temporary file beside ``path``, moved over it on success."""
    return _stdout() if path == "-" else _atomic_file(path)
