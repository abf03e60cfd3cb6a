"""One home per concern: the region wire modules are pure, one exception-group unwrapper."""

from __future__ import annotations

import ast
import asyncio
import sys
from pathlib import Path

import pytest

import sehatmu_async
from sehatmu_async._exc_group import first_failure
from sehatmu_async.cli import _failures

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

PACKAGE = Path(sehatmu_async.__file__).parent


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / module).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", ["_regions_wire.py", "_regions_checked.py", "_models.py"])
def test_region_wire_modules_are_pure(module: str) -> None:
    imported = _imports(module)
    for forbidden in ("aiohttp", "anyio", "asyncio", "._base_client", "._pipeline", "._send"):
        assert forbidden not in imported, f"{module} imports {forbidden}"
    assert not any(name.startswith(".resources") for name in imported)


def test_the_cli_and_the_pull_share_one_unwrapper() -> None:
    assert _failures.first_failure is first_failure
    assert "first_failure" in (PACKAGE / "_pull.py").read_text()
    failure = ValueError("page 7 failed")
    group = BaseExceptionGroup(
        "workers", [asyncio.CancelledError(), ExceptionGroup("inner", [failure])]
    )
    assert first_failure(group) is failure
    only_cancelled = BaseExceptionGroup("workers", [asyncio.CancelledError()])
    assert isinstance(first_failure(only_cancelled), asyncio.CancelledError)
    assert first_failure(failure) is failure
