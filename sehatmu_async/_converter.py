"""The one cattrs converter of the SDK: every model's wire <-> Python rules live here.

FHIR models (``Patient`` and its parts) get their hooks from one factory, built from
their fields' wire metadata (``_wire_fields.py``, compiled by ``_wire_plan.py``): no
model is described twice, and this module imports no FHIR model to do it.

Regions are not decoded here: their wire shapes live in ``_regions_wire.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cattrs

from ._wire_plan import is_wire_model, structure, unstructure, wire_plan

__all__ = ["converter", "is_wire_model"]

converter = cattrs.Converter()


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
