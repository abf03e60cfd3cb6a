"""``sehatmu regions pull LEVEL``: every region of a level as JSON Lines or CSV."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import aclosing
from typing import Any

from rich.console import Console

from .._client import SehatMuClient
from .._models import RegionLevel
from ..errors import SehatMuError
from ._connect import client_from_args
from ._output import row_format
from ._output_file import check_output
from ._progress import Bars

__all__ = ["regions_pull"]


async def _level_total(client: SehatMuClient, level: RegionLevel) -> int | None:
    """The level's size, for the bar's 100%: one page of one item."""
    pager: Any = getattr(client.regions, level.value)(limit=1)
    try:
        page = await pager.first_page()
    except SehatMuError:
        return None  # only the bar suffers; the pull reports the failure if it persists
    total: int = page.meta.total
    return total


def _show_progress(out: str) -> bool:
    # With both streams on one terminal, the rows scrolling by are the progress, and
    # a live bar would be torn up by them.
    return sys.stderr.isatty() and (out != "-" or not sys.stdout.isatty())


async def regions_pull(args: argparse.Namespace) -> int:
    level = RegionLevel.parse(args.level)
    # Before the client exists: a path that cannot be written costs no request.
    output = check_output(args.out)
    client = client_from_args(args)
    async with client:
        # Checks every argument (limit, concurrency, parent codes) before any request
        # and before the output file is touched.
        regions = client.regions.pull(
            level, parent_codes=args.parents, concurrency=args.concurrency, limit=args.limit
        )
        header, row = row_format(args.format)
        show = _show_progress(args.out)
        started = time.perf_counter()
        with output.open() as out, Bars(Console(stderr=True) if show else None) as bars:
            total = await _level_total(client, level) if show and not args.parents else None
            bar = bars.bar(level.value, total)
            out.write(header)
            async with aclosing(regions) as stream:
                async for region in stream:
                    out.write(row(region))
                    bar.add()
            bar.done()
    if sys.stderr.isatty():
        elapsed = time.perf_counter() - started
        sys.stderr.write(
            f"sehatmu: {bar.count} {level.value} written to {output.where} in {elapsed:.1f} s\n"
        )
    return 0
