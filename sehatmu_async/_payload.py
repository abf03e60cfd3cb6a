"""Payloads into wire JSON: the one place where what a caller hands over becomes what is sent.

A payload is a plain dict in FHIR JSON, a model of this SDK (``Patient`` and its parts,
written by the converter) or any object with pydantic's ``model_dump`` (e.g. the
``fhir.resources`` models). Whatever it is, the result is checked all the way down,
because ``orjson`` would otherwise send surprises the platform stores or refuses:

* ``date`` → ``YYYY-MM-DD``; aware ``datetime`` → UTC ``YYYY-MM-DDThh:mm:ss+00:00``;
  a naive ``datetime`` is refused (it has no zone to convert from);
* NaN and ±Infinity are refused (``orjson`` writes them as ``null``);
* anything JSON cannot carry (``Decimal``, ``set``, ``bytes``, other objects, non-text
  keys, integers beyond 64 bits, unpaired surrogates) is refused.

Each refusal is a :class:`ConfigurationError` naming the JSON path of the bad value
(``$.name[0].period.start``), never the value itself (it may be a NIK or a birth
date), and it comes before any request. The result is a fresh copy: changing the
caller's dict afterwards cannot change what is sent.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from ._converter import converter, is_wire_model
from ._datetime import fhir_date, fhir_datetime
from .errors import ConfigurationError

__all__ = ["to_wire", "wire_value"]

# Why a null is refused, by where it came from; None: nulls kept (a model's verbatim extras).
_NO_NULL: Final = "is None: FHIR JSON has no null (leave the element out)"
_DUMPED_NULL: Final = (
    "is null in model_dump's output: FHIR JSON has no null (pydantic writes NaN and "
    "Infinity as null)"
)
_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1  # orjson's range: int64 and uint64


def to_wire(payload: object, *, what: str = "payload") -> dict[str, Any]:
    """The JSON object to send for ``payload`` (dict, SDK model or pydantic model).

    ``what`` names the payload in errors, e.g. ``"a Patient"``.
    """
    try:
        obj, nulls = _dump(payload)
        if not isinstance(obj, Mapping):
            raise _Refused(f"is a {type(obj).__name__}, not a JSON object")
        wire: dict[str, Any] = _object(obj, nulls)
    except _Refused as refused:
        raise refused.error(what) from None
    return wire


def wire_value(value: object, *, what: str = "a replace value") -> Any:
    """One JSON value (a patch ``value``) in wire form; ``None`` is refused."""
    if value is None:
        raise ConfigurationError(
            f"{what} cannot be None: FHIR JSON has no null (leave the element out; the "
            "platform offers no remove)"
        )
    try:
        return _value(value, _NO_NULL)
    except _Refused as refused:
        raise refused.error(what) from None


class _Refused(Exception):
    """A value JSON cannot carry; gathers its path on the way out of the walk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str | int] = []

    def error(self, what: str) -> ConfigurationError:
        if not self.parts:
            return ConfigurationError(f"{what} {self.reason}; nothing was sent")
        where = "$" + "".join(map(_step, reversed(self.parts)))
        return ConfigurationError(f"{what}: {where} {self.reason}; nothing was sent")


def _step(part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if _KEY.fullmatch(part) else f"[{part[:40]!r}]"


def _dump(value: object) -> tuple[Any, str | None]:
    """``value`` as plain data, and why a null in it is refused (None: kept, the server's)."""
    if is_wire_model(type(value)):
        # A model's ``extra`` keeps what the server sent verbatim, nulls included.
        return converter.unstructure(value), None
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return dump(mode="json", by_alias=True, exclude_none=True), _DUMPED_NULL
        except Exception as exc:  # a user's model can fail any way; name the kind only
            raise _Refused(
                f"is a {type(value).__name__} whose model_dump failed ({type(exc).__name__})"
            ) from None
    return value, _NO_NULL


def _object(obj: Mapping[Any, Any], nulls: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in obj.items():
        if type(key) is not str:
            raise _Refused(f"has a key of type {type(key).__name__}; JSON keys are text")
        try:
            out[key] = _value(item, nulls)
        except _Refused as refused:
            refused.parts.append(key)
            raise
    return out


def _array(items: list[Any] | tuple[Any, ...], nulls: str | None) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        try:
            out.append(_value(item, nulls))
        except _Refused as refused:
            refused.parts.append(index)
            raise
    return out


def _value(value: Any, nulls: str | None) -> Any:
    kind = type(value)
    # Exact types first: the common case of a payload, checked cheaply.
    if kind is str:
        return value if value.isascii() else _text(value)
    if kind is bool:
        return value
    if kind is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
        raise _Refused("is an integer beyond 64 bits, which JSON parsers do not keep exactly")
    if kind is dict:
        return _object(value, nulls)
    if kind is list:
        return _array(value, nulls)
    if value is None:
        if nulls is None:
            return None
        raise _Refused(nulls)
    if kind is float:
        if math.isfinite(value):
            return value
        raise _Refused(f"is {value}: JSON has no NaN or Infinity (orjson would send null)")
    return _other(value, nulls)


def _other(value: Any, nulls: str | None) -> Any:
    if isinstance(value, datetime):
        try:
            return fhir_datetime(value)
        except ConfigurationError as exc:  # naive: the reason, now with its path
            raise _Refused(exc.message) from None
    if isinstance(value, date):
        return fhir_date(value)
    if isinstance(value, enum.Enum):
        return _value(value.value, nulls)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # Subclasses (other than enums) go out as their base value.
        base = str if isinstance(value, str) else int if isinstance(value, int) else float
        return _value(base(value), nulls)
    if isinstance(value, Mapping):
        return _object(value, nulls)
    if isinstance(value, tuple):
        return _array(value, nulls)
    if is_wire_model(type(value)) or callable(getattr(value, "model_dump", None)):
        dumped, dumped_nulls = _dump(value)
        return _value(dumped, dumped_nulls)
    raise _Refused(f"is a {type(value).__name__}, which JSON cannot carry")


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused("is text with an unpaired surrogate, which UTF-8 cannot carry") from None
    return value
