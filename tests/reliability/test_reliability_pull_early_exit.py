"""Leaving a pull early closes what it opened."""

from __future__ import annotations

import gc
import warnings
from typing import Any

from _fakes import client_for

from sehatmu_async.sandbox import Sandbox


async def test_leaving_a_pull_early_leaves_no_unclosed_stream() -> None:
    async with Sandbox() as sandbox, client_for(sandbox) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            stream = client.regions.pull("sub_districts", limit=100)
            async for index, _ in _enumerate(stream):
                if index == 250:
                    break
            await stream.aclose()
            del stream
            gc.collect()

async def _enumerate(stream: Any) -> Any:
    index = 0
    async for item in stream:
        yield index, item
        index += 1
