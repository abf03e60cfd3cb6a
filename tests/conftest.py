"""Fixtures shared by every test folder (keep small: folder fixtures live with their tests)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator

import pytest

#: Loggers of aiohttp's server side (the fake platforms tests run), not of the SDK.
_SERVER_LOGGERS = ("aiohttp.access", "aiohttp.server", "aiohttp.web")


class SecretScan:
    """Collects texts that users could see (logs, exceptions, reprs) and checks for secrets.

    Log records come from ``caplog`` at DEBUG for every client-side logger. Objects handed to
    :meth:`add` are scanned through ``str``, ``repr``, ``args``, their attributes and,
    for exceptions, their whole ``__cause__``/``__context__`` chain and traceback text.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self._objects: list[object] = []

    def records(self) -> list[logging.LogRecord]:
        """Records of the SDK's side: a local test server's own access log is not scanned."""
        return [r for r in self._caplog.records if not r.name.startswith(_SERVER_LOGGERS)]

    def add(self, *objects: object) -> None:
        self._objects.extend(objects)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every scanned text."""
        for record in self.records():
            where = f"log record {record.name}:{record.levelname}"
            yield where, record.getMessage()
            yield where, repr(record.args)
            yield where, str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                yield where, "".join(traceback.format_exception(record.exc_info[1]))
        for obj in self._objects:
            yield from _object_texts(obj)

    def assert_clean(self, *secrets: str) -> None:
        secrets = tuple(s for s in secrets if s)
        assert secrets, "nothing to scan for"
        for where, text in self.texts():
            for secret in secrets:
                assert secret not in text, f"secret {secret[:4]}… leaked in {where}: {text!r}"


def _object_texts(obj: object, seen: set[int] | None = None) -> Iterable[tuple[str, str]]:
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    where = f"{type(obj).__name__} object"
    yield where, str(obj)
    yield where, repr(obj)
    if isinstance(obj, BaseException):
        yield where, repr(obj.args)
        yield where, "".join(traceback.format_exception(obj))
        for attr, value in vars(obj).items():
            yield f"{where}.{attr}", repr(value)
        for linked in (obj.__cause__, obj.__context__):
            if linked is not None:
                yield from _object_texts(linked, seen)


@pytest.fixture
def secret_scan(caplog: pytest.LogCaptureFixture) -> SecretScan:
    """Capture logs at DEBUG; ``secret_scan.add(exc)``, then ``assert_clean(secret, ...)``."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sehatmu_async")
    return SecretScan(caplog)
