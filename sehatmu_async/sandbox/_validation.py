"""The FHIR processor's checks on any resource, with the rule numbers of document 004.

Each check returns OperationOutcome issues; all problems of a resource are reported
together, in document order, as the platform does.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ._responses import issue

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU_SYSTEM = "https://fhir.kemkes.go.id/id/nik-ibu"
KEMKES_IDENTIFIER_PREFIX = "https://fhir.kemkes.go.id/id/"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")
_DATE_TIME_ALLOWED = "YYYY-MM-DDThh:mm:ss+00:00"


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _format_issue(value: object, allowed: str, path: str) -> dict[str, Any]:
    return issue(
        "format",
        f"Invalid date time format : {value} (RuleNumber: 10132). Format allowed : {allowed}",
        path,
    )


# Facts of FHIR R4 and of api.md ("Decided here"), read independently of the SDK.
ID_PREFIXES = ("http://sys-ids.kemkes.go.id/", KEMKES_IDENTIFIER_PREFIX)
_GENDERS = frozenset({"male", "female", "other", "unknown"})
_INT_NAMES = frozenset({"sequence", "rank", "numberOfSeries", "numberOfInstances"})
_INT_ENDINGS = ("Integer", "PositiveInt", "UnsignedInt")
_PLAIN_DATE_TIMES = frozenset({"recordedDate", "issued", "authoredOn"})
_TEXT_ONLY = frozenset(
    [
        "family",
        "display",
        "system",
        "reference",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
        "status",
        "title",
        "div",
        "use",
        "gender",
        "birthDate",
        "version",
        "unit",
        "intent",
    ]
)
_TEXT_OR_STRUCT = frozenset({"text", "code", "language", "priority"})
_TEXT_LISTS = frozenset({"given", "prefix", "suffix", "line"})
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_REFERENCE = re.compile(
    r"[A-Z][A-Za-z]{1,63}/(?!\.{1,2}(?:/|$))[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
)
_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# Cardinality 1..1 / 1..* in FHIR R4; a tuple is a choice element.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "Encounter": [("status",), ("class",)],
    "Condition": [("subject",)],
    "Observation": [("status",), ("code",)],
    "Procedure": [("status",), ("subject",)],
    "Composition": [("status",), ("type",), ("date",), ("author",), ("title",)],
    "MedicationRequest": [
        ("status",), ("intent",), ("subject",),
        ("medicationCodeableConcept", "medicationReference"),
    ],
    "MedicationDispense": [("medicationCodeableConcept", "medicationReference")],
    "ServiceRequest": [("status",), ("intent",), ("subject",)],
    "DiagnosticReport": [("status",), ("code",)],
    "AllergyIntolerance": [("patient",)],
    "ClinicalImpression": [("status",), ("subject",)],
    "CarePlan": [("status",), ("intent",), ("subject",)],
    "QuestionnaireResponse": [("status",)],
    "EpisodeOfCare": [("status",), ("patient",)],
    "ImagingStudy": [("status",), ("subject",)],
    "Claim": [
        ("status",), ("type",), ("use",), ("patient",), ("created",), ("provider",),
        ("priority",), ("insurance",),
    ],
}  # fmt: skip
# Inside each item of a list element: Claim.insurance[n] needs these.
REQUIRED_PER_ITEM = {"Claim": {"insurance": ["sequence", "focal", "coverage"]}}
_REQUIRED_REFERENCES = frozenset({"subject", "patient", "author", "provider", "coverage"})


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _wrong_type(path: str, value: object) -> dict[str, Any]:
    return issue(
        "value", f"Invalid value type at {path}: expected a string, got {_kind(value)}", path
    )


def _takes_date_time(name: str, holder: str, kind: str, level: int) -> bool:
    if name.endswith("DateTime") or name in _PLAIN_DATE_TIMES:
        return True
    if name in ("start", "end"):
        return holder == "period" or holder.endswith("Period")
    if name == "lastUpdated":
        return holder == "meta"
    return name == "date" and level == 1 and kind == "Composition"


def reference_is_valid(reference: str, contained: set[str]) -> bool:
    if reference.startswith("#"):
        return reference[1:] in contained
    return bool(_REFERENCE.fullmatch(reference) or _URN.fullmatch(reference))


class _Check:
    """Rules that apply wherever an element appears: text, dates, integers, types, refs."""

    def __init__(self, kind: str, contained: set[str]) -> None:
        self.kind = kind
        self.contained = contained
        self.found: list[dict[str, Any]] = []

    def visit(self, value: object, path: str, name: str, holder: str, level: int) -> None:
        found = self.found
        if isinstance(value, dict):
            if name in _TEXT_ONLY or name in _TEXT_LISTS:
                found.append(_wrong_type(path, value))
            ref = value.get("reference")
            if isinstance(ref, str) and ref and not reference_is_valid(ref, self.contained):
                found.append(
                    issue("value", f"Reference is mandatory : {path} (RuleNumber: 10124)", path)
                )
            for key, child in value.items():
                self.visit(child, f"{path}.{key}", key, name, level + 1)
        elif isinstance(value, list):
            if name in _TEXT_ONLY or name in _TEXT_OR_STRUCT:
                found.append(_wrong_type(path, value))
            for index, item in enumerate(value):
                item_path = f"{path}[{index}]"
                if name in _TEXT_LISTS and not isinstance(item, str):
                    found.append(_wrong_type(item_path, item))
                elif name in _TEXT_LISTS and item == "":
                    found.append(issue("value", "Text is empty: '' (RuleNumber: 10134)", item_path))
                elif name not in _TEXT_LISTS:
                    self.visit(item, item_path, name, holder, level)
        else:
            self.leaf(value, path, name, holder, level)

    def leaf(self, value: object, path: str, name: str, holder: str, level: int) -> None:
        found = self.found
        if value == "":
            found.append(issue("value", "Text is empty: '' (RuleNumber: 10134)", path))
        elif name == "birthDate":
            if not _is_date(value):
                found.append(_format_issue(value, "YYYY-MM-DD", path))
        elif _takes_date_time(name, holder, self.kind, level):
            if not _is_date_time(value):
                found.append(_format_issue(value, _DATE_TIME_ALLOWED, path))
        elif (name in _INT_NAMES or name.endswith(_INT_ENDINGS)) and isinstance(value, str):
            found.append(
                issue("value", f"Integer formated as a string: '{value}' (RuleNumber: 10254)", path)
            )
        elif name in _TEXT_ONLY or name in _TEXT_OR_STRUCT or name in _TEXT_LISTS:
            if not isinstance(value, str):
                found.append(_wrong_type(path, value))
            elif name == "gender" and value not in _GENDERS:
                found.append(
                    issue(
                        "value",
                        f"Code not found: '{value}' in system: "
                        "http://hl7.org/fhir/administrative-gender (RuleNumber: 10001)",
                        path,
                    )
                )


def _identifier_systems(value: object, path: str, found: list[dict[str, Any]]) -> None:
    """Rule 10117 for every identifier, at any depth (Reference.identifier included)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            _identifier_systems(item, f"{path}[{index}]", found)
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        if key == "identifier":
            pairs = (
                [("", child)]
                if isinstance(child, dict)
                else list((f"[{i}]", c) for i, c in enumerate(child) if isinstance(c, dict))
                if isinstance(child, list)
                else []
            )
            for suffix, identifier in pairs:
                system = identifier.get("system")
                if isinstance(system, str) and system and not system.startswith(ID_PREFIXES):
                    found.append(
                        issue(
                            "value",
                            f"Invalid identifier system: {system} (RuleNumber: 10117)",
                            f"{path}.identifier{suffix}.system",
                        )
                    )
        _identifier_systems(child, f"{path}.{key}", found)


