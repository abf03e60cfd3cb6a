"""Placeholder: replaced by the Master Wilayah resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._base_client import BaseClient


class Regions:
    def __init__(self, client: BaseClient) -> None:
        self._client = client
