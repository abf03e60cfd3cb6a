"""The package exports every name ``sdk.md`` promises users (as httpx's exported-members
test): the names of its code blocks, its error tree and the class names its prose quotes.

``sdk.md`` is the contract; when it names a new class, this test fails until the package
exports it. The spec is read from ``../shared/spec/sdk.md`` beside the repository (as in
CI); without it the test skips, except under CI.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import os
import re
import types
from pathlib import Path

import pytest

import sehatmu_async

SDK_MD = Path(__file__).resolve().parents[3] / "shared" / "spec" / "sdk.md"

#: Capitalised words of the code blocks that are not names of this SDK (an HTTP verb in a
#: comment).
NOT_SDK_NAMES = frozenset({"PUT"})


def _spec() -> str:
    if not SDK_MD.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SDK_MD} is missing: CI checks the exports against it")
        pytest.skip(f"{SDK_MD} is not beside the repository")
    return SDK_MD.read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)


def _code_names(code: str) -> set[str]:
    """Capitalised identifiers of Python code: not inside strings, not after a dot."""
    # Names interpolated in f-strings count (``f"{NIK_SYSTEM}|{nik}"``); the rest of a
    # string literal does not (``"Encounter"``).
    code = re.sub(r"f\"([^\"\n]*)\"", lambda m: " ".join(re.findall(r"\{(.*?)\}", m[1])), code)
    code = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", "''", code)
    # Environment variables in comments (``SEHATMU_CLIENT_ID``) are not Python names.
    code = re.sub(r"\bSEHATMU_\w+", "", code)
    return _python_names(re.findall(r"(?<![.\w])([A-Z][A-Za-z0-9_]*)\b", code))


def _python_names(found: list[str]) -> set[str]:
    return {n for n in found if not keyword.iskeyword(n) and not hasattr(builtins, n)}


def _error_tree(body: str) -> set[str]:
    return set(re.findall(r"^[\s│├└─]*([A-Z]\w+)", body, flags=re.M))


def _prose_names(text: str) -> set[str]:
    """Class-like names quoted in prose: `` `Name` `` or `` `Name(…)` ``, not dotted."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return _python_names(re.findall(r"`([A-Z][a-z]\w*[A-Z]\w*|[A-Z][a-z]+)(?:\([^`]*\))?`", prose))


def promised_names() -> set[str]:
    text = _spec()
    names: set[str] = set()
    for info, body in _blocks(text):
        if info == "python":
            names |= _code_names(body)
        elif body.lstrip().startswith("SehatMuError"):
            names |= _error_tree(body)
    names |= _prose_names(text)
    return names - NOT_SDK_NAMES


def test_the_spec_is_read_as_intended() -> None:
    """Guards the extraction itself: names from each of the three sources are found."""
    names = promised_names()
    assert {"SehatMuClient", "PatchOperation", "TransactionBundle", "BundleResult"} <= names
    assert "NIK_SYSTEM" in names  # from an f-string
    assert {"SehatMuError", "OutcomeUnknownError", "TransactionError"} <= names
    assert {"MemoryTokenStore", "LocalRateLimiter", "AccessToken", "Region"} <= names
    assert not names & {"Encounter", "Redis", "ClientSession", "Struct", "True", "None"}


def test_every_name_the_spec_promises_is_exported() -> None:
    exported = set(sehatmu_async.__all__)
    missing = sorted(n for n in promised_names() if n not in exported)
    assert missing == [], f"sdk.md names these, the package does not export them: {missing}"
    for name in promised_names():
        assert getattr(sehatmu_async, name, None) is not None, name


def test_all_lists_exactly_the_public_names() -> None:
    """``__all__`` has no stale entry and misses no public class or function."""
    for name in sehatmu_async.__all__:
        assert hasattr(sehatmu_async, name), f"__all__ names {name}, which does not exist"
    assert len(set(sehatmu_async.__all__)) == len(sehatmu_async.__all__), "duplicates"
    public = {
        name
        for name, value in vars(sehatmu_async).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(sehatmu_async.__all__) == set()


def test_exported_classes_and_functions_are_the_sdks_own() -> None:
    for name in sehatmu_async.__all__:
        value = getattr(sehatmu_async, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.split(".")[0] == "sehatmu_async", (name, value.__module__)
