"""The one cattrs converter of the SDK: every model's wire <-> Python rules live here.

Region decoding is on the bulk-pull hot path (83,763 villages), so it gets a
hand-written hook instead of cattrs' generated one: it checks the types the
same way but builds each ``Region`` with one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cattrs

from ._models import Region, RegionLevel

__all__ = ["converter", "structure_regions"]

converter = cattrs.Converter()


class RegionShapeError(ValueError):
    """A region item of the wrong shape; the resource layer turns it into an APIError."""


def _opt(value: Any, field: str, index: int) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RegionShapeError(f"data[{index}].{field} is {type(value).__name__}, not a string")


def structure_regions(items: Any, level: RegionLevel) -> list[Region]:
    """Decode a page's ``data`` list into ``Region`` objects, checking every item."""
    if not isinstance(items, list):
        raise RegionShapeError(f"data is {type(items).__name__}, not a list")
    out: list[Region] = []
    append = out.append
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise RegionShapeError(f"data[{index}] is {type(item).__name__}, not an object")
        try:
            code = item["code"]
            name = item["name"]
        except KeyError as missing:
            raise RegionShapeError(f"data[{index}] has no {missing.args[0]!r}") from None
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(code, str) or not code:
            raise RegionShapeError(f"data[{index}].code is not a non-empty string")
        if not isinstance(name, str):
            raise RegionShapeError(f"data[{index}].name is not a string")
        append(
            Region(
                code,
                _opt(item.get("parent_code"), "parent_code", index),
                _opt(item.get("bps_code"), "bps_code", index),
                name,
                level,
            )
        )
    return out


def _structure_region(obj: Any, _: type) -> Region:
    level = obj.get("level") if isinstance(obj, Mapping) else None
    return structure_regions([obj], level or RegionLevel.from_code(str(obj.get("code", ""))))[0]


def _unstructure_region(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "parent_code": region.parent_code,
        "bps_code": region.bps_code,
        "name": region.name,
        "level": region.level,
    }


converter.register_structure_hook(Region, _structure_region)
converter.register_unstructure_hook(Region, _unstructure_region)