def _absent(path: str, element: str) -> dict[str, Any]:
    if element in _REQUIRED_REFERENCES:
        return issue("value", f"Reference is mandatory : {path} (RuleNumber: 10124)", path)
    return issue("value", f"Element not found: {path} (RuleNumber: 10263)", path)


def _required(kind: str, resource: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for names in REQUIRED.get(kind, []):
        if any(resource.get(n) not in (None, [], {}) for n in names):
            continue
        element = names[0] if len(names) == 1 else names[0].removesuffix("CodeableConcept")
        found.append(_absent(f"{kind}.{element}", element))
    for element, inner in REQUIRED_PER_ITEM.get(kind, {}).items():
        items = resource.get(element)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                found.extend(
                    _absent(f"{kind}.{element}[{index}].{n}", n)
                    for n in inner
                    if item.get(n) in (None, [], {})
                )
    return found


def _nik_issues(identifiers: object) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    has_nik = False
    for index, identifier in enumerate(identifiers if isinstance(identifiers, list) else ()):
        if not isinstance(identifier, dict):
            continue
        if identifier.get("system") in (NIK_SYSTEM, NIK_IBU_SYSTEM):
            has_nik = True
            value = identifier.get("value")
            # An empty value is already reported as empty text (10134).
            if value != "" and not (
                isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit()
            ):
                path = f"Patient.identifier[{index}].value"
                issues.append(issue("value", f"NIK must be 16 digits: '{value}'", path))
    if not has_nik:
        issues.append(
            issue(
                "value",
                f"Element not found: Patient.identifier with system {NIK_SYSTEM} "
                f"or {NIK_IBU_SYSTEM} (RuleNumber: 10263)",
                "Patient.identifier",
            )
        )
    return issues


def validate_resource(resource: object, expected_type: str | None = None) -> list[dict[str, Any]]:
    """Every problem in ``resource`` (any type); empty when it is acceptable."""
    if not isinstance(resource, dict):
        return [issue("structure", "The request body must be a JSON object: a FHIR resource")]
    kind = resource.get("resourceType")
    if expected_type is not None and kind != expected_type:
        return [
            issue(
                "value",
                f"Invalid resourceType: '{kind}', expected '{expected_type}'",
                "resourceType",
            )
        ]
    if not isinstance(kind, str) or not _RESOURCE_TYPE.fullmatch(kind):
        return [issue("value", f"Invalid resourceType: '{kind}'", "resourceType")]
    contained = (
        {
            c["id"]
            for c in resource.get("contained") or ()
            if isinstance(c, dict) and isinstance(c.get("id"), str)
        }
        if isinstance(resource.get("contained"), list)
        else set()
    )
    check = _Check(kind, contained)
    check.visit(resource, kind, "", "", 0)
    found = check.found
    _identifier_systems(resource, kind, found)
    found.extend(_required(kind, resource))
    if kind == "Patient":
        found.extend(_nik_issues(resource.get("identifier")))
    return found


def validate_patient(resource: object) -> list[dict[str, Any]]:
    """Every problem found in ``resource``; empty when the Patient is acceptable."""
    if not isinstance(resource, dict):
        return [issue("structure", "The request body must be a JSON object: a FHIR Patient")]
    return validate_resource(resource, "Patient")


def validate_patch(kind: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule 10171: Location's operationalStatus is replaced whole, never by its parts."""
    found: list[dict[str, Any]] = []
    for operation in operations:
        path = operation.get("path")
        if kind == "Location" and isinstance(path, str) and path.startswith("/operationalStatus/"):
            found.append(
                issue(
                    "value",
                    f"Use /operationalStatus instead of {path} to patch Location "
                    "(RuleNumber: 10171)",
                    "Location.operationalStatus",
                )
            )
    return found


def nik_key(resource: dict[str, Any]) -> tuple[str, str]:
    """The (system, value) a Patient is unique by: its own NIK, else its mother's.

    Only call on a resource that passed ``validate_patient``.
    """
    identifiers = [i for i in resource["identifier"] if isinstance(i, dict)]
    for system in (NIK_SYSTEM, NIK_IBU_SYSTEM):
        for identifier in identifiers:
            if identifier.get("system") == system:
                return system, str(identifier["value"])
    raise ValueError("the Patient has no NIK identifier")
