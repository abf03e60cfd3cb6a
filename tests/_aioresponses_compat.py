"""aioresponses that works with aiohttp >= 3.13.

aioresponses 0.7.9 (the latest) builds ``ClientResponse`` without the
``stream_writer`` argument aiohttp 3.13 made required; every mocked answer then
fails before the SDK sees it. This subclass supplies a stand-in writer.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
from aioresponses import aioresponses


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class compat_aioresponses(aioresponses):
    def add(self, url: Any, method: str = "GET", *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(url, method, *args, **kwargs)
