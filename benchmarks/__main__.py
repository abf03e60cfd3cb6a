"""``python -m benchmarks``: run the scenarios, print a table, write JSON.

Results go to ``benchmarks/results/<UTC time>.json`` (untracked), never over a file
of the repository; ``--out`` picks another path.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sehatmu_async import __version__

from ._registry import discover

SCENARIOS = discover()
RESULTS_DIR = Path(__file__).parent / "results"


def _default_out() -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}.json"


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": model,
        "cores": os.cpu_count(),
        "sehatmu_async": __version__,
    }


def _table(results: dict[str, Any]) -> str:
    lines = [f"{'scenario':<18} {'figure':<44} value"]
    for name, figures in results.items():
        if name == "machine":
            continue
        for key, value in figures.items():
            if key == "runs":
                for contender, stats in value.items():
                    lines.append(
                        f"{name:<18} {contender + ' median wall / cpu s':<44} "
                        f"{stats['median_wall_s']} / {stats['median_cpu_s']}"
                    )
                continue
            lines.append(f"{name:<18} {key:<44} {value}")
    return "\n".join(lines)


async def _run(names: list[str], repetitions: int) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": _machine()}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        outcome = SCENARIOS[name](repetitions)
        results[name] = await outcome if inspect.isawaitable(outcome) else outcome
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<UTC time>.json")
    args = parser.parse_args()
    args.out = args.out or _default_out()
    results = asyncio.run(_run(args.only or list(SCENARIOS), args.repetitions))
    print(_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
