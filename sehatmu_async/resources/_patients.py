"""Placeholder: replaced by the Master Patient Index resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._base_client import BaseClient


class Patients:
    def __init__(self, client: BaseClient) -> None:
        self._client = client
