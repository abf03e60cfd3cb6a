"""A wire model's plan, compiled once from its fields' metadata, and the two walks over it.

``structure`` turns FHIR JSON into the model, keeping every key (and every value of
the wrong type) it cannot type in ``extra``; ``unstructure`` writes the model back,
merging ``extra`` in, so a read, change and write loses nothing. A field without
wire metadata, or of a type with no wire form, makes the plan fail loudly.
Pure: no I/O, no cattrs (the converter registers these as its hooks).
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from ._datetime import fhir_date, fhir_datetime, parse_fhir_date, parse_fhir_datetime
from ._wire_fields import WIRE, Kind, Spec, WireModel, camel, wire_model_of
from .errors import ConfigurationError

__all__ = [
    "WirePlan",
    "is_wire_model",
    "prepare_wire_models",
    "structure",
    "unstructure",
    "wire_plan",
]

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class _Untyped(Exception):
    """A wire value that does not fit the field's type: it stays verbatim in ``extra``."""


def _read_str(value: Any) -> str:
    if type(value) is not str:
        raise _Untyped
    return value


def _read_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Untyped
    return value


def _read_int(value: Any) -> int:
    # A "2" is not an integer here: rule 10254 refuses it, so it stays verbatim.
    if type(value) is not int:
        raise _Untyped
    return value


def _read_date(value: Any) -> date:
    parsed = parse_fhir_date(value)
    if parsed is None:
        raise _Untyped
    return parsed


def _read_datetime(value: Any) -> datetime:
    parsed = parse_fhir_datetime(value)
    if parsed is None:
        raise _Untyped
    return parsed


def _same(value: Any) -> Any:
    return value


_SCALARS: dict[Any, tuple[Reader, Writer]] = {
    str: (_read_str, _same),
    bool: (_read_bool, _same),
    int: (_read_int, _same),
    date: (_read_date, fhir_date),
    datetime: (_read_datetime, fhir_datetime),
}
# FHIR's type names, the suffixes of a choice element's keys (``deceasedDateTime``).
_FHIR_NAMES = {str: "String", bool: "Boolean", int: "Integer", date: "Date", datetime: "DateTime"}


def _read_list(item: Reader) -> Reader:
    def read(value: Any) -> list[Any]:
        # An empty list is not FHIR; keeping it verbatim keeps the round trip exact.
        if type(value) is not list or not value:
            raise _Untyped
        return [item(v) for v in value]

    return read


def _write_list(item: Writer) -> Writer:
    def write(value: Any) -> list[Any]:
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise ConfigurationError(f"expected a list, got {type(value).__name__}")
        return [item(v) for v in value]

    return write


