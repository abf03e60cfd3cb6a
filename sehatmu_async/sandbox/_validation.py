"""The FHIR processor's checks on a Patient, with the rule numbers of document 004.

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


def _walk(value: object, path: str, key: str, issues: list[dict[str, Any]]) -> None:
    """Rules that apply wherever an element appears: empty text, dates, integers."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            _walk(child, f"{path}.{child_key}", child_key, issues)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", key, issues)
        return
    if value == "":
        issues.append(issue("value", "Text is empty: '' (RuleNumber: 10134)", path))
    elif key == "birthDate":
        if not _is_date(value):
            issues.append(_format_issue(value, "YYYY-MM-DD", path))
    elif key.endswith("DateTime"):
        if not _is_date_time(value):
            issues.append(_format_issue(value, _DATE_TIME_ALLOWED, path))
    elif key.endswith("Integer") and isinstance(value, str):
        issues.append(
            issue("value", f"Integer formated as a string: '{value}' (RuleNumber: 10254)", path)
        )


def _identifier_issues(identifiers: object) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    has_nik = False
    for index, identifier in enumerate(identifiers if isinstance(identifiers, list) else ()):
        if not isinstance(identifier, dict):
            continue
        path = f"Patient.identifier[{index}]"
        system = identifier.get("system")
        if isinstance(system, str) and system and not system.startswith(KEMKES_IDENTIFIER_PREFIX):
            issues.append(
                issue(
                    "value",
                    f"Invalid identifier system: {system} (RuleNumber: 10117)",
                    f"{path}.system",
                )
            )
        if system in (NIK_SYSTEM, NIK_IBU_SYSTEM):
            has_nik = True
            value = identifier.get("value")
            # An empty value is already reported as empty text (10134).
            if value != "" and not (
                isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit()
            ):
                issues.append(issue("value", f"NIK must be 16 digits: '{value}'", f"{path}.value"))
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


def validate_patient(resource: object) -> list[dict[str, Any]]:
    """Every problem found in ``resource``; empty when the Patient is acceptable."""
    if not isinstance(resource, dict):
        return [issue("structure", "The request body must be a JSON object: a FHIR Patient")]
    if resource.get("resourceType") != "Patient":
        return [
            issue(
                "value",
                f"Invalid resourceType: '{resource.get('resourceType')}', expected 'Patient'",
                "resourceType",
            )
        ]
    issues: list[dict[str, Any]] = []
    _walk(resource, "Patient", "", issues)
    issues.extend(_identifier_issues(resource.get("identifier")))
    return issues


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
