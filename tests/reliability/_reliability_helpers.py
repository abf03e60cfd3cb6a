"""Kept for ``test_reliability_pull.py`` (the regions stream's file): everything here now
lives in ``tests/_fakes.py``; import from there in new tests."""

from __future__ import annotations

from _fakes import FAST_RETRY as FAST_RETRIES
from _fakes import acquired_connections, client_for, other_tasks, settle

__all__ = ["FAST_RETRIES", "acquired_connections", "client_for", "other_tasks", "settle"]
