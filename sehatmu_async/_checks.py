"""Argument checks shared by every API area: one spelling of each rule.

``bool`` is a subclass of ``int`` in Python, so ``True`` would pass a plain
``isinstance(x, int)`` as ``1``; every integer setting of the SDK refuses it.
"""

from __future__ import annotations

from typing import Any, TypeGuard

__all__ = ["is_int", "is_number"]


def is_int(value: Any) -> TypeGuard[int]:
    """True for a real integer, never for ``True``/``False``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for an int or float, never for a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
