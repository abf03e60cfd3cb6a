"""Pre-flight checks on a Patient's wire form, mirroring the platform's documented rules.

A create must not be sent twice (the platform refuses a repeat as ``duplicate``), so
a payload the platform would refuse is better caught here, where a fix costs
nothing. The checks run on the JSON about to be sent, so plain dicts are checked
the same as ``Patient`` objects. All problems are collected into one
:class:`ValidationError` whose issues read like the server's own (same texts, rule
numbers and FHIR expressions), so callers handle both the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._datetime import DATE_FORMAT, DATETIME_FORMAT, is_fhir_date, is_fhir_datetime
from ._outcome import OperationOutcome, OutcomeIssue
from ._patient_models import KEMKES_IDENTIFIER_PREFIX, NIK_IBU_SYSTEM, NIK_SYSTEM
from .errors import ValidationError

__all__ = ["PREFLIGHT_URL", "check_patient", "patient_issues"]

#: ``ValidationError.url`` of a refusal made by the SDK itself: no request was made.
PREFLIGHT_URL = "<pre-flight>"

_INTEGER_SUFFIXES = ("Integer", "PositiveInt", "UnsignedInt")
# Integer elements of Patient's data types whose names carry no type suffix.
_INTEGER_KEYS = frozenset({"rank"})


def _issue(code: str, text: str, expression: str, rule: int | None) -> OutcomeIssue:
    return OutcomeIssue(
        severity="error",
        code=code,
        text=text,
        expression=(expression,),
        rule_number=rule,
    )


def _format_issue(value: object, allowed: str, expression: str) -> OutcomeIssue:
    return _issue(
        "format",
        f"Invalid date time format : {value} (RuleNumber: 10132). Format allowed : {allowed}",
        expression,
        10132,
    )


def _walk(value: object, where: str, key: str, issues: list[OutcomeIssue]) -> None:
    """Rules that hold wherever an element appears: empty text, date formats, integers."""
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            _walk(child, f"{where}.{child_key}", str(child_key), issues)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", key, issues)
        return
    if value == "":
        issues.append(_issue("value", "Text is empty: '' (RuleNumber: 10134)", where, 10134))
    elif key == "birthDate":
        if not is_fhir_date(value):
            issues.append(_format_issue(value, DATE_FORMAT, where))
    elif key.endswith("DateTime"):
        if not is_fhir_datetime(value):
            issues.append(_format_issue(value, DATETIME_FORMAT, where))
    elif (key.endswith(_INTEGER_SUFFIXES) or key in _INTEGER_KEYS) and isinstance(value, str):
        issues.append(
            _issue(
                "value",
                f"Integer formated as a string: '{value}' (RuleNumber: 10254)",
                where,
                10254,
            )
        )


def _is_nik(value: object) -> bool:
    return isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit()


def _identifier_issues(identifiers: object) -> list[OutcomeIssue]:
    issues: list[OutcomeIssue] = []
    found_nik = False
    for index, identifier in enumerate(identifiers if isinstance(identifiers, list) else ()):
        if not isinstance(identifier, Mapping):
            continue
        where = f"Patient.identifier[{index}]"
        system = identifier.get("system")
        # A missing system is the platform's call; an empty one is already 10134.
        if (
            "system" in identifier
            and system != ""
            and not (isinstance(system, str) and system.startswith(KEMKES_IDENTIFIER_PREFIX))
        ):
            issues.append(
                _issue(
                    "value",
                    f"Invalid identifier system: {system} (RuleNumber: 10117)",
                    f"{where}.system",
                    10117,
                )
            )
        if system in (NIK_SYSTEM, NIK_IBU_SYSTEM):
            found_nik = True
            value = identifier.get("value")
            # An empty value is reported once, as empty text (10134). The text never
            # repeats the value: a NIK is personal data and errors get logged.
            if value != "" and not _is_nik(value):
                length = len(value) if isinstance(value, str) else 0
                issues.append(
                    _issue(
                        "value",
                        f"NIK must be exactly 16 digits, got {length} character(s)",
                        f"{where}.value",
                        None,
                    )
                )
    if not found_nik:
        issues.append(
            _issue(
                "value",
                f"Element not found: Patient.identifier with system {NIK_SYSTEM} or "
                f"{NIK_IBU_SYSTEM} (RuleNumber: 10263)",
                "Patient.identifier",
                10263,
            )
        )
    return issues


def patient_issues(wire: Mapping[str, Any]) -> list[OutcomeIssue]:
    """Every problem the platform's documented rules find in ``wire``, in document order."""
    issues: list[OutcomeIssue] = []
    kind = wire.get("resourceType")
    if kind != "Patient":
        issues.append(
            _issue(
                "value",
                f"Invalid resourceType: '{kind}', expected 'Patient'",
                "Patient.resourceType",
                None,
            )
        )
    _walk(wire, "Patient", "", issues)
    issues.extend(_identifier_issues(wire.get("identifier")))
    return issues


def check_patient(wire: Mapping[str, Any], *, method: str = "POST") -> None:
    """Raise one :class:`ValidationError` holding every problem in ``wire``, if any."""
    issues = patient_issues(wire)
    if not issues:
        return
    more = f" (+{len(issues) - 1} more issue(s), see .issues)" if len(issues) > 1 else ""
    raise ValidationError(
        f"pre-flight check refused the Patient: {issues[0].describe()}{more} — nothing was "
        "sent; fix the payload, or pass validate=False to let the platform judge it",
        status=0,
        method=method,
        url=PREFLIGHT_URL,
        outcome=OperationOutcome(issues=tuple(issues)),
    )
