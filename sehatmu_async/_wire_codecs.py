"""How one wire value is read and written, by its Python type: the codecs a wire plan
(``_wire_plan``) is assembled from.

A reader raises :class:`Untyped` for a value that does not fit; the plan then keeps
that value verbatim in the model's ``extra``. Pure, and no model is known here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from ._datetime import fhir_date, fhir_datetime, parse_fhir_date, parse_fhir_datetime
from .errors import ConfigurationError

__all__ = [
    "EXACT",
    "FHIR_NAMES",
    "SCALARS",
    "Reader",
    "Untyped",
    "Writer",
    "read_list",
    "same",
    "write_list",
]

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class Untyped(Exception):
    """A wire value that does not fit the field's type: it stays verbatim in ``extra``."""


def read_str(value: Any) -> str:
    if type(value) is not str:
        raise Untyped
    return value


def read_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise Untyped
    return value


def read_int(value: Any) -> int:
    # A "2" is not an integer here: rule 10254 refuses it, so it stays verbatim.
    if type(value) is not int:
        raise Untyped
    return value


def read_date(value: Any) -> date:
    parsed = parse_fhir_date(value)
    if parsed is None:
        raise Untyped
    return parsed


def read_datetime(value: Any) -> datetime:
    parsed = parse_fhir_datetime(value)
    if parsed is None:
        raise Untyped
    return parsed


def same(value: Any) -> Any:
    return value


SCALARS: dict[Any, tuple[Reader, Writer]] = {
    str: (read_str, same),
    bool: (read_bool, same),
    int: (read_int, same),
    date: (read_date, fhir_date),
    datetime: (read_datetime, fhir_datetime),
}
# FHIR's type names, the suffixes of a choice element's keys (``deceasedDateTime``).
FHIR_NAMES = {str: "String", bool: "Boolean", int: "Integer", date: "Date", datetime: "DateTime"}


# Readers that only check the exact type: decoding inlines that check (the hot path).
EXACT: dict[Reader, type] = {read_str: str, read_bool: bool, read_int: int}


def read_list(item: Reader) -> Reader:
    exact = EXACT.get(item)
    if exact is not None:

        def read_exact(value: Any) -> list[Any]:
            if type(value) is not list or not value:
                raise Untyped
            for v in value:
                if type(v) is not exact:
                    raise Untyped
            return list(value)

        return read_exact

    def read(value: Any) -> list[Any]:
        # An empty list is not FHIR; keeping it verbatim keeps the round trip exact.
        if type(value) is not list or not value:
            raise Untyped
        return [item(v) for v in value]

    return read


def write_list(item: Writer) -> Writer:
    def write(value: Any) -> list[Any]:
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise ConfigurationError(f"expected a list, got {type(value).__name__}")
        return [item(v) for v in value]

    return write
