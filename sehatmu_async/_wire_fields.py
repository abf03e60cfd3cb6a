"""How a model appears on the wire, declared once: on its fields, as attrs metadata.

A model class is marked with :func:`wire_model`; each of its fields says what it is
on the wire:

* :func:`wire`: an element, written under the camelCase of its name (``postal_code``
  → ``postalCode``) unless a key is given; its Python type (``str``, ``bool``, ``int``,
  ``date``, a wire model, or a ``list`` of one of them) decides how it is read;
* :func:`choice`: a FHIR choice element (``deceased[x]``): one attribute whose type is a
  union, written as ``deceasedBoolean`` or ``deceasedDateTime`` by the value's type;
* :func:`extension`: a typed extension (a wire model with an ``extension_url``) found in
  the ``extension`` list by its url; :func:`other_extensions` keeps the list's rest;
* :func:`sub_extension`: one ``{"url": name, "valueCode": …}`` part of such a complex
  extension;
* :func:`extra`: everything the server sent that no field typed, written back verbatim.

The converter (``_converter.py``) builds each model's hooks from this metadata alone
and refuses a model field that carries none, so a new field is never silently dropped.
This module is pure declarations: it imports neither the converter nor any model.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

__all__ = [
    "WIRE",
    "Kind",
    "Spec",
    "WireModel",
    "camel",
    "choice",
    "extension",
    "extra",
    "other_extensions",
    "sub_extension",
    "wire",
    "wire_model",
    "wire_model_of",
]

#: The attrs metadata key under which a field's :class:`Spec` is stored.
WIRE: Final = "sehatmu_async.wire"
_MARK: Final = "__sehatmu_wire_model__"

T = TypeVar("T", bound=type)


class Kind(enum.Enum):
    ELEMENT = "element"
    CHOICE = "choice"
    EXTENSION = "extension"
    SUB_EXTENSION = "sub-extension"
    OTHER_EXTENSIONS = "other-extensions"
    EXTRA = "extra"


@attrs.frozen
class Spec:
    """One field's wire facts. ``key``: the wire key (an element), the key prefix (a
    choice) or the url (a sub-extension); None means the camelCase of the field name."""

    kind: Kind
    key: str | None = None
    value_key: str = "valueCode"


@attrs.frozen
class WireModel:
    """A model's own wire facts: the ``resourceType`` it writes (a resource), or the
    ``url`` it writes first (a complex extension)."""

    resource_type: str | None = None
    extension_url: str | None = None


def wire_model(
    *, resource_type: str | None = None, extension_url: str | None = None
) -> Callable[[T], T]:
    """Class decorator (above ``@attrs.frozen``): the class has a FHIR wire form."""
    model = WireModel(resource_type=resource_type, extension_url=extension_url)

    def mark(cls: T) -> T:
        setattr(cls, _MARK, model)
        return cls

    return mark


def wire_model_of(cls: type) -> WireModel | None:
    """The class's :class:`WireModel`, or None if it has no wire form.

    Inherited: a subclass of ``Patient`` is a wire model too, so a field it adds
    without wire metadata fails loudly instead of being written the cattrs default way.
    """
    model = getattr(cls, _MARK, None) if isinstance(cls, type) else None
    return model if isinstance(model, WireModel) else None


def camel(name: str) -> str:
    """``postal_code`` → ``postalCode``: FHIR's spelling of a Python field name."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _field(spec: Spec, *, factory: Callable[[], Any] | None, repr: Any = True) -> Any:
    metadata = {WIRE: spec}
    if factory is not None:
        return attrs.field(factory=factory, repr=repr, metadata=metadata)
    return attrs.field(default=None, repr=repr, metadata=metadata)


def wire(
    key: str | None = None, *, factory: Callable[[], Any] | None = None, repr: Any = True
) -> Any:
    """An element: ``None`` (or ``factory()``, for lists) when absent."""
    return _field(Spec(Kind.ELEMENT, key), factory=factory, repr=repr)


def choice(prefix: str | None = None) -> Any:
    """A choice element ``prefix[x]``; the alternatives are the field's union members."""
    return _field(Spec(Kind.CHOICE, prefix), factory=None)


def extension() -> Any:
    """A typed extension, found in (and written first to) the ``extension`` list."""
    return _field(Spec(Kind.EXTENSION), factory=None)


def sub_extension(url: str | None = None, *, value_key: str = "valueCode") -> Any:
    """One part of a complex extension: ``{"url": url, value_key: value}``."""
    return _field(Spec(Kind.SUB_EXTENSION, url, value_key), factory=None)


def other_extensions() -> Any:
    """The ``extension`` entries no typed field took, verbatim, written after them."""
    return _field(Spec(Kind.OTHER_EXTENSIONS), factory=list)


def extra() -> Any:
    """Every key of the server's JSON no field typed, verbatim, written back."""
    return _field(Spec(Kind.EXTRA), factory=dict)
