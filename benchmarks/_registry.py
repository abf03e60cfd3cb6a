"""The scenario registry: ``@scenario("name")`` on a function in any ``benchmarks/_*scenarios.py``.

A scenario takes the number of repetitions and returns (or awaits to) a dict of
figures. Adding one is one line above its function; ``python -m benchmarks`` finds
every ``_*scenarios`` module of this package by itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["SCENARIOS", "discover", "scenario"]

Scenario = Callable[[int], "dict[str, Any] | Awaitable[dict[str, Any]]"]
F = TypeVar("F", bound=Callable[..., Any])

#: name -> scenario, in registration order.
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[F], F]:
    """Register the decorated function as the scenario ``name``."""

    def register(function: F) -> F:
        if name in SCENARIOS and SCENARIOS[name] is not function:
            raise ValueError(f"two benchmark scenarios are named {name!r}")
        SCENARIOS[name] = function
        return function

    return register


def discover() -> dict[str, Scenario]:
    """Import every ``_*scenarios`` module here (``_scenarios`` first) and return the registry."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("_") and info.name.endswith("scenarios")
    )
    names.sort(key=lambda name: name != "_scenarios")
    for name in names:
        importlib.import_module(f"{__package__}.{name}")
    return SCENARIOS
