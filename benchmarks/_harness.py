"""Shared measurement tools: a sandbox process, timers, medians."""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxProcess:
    url: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[str]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_sandbox(latency_ms: float = 0.0) -> SandboxProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", "--latency-ms", str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the benchmark sandbox did not start")
    info = json.loads(line)
    return SandboxProcess(info["url"], info["client_id"], info["client_secret"], process)


@dataclass
class Sample:
    wall: float
    cpu: float
    result: Any = None


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_wall_s": round(self.wall, 4),
            "median_cpu_s": round(self.cpu, 4),
            "walls_s": [round(s.wall, 4) for s in self.samples],
        }


def throughput(series: dict[str, Series], per_run: int, unit: str) -> dict[str, Any]:
    """Runs, rates of ``unit`` per second for the SDK and aiohttp, and their ratio."""
    sdk_rate = per_run / series["sdk"].wall
    base_rate = per_run / series["aiohttp"].wall
    return {
        "runs": {name: s.as_dict() for name, s in series.items()},
        f"sdk_{unit}_per_s": round(sdk_rate),
        f"aiohttp_{unit}_per_s": round(base_rate),
        "throughput_ratio": round(sdk_rate / base_rate, 3),
    }


async def measure(run: Callable[[], Awaitable[Any]]) -> Sample:
    """Wall time and this process's CPU time of one run."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = await run()
    return Sample(time.perf_counter() - wall0, time.process_time() - cpu0, result)


async def interleaved(
    runs: dict[str, Callable[[], Awaitable[Any]]], repetitions: int
) -> dict[str, Series]:
    """Run each contender once per round, alternating order, so drift hits all alike."""
    series = {name: Series() for name in runs}
    names = list(runs)
    for round_number in range(repetitions):
        order = names if round_number % 2 == 0 else list(reversed(names))
        for name in order:
            # Every contender starts from the same collected heap: the garbage one run
            # leaves must not be collected on the next one's time.
            gc.collect()
            series[name].samples.append(await measure(runs[name]))
            await asyncio.sleep(0)
    return series


async def worst_lateness(run: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    """``run()``'s result and the worst lateness (s) of a task sleeping 1 ms meanwhile.

    What a service embedding the SDK feels: every stretch of work that holds the loop
    delays its other tasks by that long.
    """
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)

    task = asyncio.ensure_future(ticker())
    try:
        result = await run()
    finally:
        running = False
        await task
    return result, worst
