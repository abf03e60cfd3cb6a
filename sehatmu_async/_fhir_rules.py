"""Facts of FHIR R4 and of the platform (api.md, document 004) that the pre-flight checks
and the payload shaping share: which elements hold date-times, integers, strings and
references, what a reference and an identifier system look like, which elements are
mandatory. The checks themselves are in ``_validation``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = [
    "ADMINISTRATIVE_GENDERS",
    "IDENTIFIER_SYSTEM_PREFIXES",
    "has_scalar_rule",
    "is_datetime_element",
    "is_integer_element",
    "is_reference",
    "utc_datetimes",
]

#: Where the platform's identifier systems live (api.md section 6): clinical resources
#: under sys-ids with the organization id, people under fhir.kemkes.go.id/id/.
IDENTIFIER_SYSTEM_PREFIXES = ("http://sys-ids.kemkes.go.id/", "https://fhir.kemkes.go.id/id/")

#: FHIR's AdministrativeGender value set, closed (required binding).
ADMINISTRATIVE_GENDERS = ("male", "female", "other", "unknown")
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"

INTEGER_SUFFIXES = ("Integer", "PositiveInt", "UnsignedInt")
# Integer elements clinics send whose names carry no type suffix (api.md "Decided here").
INTEGER_KEYS = frozenset({"sequence", "rank", "numberOfSeries", "numberOfInstances"})
# dateTime/instant elements named without a "DateTime" suffix ("Decided here").
DATETIME_KEYS = frozenset({"recordedDate", "issued", "authoredOn"})
# Elements that hold a FHIR string/code/uri everywhere they appear in R4.
STRING_KEYS = frozenset(
    {
        "family", "display", "system", "reference", "city", "district", "state",
        "postalCode", "country", "status", "title", "div", "use", "gender",
        "birthDate", "version", "unit", "intent",
    }
)  # fmt: skip
# A string, or a structure: ``text`` is a Narrative on resources, ``code`` and
# ``communication.language`` and ``Claim.priority`` CodeableConcepts.
STRING_OR_OBJECT_KEYS = frozenset({"text", "code", "language", "priority"})
STRING_LIST_KEYS = frozenset({"given", "prefix", "suffix", "line"})

RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ID = r"[A-Za-z0-9\-.]{1,64}"
_LITERAL_REFERENCE = re.compile(rf"([A-Z][A-Za-z]{{1,63}})/({_ID})(/_history/{_ID})?")
_URN_UUID = re.compile(
    r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

# FHIR R4 elements of cardinality 1..1 / 1..* on the types clinics send (rule 10263);
# a tuple of names is a choice element ``x[x]``. References missing are rule 10124.
MANDATORY: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "Encounter": (("status",), ("class",)),
    "Condition": (("subject",),),
    "Observation": (("status",), ("code",)),
    "Procedure": (("status",), ("subject",)),
    "Composition": (("status",), ("type",), ("date",), ("author",), ("title",)),
    "MedicationRequest": (
        ("status",), ("intent",), ("subject",),
        ("medicationCodeableConcept", "medicationReference"),
    ),
    "MedicationDispense": (("medicationCodeableConcept", "medicationReference"),),
    "ServiceRequest": (("status",), ("intent",), ("subject",)),
    "DiagnosticReport": (("status",), ("code",)),
    "AllergyIntolerance": (("patient",),),
    "ClinicalImpression": (("status",), ("subject",)),
    "CarePlan": (("status",), ("intent",), ("subject",)),
    "QuestionnaireResponse": (("status",),),
    "EpisodeOfCare": (("status",), ("patient",)),
    "ImagingStudy": (("status",), ("subject",)),
    "Claim": (
        ("status",), ("type",), ("use",), ("patient",), ("created",), ("provider",),
        ("priority",), ("insurance",),
    ),
}  # fmt: skip
# Mandatory elements of each item of a backbone list: (type, list element, names).
MANDATORY_IN_ITEMS: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Claim": (("insurance", ("sequence", "focal", "coverage")),),
}
REFERENCE_ELEMENTS = frozenset({"subject", "patient", "author", "provider", "coverage"})

# Elements a scalar rule beyond 10134 may apply to (names and name endings).
SCALAR_RULE_KEYS = (
    STRING_KEYS
    | STRING_OR_OBJECT_KEYS
    | STRING_LIST_KEYS
    | INTEGER_KEYS
    | DATETIME_KEYS
    | {"", "birthDate", "start", "end", "lastUpdated", "date"}
)
SCALAR_RULE_SUFFIXES = ("DateTime", *INTEGER_SUFFIXES)
SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})

PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def is_datetime_element(key: str, parent_key: str, resource_type: str, depth: int) -> bool:
    """Whether element ``key`` (inside ``parent_key``) is a FHIR dateTime/instant (10132)."""
    if key.endswith("DateTime") or key in DATETIME_KEYS:
        return True
    if key in ("start", "end"):
        return parent_key == "period" or parent_key.endswith("Period")
    if key == "lastUpdated":
        return parent_key == "meta"
    return key == "date" and depth == 1 and resource_type == "Composition"


def is_integer_element(key: str) -> bool:
    """Whether ``key`` names an integer element checked by rule 10254."""
    return key in INTEGER_KEYS or key.endswith(INTEGER_SUFFIXES)


def is_reference(value: object, contained_ids: frozenset[str] = frozenset()) -> bool:
    """A reference the platform can resolve: ``Type/id``, ``urn:uuid:…`` or ``#contained``."""
    if not isinstance(value, str):
        return False
    if value.startswith("#"):
        return value[1:] in contained_ids
    match = _LITERAL_REFERENCE.fullmatch(value)
    if match is not None:
        return match.group(2) not in (".", "..")
    return _URN_UUID.fullmatch(value) is not None


def has_scalar_rule(key: str) -> bool:
    return key in SCALAR_RULE_KEYS or key.endswith(SCALAR_RULE_SUFFIXES)


_UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.0+)?Z")


def _utc(value: object, key: str, parent_key: str, kind: str, depth: int) -> object:
    if isinstance(value, Mapping):
        return {k: _utc(v, str(k), key, kind, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(item, key, parent_key, kind, depth) for item in value]
    if (
        isinstance(value, str)
        and _UTC_Z.fullmatch(value)
        and is_datetime_element(key, parent_key, kind, depth)
    ):
        return value[:19] + "+00:00"
    return value


def utc_datetimes(wire: Mapping[str, Any]) -> dict[str, Any]:
    """``wire`` with UTC date-times written ``…Z`` (pydantic's style) as ``…+00:00``.

    Only the date-time elements of rule 10132 are touched, and only when the value is
    whole seconds in UTC: anything else is left for the pre-flight check to report.
    """
    if b'Z"' not in orjson.dumps(wire):
        return dict(wire)  # nothing to rewrite: no rebuild of the whole tree
    kind = wire.get("resourceType")
    out = _utc(wire, "", "", kind if isinstance(kind, str) else "", 0)
    assert isinstance(out, dict)
    return out