def _read_model(cls: type, *, extension: bool = False) -> Reader:
    def read(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _Untyped
        # An extension whose own ``extension`` is empty or not a list could not be
        # written back as it came: it stays verbatim among the other extensions.
        if extension and "extension" in value:
            subs = value["extension"]
            if type(subs) is not list or not subs:
                raise _Untyped
        return structure(wire_plan(cls), value)

    return read


def _write_model(value: Any) -> Any:
    kind = type(value)
    plan = _PLANS.get(kind) or (wire_plan(kind) if is_wire_model(kind) else None)
    # Anything else (a dict where a model was due) goes on as it is: the payload check
    # (``_payload``) judges it with the rest of the payload.
    return unstructure(plan, value) if plan is not None else value


@attrs.frozen
class _Entry:
    """An element or choice element: the keys it is read from, and how it is written."""

    attr: str
    reads: tuple[tuple[str, Reader], ...]
    write: Callable[[Any], tuple[str, Any]]
    #: For a choice: every key it owns, so kept siblings are not written beside it.
    choice_keys: tuple[str, ...] = ()


@attrs.frozen
class WirePlan:
    """A model's wire form, made once from its fields' metadata."""

    cls: type
    model: WireModel
    entries: tuple[_Entry, ...]
    extensions: tuple[tuple[str, str, Reader], ...]  # (attr, url, read)
    sub_extensions: tuple[tuple[str, str, str], ...]  # (attr, url, value key)
    others: str | None
    extra: str


_PLANS: dict[type, WirePlan] = {}


def is_wire_model(cls: object) -> bool:
    """True for an attrs class marked as a FHIR wire model (``Patient`` and its parts)."""
    return isinstance(cls, type) and wire_model_of(cls) is not None and attrs.has(cls)


def wire_plan(cls: type) -> WirePlan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _build_plan(cls)
    return plan


def prepare_wire_models(*classes: type) -> tuple[type, ...]:
    """Build the models' plans now, so a field without wire metadata fails at import."""
    for cls in classes:
        wire_plan(cls)
    return classes


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _codec(tp: Any, where: str, *, extension: bool = False) -> tuple[Reader, Writer]:
    if typing.get_origin(tp) is list:
        read, write = _codec(typing.get_args(tp)[0], where)
        return _read_list(read), _write_list(write)
    if tp in _SCALARS:
        return _SCALARS[tp]
    if is_wire_model(tp):
        return _read_model(tp, extension=extension), _write_model
    raise TypeError(f"{where}: the SDK has no wire form for {tp!r}")


def _keyed(key: str, write: Writer) -> Callable[[Any], tuple[str, Any]]:
    return lambda value: (key, write(value))


def _choice(where: str, alternatives: list[tuple[str, Any, Writer]]) -> Callable[[Any], Any]:
    def write(value: Any) -> tuple[str, Any]:
        # Exact type first: True is an int to isinstance, but multipleBirthBoolean here.
        for key, tp, out in alternatives:
            if type(value) is tp:
                return key, out(value)
        for key, tp, out in alternatives:
            if isinstance(value, tp) and not isinstance(value, bool):
                return key, out(value)
        names = " or ".join(f"a {tp.__name__}" for _, tp, _ in alternatives)
        raise ConfigurationError(f"{where} must be {names}, got {type(value).__name__}")

    return write


def _build_plan(cls: type) -> WirePlan:
    model = wire_model_of(cls)
    if model is None or not attrs.has(cls):
        raise TypeError(f"{cls.__name__} is not a wire model: mark it with @wire_model()")
    hints = typing.get_type_hints(cls)
    entries: list[_Entry] = []
    extensions: list[tuple[str, str, Reader]] = []
    subs: list[tuple[str, str, str]] = []
    special: dict[Kind, str] = {}
    for field in attrs.fields(cls):
        where = f"{cls.__name__}.{field.name}"
        spec = field.metadata.get(WIRE)
        if not isinstance(spec, Spec):
            raise TypeError(
                f"{where} has no wire metadata, so it would be dropped on the wire: declare "
                "it with wire(), choice(), extension(), sub_extension(), other_extensions() "
                "or extra() from sehatmu_async._wire_fields"
            )
        members = _members(hints[field.name])
        key = spec.key or camel(field.name)
        if spec.kind is Kind.ELEMENT:
            if len(members) != 1:
                raise TypeError(f"{where}: a union is a FHIR choice element; declare choice()")
            read, write = _codec(members[0], where)
            entries.append(_Entry(field.name, ((key, read),), _keyed(key, write)))
        elif spec.kind is Kind.CHOICE:
            alternatives = []
            for tp in members:
                read, write = _codec(tp, where)
                alternatives.append((key + _FHIR_NAMES.get(tp, tp.__name__), tp, read, write))
            entries.append(
                _Entry(
                    field.name,
                    tuple((k, read) for k, _, read, _ in alternatives),
                    _choice(where, [(k, tp, write) for k, tp, _, write in alternatives]),
                    tuple(k for k, *_ in alternatives),
                )
            )
        elif spec.kind is Kind.EXTENSION:
            inner = wire_model_of(members[0])
            if len(members) != 1 or inner is None or inner.extension_url is None:
                raise TypeError(f"{where}: extension() needs a model with an extension_url")
            read, _ = _codec(members[0], where, extension=True)
            extensions.append((field.name, inner.extension_url, read))
        elif spec.kind is Kind.SUB_EXTENSION:
            if members != (str,) or model.extension_url is None:
                raise TypeError(f"{where}: a sub-extension is text, in an extension model")
            subs.append((field.name, key, spec.value_key))
        elif spec.kind in special:
            raise TypeError(f"{where}: {cls.__name__} has two {spec.kind.value} fields")
        else:
            special[spec.kind] = field.name
    keys = [k for entry in entries for k, _ in entry.reads]
    if len(keys) != len(set(keys)):
        raise TypeError(f"{cls.__name__}: two fields share a wire key")
    if Kind.EXTRA not in special:
        raise TypeError(f"{cls.__name__} needs an extra() field, or unknown keys are lost")
    if (extensions or subs) and Kind.OTHER_EXTENSIONS not in special:
        raise TypeError(f"{cls.__name__} needs other_extensions() beside its extensions")
    return WirePlan(
        cls,
        model,
        tuple(entries),
        tuple(extensions),
        tuple(subs),
        special.get(Kind.OTHER_EXTENSIONS),
        special[Kind.EXTRA],
    )


def structure(plan: WirePlan, obj: Any) -> Any:
    if not isinstance(obj, Mapping):
        name = plan.cls.__name__
        raise TypeError(f"{name} is a JSON object on the wire, got {type(obj).__name__}")
    rest = dict(obj)
    kwargs: dict[str, Any] = {}
    for entry in plan.entries:
        for key, read in entry.reads:
            if key in rest:
                try:
                    kwargs[entry.attr] = read(rest[key])
                except _Untyped:
                    continue
                del rest[key]
                break
    kind = plan.model.resource_type
    if kind is not None and rest.get("resourceType") == kind:
        del rest["resourceType"]
    if plan.model.extension_url is not None:
        rest.pop("url", None)
    if plan.others is not None:
        _take_extensions(plan, rest, kwargs)
    kwargs[plan.extra] = copy.deepcopy(rest) if rest else {}
    return plan.cls(**kwargs)


def _take_extensions(plan: WirePlan, rest: dict[str, Any], kwargs: dict[str, Any]) -> None:
    found = rest.get("extension")
    if type(found) is not list or not found:
        return  # verbatim in extra
    del rest["extension"]
    others: list[Any] = []
    for ext in found:
        url = ext.get("url") if isinstance(ext, Mapping) else None
        if not _take_sub(plan, ext, url, kwargs) and not _take_typed(plan, ext, url, kwargs):
            others.append(copy.deepcopy(ext))
    kwargs[plan.others or ""] = others


def _take_sub(plan: WirePlan, ext: Any, url: object, kwargs: dict[str, Any]) -> bool:
    for attr, sub_url, value_key in plan.sub_extensions:
        if url == sub_url and attr not in kwargs:
            if set(ext) == {"url", value_key} and type(ext[value_key]) is str:
                kwargs[attr] = ext[value_key]
                return True
            return False
    return False


def _take_typed(plan: WirePlan, ext: Any, url: object, kwargs: dict[str, Any]) -> bool:
    for attr, ext_url, read in plan.extensions:
        if url == ext_url and attr not in kwargs:
            try:
                kwargs[attr] = read(ext)
            except _Untyped:
                return False
            return True
    return False


def unstructure(plan: WirePlan, obj: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    if plan.model.resource_type is not None:
        wire["resourceType"] = plan.model.resource_type
    if plan.model.extension_url is not None:
        wire["url"] = plan.model.extension_url
    dropped: tuple[str, ...] = ()
    for entry in plan.entries:
        value = getattr(obj, entry.attr)
        if value is None or (isinstance(value, list) and not value):
            continue  # FHIR has no nulls or empty arrays
        key, wire[key] = entry.write(value)
        dropped += entry.choice_keys
    if plan.others is not None:
        extensions: list[Any] = [
            {"url": url, value_key: value}
            for attr, url, value_key in plan.sub_extensions
            if (value := getattr(obj, attr)) is not None
        ]
        extensions += [
            _write_model(value)
            for attr, _, _ in plan.extensions
            if (value := getattr(obj, attr)) is not None
        ]
        extensions += copy.deepcopy(getattr(obj, plan.others))
        if extensions:
            wire["extension"] = extensions
    # Typed values win over kept ones; a choice element set in Python drops its kept siblings.
    for key, value in getattr(obj, plan.extra).items():
        if key not in wire and key not in dropped:
            wire[key] = copy.deepcopy(value)
    return wire
