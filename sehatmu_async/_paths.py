"""Request paths built from checked, percent-encoded segments.

An id is spliced into a URL that carries the bearer token, so it must not be able
to change which resource the request names: ``..`` would climb out of
``/Patient/`` (``GET /fhir-r4/v1/`` with the token), ``/``, ``?`` or ``#`` would
add segments, a query or a fragment. Every path of the FHIR API is therefore built
here, from a checked resource type and id; any other segment is percent-encoded
whole and the dot segments, which HTTP clients resolve before sending, are refused.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from .errors import ConfigurationError

__all__ = [
    "FHIR_BASE",
    "check_resource_id",
    "check_resource_type",
    "fhir_type_path",
    "join_path",
    "resource_path",
    "shown",
]

#: The FHIR R4 API's root on every environment.
FHIR_BASE: Final = "/fhir-r4/v1"

# sdk.md "FHIR resources": the names and ids the SDK lets into a path. ASCII only
# (explicit classes, no \w), whole string (fullmatch, so no trailing newline either).
_RESOURCE_TYPE: Final = re.compile(r"[A-Z][A-Za-z]{1,63}")
_RESOURCE_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DOT_SEGMENTS: Final = frozenset({".", ".."})
_SHOWN_CHARS: Final = 40


def shown(value: object) -> str:
    """``value`` for an error message: a bounded ``repr`` of text, else only its type.

    ``repr`` escapes control characters, so a hostile id cannot forge log lines; the
    bound keeps a megabyte of input out of the message.
    """
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}… ({len(value)} characters)"


def check_resource_type(resource_type: object) -> str:
    """Return ``resource_type`` if it can name a FHIR resource type, else ConfigurationError."""
    if isinstance(resource_type, str) and _RESOURCE_TYPE.fullmatch(resource_type):
        return resource_type
    raise ConfigurationError(
        f"resource type {shown(resource_type)} is not a FHIR resource type name "
        "(a capital letter, then 1-63 ASCII letters), e.g. 'Encounter'"
    )


def check_resource_id(resource_id: object, resource_type: str = "resource") -> str:
    """Return ``resource_id`` if it is a FHIR id, else ConfigurationError.

    ``.`` and ``..`` match FHIR's character rule but are path steps, not names.
    """
    if (
        isinstance(resource_id, str)
        and _RESOURCE_ID.fullmatch(resource_id)
        and resource_id not in _DOT_SEGMENTS
    ):
        return resource_id
    raise ConfigurationError(
        f"{resource_type} id {shown(resource_id)} is not a FHIR id (1-64 of A-Z, a-z, 0-9, "
        "'-' and '.', and not '.' or '..'), e.g. 'P02029102687'"
    )


def _segment(segment: object) -> str:
    if not isinstance(segment, str) or not segment or segment in _DOT_SEGMENTS:
        raise ConfigurationError(
            f"path segment {shown(segment)} cannot be sent: a segment is non-empty text "
            "and not '.' or '..'"
        )
    # safe="": "/" is encoded too, so one segment stays one segment.
    return quote(segment, safe="")


def join_path(base: str, *segments: str) -> str:
    """``base`` followed by each segment, percent-encoded whole (``/`` becomes ``%2F``)."""
    return "/".join((base, *map(_segment, segments)))


def fhir_type_path(resource_type: object) -> str:
    """The path of a resource type: ``fhir_type_path("Encounter")`` is ``/fhir-r4/v1/Encounter``."""
    return f"{FHIR_BASE}/{check_resource_type(resource_type)}"


def resource_path(resource_type: object, resource_id: object, *more: str) -> str:
    """The path of one resource, ``/fhir-r4/v1/Patient/P123``, then any ``more`` segments.

    ``resource_path("Patient", "P1", "_history", "2")`` is ``.../Patient/P1/_history/2``.
    """
    kind = check_resource_type(resource_type)
    # The checked id needs no escaping; the encoding is kept as a second line of defence.
    return join_path(f"{FHIR_BASE}/{kind}", check_resource_id(resource_id, kind), *more)
