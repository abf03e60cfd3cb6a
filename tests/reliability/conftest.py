"""Fixtures of the reliability suite."""

from __future__ import annotations

import pytest
from _reliability_helpers import FAST_RETRIES

from sehatmu_async import RetryPolicy


@pytest.fixture
def fast_retries() -> RetryPolicy:
    return FAST_RETRIES
