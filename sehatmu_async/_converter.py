"""The one cattrs converter of the SDK: every model's wire <-> Python rules live here.

FHIR models (``Patient`` and its parts) get their hooks from one factory, built from
their fields' wire metadata (``_wire_fields.py``, compiled by ``_wire_plan.py``): no
model is described twice, and this module imports no FHIR model to do it.

Region decoding is on the bulk-pull hot path (83,763 villages), so it gets a
hand-written hook instead of cattrs' generated one: it checks the types the
same way but builds each ``Region`` with one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cattrs

from ._models import Region, RegionLevel
from ._wire_plan import is_wire_model, structure, unstructure, wire_plan

__all__ = [
    "RegionShapeError",
    "converter",
    "is_wire_model",
    "region_keys",
    "structure_regions",
]

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


def _slow_region(item: Any, index: int, level: RegionLevel) -> Region:
    """Checked decoding of one item that is not the plain all-strings shape."""
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
    return Region(
        code,
        _opt(item.get("parent_code"), "parent_code", index),
        _opt(item.get("bps_code"), "bps_code", index),
        name,
        level,
    )


# Slot descriptors fill a frozen instance without the frozen ``__setattr__`` detour
# attrs' generated ``__init__`` takes: ~30% cheaper per Region on the pull hot path.
_new = object.__new__
_set_code = Region.__dict__["code"].__set__
_set_parent = Region.__dict__["parent_code"].__set__
_set_bps = Region.__dict__["bps_code"].__set__
_set_name = Region.__dict__["name"].__set__
_set_level = Region.__dict__["level"].__set__


def structure_regions(items: Any, level: RegionLevel) -> list[Region]:
    """Decode a page's ``data`` list into ``Region`` objects, checking every item."""
    return _structure(items, level)


def _structure(items: Any, level: RegionLevel) -> list[Region]:
    if not isinstance(items, list):
        raise RegionShapeError(f"data is {type(items).__name__}, not a list")
    out: list[Region] = []
    append = out.append
    # The platform's items are dicts of four strings: those take this loop, with exact
    # type checks (no ABC isinstance); the first item of another shape hands the rest
    # to the checked path, which names the bad item.
    for item in items:
        if type(item) is not dict:
            break
        code = item.get("code")
        parent = item.get("parent_code")
        bps = item.get("bps_code")
        name = item.get("name")
        if not (
            type(code) is str
            and code
            and type(name) is str
            and type(parent) is str
            and type(bps) is str
        ):
            break
        region = _new(Region)
        _set_code(region, code)
        _set_parent(region, parent or None)
        _set_bps(region, bps or None)
        _set_name(region, name)
        _set_level(region, level)
        append(region)
    for index in range(len(out), len(items)):
        append(_slow_region(items[index], index, level))
    return out


def region_keys(regions: list[Region], level: RegionLevel) -> list[int] | None:
    """Each region's code as an integer, or None if one is not a code of ``level``."""
    return _keys([region.code for region in regions], level.code_length)


def _keys(codes: list[str], width: int) -> list[int] | None:
    """Codes as integers if every one is ``width`` ASCII digits, else None.

    Checked on the joined page and the set of lengths: C-level loops, not per-item
    Python, since this runs for every village of a pull.
    """
    if not codes:
        return []
    joined = "".join(codes)
    if not (joined.isascii() and joined.isdigit()) or set(map(len, codes)) != {width}:
        return None
    return list(map(int, codes))


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


# -- FHIR wire models ------------------------------------------------------------------
# One factory for every model marked @wire_model: the plan made from its fields' metadata
# (``_wire_plan``) is the whole description of its wire form.


def _structure_factory(cls: type) -> Callable[[Any, type], Any]:
    plan = wire_plan(cls)
    return lambda obj, _: structure(plan, obj)


def _unstructure_factory(cls: type) -> Callable[[Any], Any]:
    plan = wire_plan(cls)
    return lambda obj: unstructure(plan, obj)


converter.register_structure_hook_factory(is_wire_model, _structure_factory)
converter.register_unstructure_hook_factory(is_wire_model, _unstructure_factory)
