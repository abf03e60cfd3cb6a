"""The one cattrs converter of the SDK: every model's wire <-> Python rules live here.

Regions are not decoded here: their wire shapes live in ``_regions_wire.py``.
"""

from __future__ import annotations

import cattrs

__all__ = ["converter"]

converter = cattrs.Converter()


# -- Patients (Master Patient Index) -------------------------------------------------
# Imported here rather than at the top so this section stays self-contained. The hooks
# are generic over the models' wire tables; nested models go through this converter.
import functools  # noqa: E402

from ._patient_models import (  # noqa: E402
    PATIENT_MODELS,
    structure_wire,
    unstructure_wire,
)

for _patient_model in PATIENT_MODELS:
    converter.register_structure_hook(_patient_model, functools.partial(structure_wire, converter))
    converter.register_unstructure_hook(
        _patient_model, functools.partial(unstructure_wire, converter)
    )
# -- end Patients ----------------------------------------------------------------------
