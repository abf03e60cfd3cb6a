"""Pre-flight checks on any FHIR resource's wire form, mirroring the platform's rules (004).

A create must not be sent twice (the platform refuses a repeat as ``duplicate``), so
a payload the platform would refuse is better caught here, where a fix costs
nothing. The checks run on the JSON about to be sent, so plain dicts, SDK models and
pydantic models are checked the same. All problems are collected into one
:class:`ValidationError` whose issues read like the server's own (same texts, rule
numbers and FHIR expressions), so callers handle both the same way.

Rules, wherever an element appears: 10134 (empty text), 10132 (the date-time elements
of api.md "Decided here", and ``birthDate`` as a date), 10254 (integers written as
strings), 10117 (identifier systems), 10124 (references: ``Type/id``, ``urn:uuid:…`` or
``#contained``), 10001 for an AdministrativeGender outside FHIR's four codes, strings
that are not strings, and 10263 for the elements FHIR R4 makes mandatory (for Patient:
a NIK or mother's-NIK identifier, plus the NIK's 16 digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._datetime import DATE_FORMAT, DATETIME_FORMAT, is_fhir_date, is_fhir_datetime
from ._fhir_rules import (
    ADMINISTRATIVE_GENDERS,
    GENDER_SYSTEM,
    IDENTIFIER_SYSTEM_PREFIXES,
    MANDATORY,
    MANDATORY_IN_ITEMS,
    REFERENCE_ELEMENTS,
    RESOURCE_TYPE,
    SCALAR_TYPES,
    STRING_KEYS,
    STRING_LIST_KEYS,
    STRING_OR_OBJECT_KEYS,
    has_scalar_rule,
    is_datetime_element,
    is_integer_element,
    is_reference,
    utc_datetimes,
)
from ._outcome import OperationOutcome, OutcomeIssue
from ._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM
from .errors import ValidationError

__all__ = [
    "ADMINISTRATIVE_GENDERS",
    "IDENTIFIER_SYSTEM_PREFIXES",
    "PREFLIGHT_URL",
    "check_patch",
    "check_patient",
    "check_resource",
    "is_datetime_element",
    "is_integer_element",
    "is_reference",
    "patch_issues",
    "patient_issues",
    "resource_issues",
    "utc_datetimes",
]

#: ``ValidationError.url`` of a refusal made by the SDK itself: no request was made.
PREFLIGHT_URL = "<pre-flight>"


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


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else type(value).__name__


def _not_a_string(where: str, value: object) -> OutcomeIssue:
    return _issue(
        "value",
        f"Invalid value type at {where}: expected a string, got {_json_type(value)}",
        where,
        None,
    )


class _Walker:
    """One pass over a resource collecting every issue, in document order."""

    def __init__(self, resource_type: str, contained_ids: frozenset[str]) -> None:
        self.resource_type = resource_type
        self.contained_ids = contained_ids
        self.issues: list[OutcomeIssue] = []

    def mapping(self, value: Mapping[Any, Any], where: str, key: str, depth: int) -> None:
        reference = value.get("reference")
        # An empty one is 10134 and a non-string one a type error: reported once each.
        if (
            isinstance(reference, str)
            and reference
            and not is_reference(reference, self.contained_ids)
        ):
            self.issues.append(
                _issue(
                    "value", f"Reference is mandatory : {where} (RuleNumber: 10124)", where, 10124
                )
            )
        depth += 1
        for child_key, child in value.items():
            name = child_key if type(child_key) is str else str(child_key)
            if type(child) in SCALAR_TYPES and child != "" and not has_scalar_rule(name):
                continue  # most leaves: no rule applies, no path built, no call made
            self.element(child, f"{where}.{name}", name, key, depth)
        if "identifier" in value:
            _system_issues(value["identifier"], f"{where}.identifier", self.issues)

    def element(self, value: object, where: str, key: str, parent_key: str, depth: int) -> None:
        # Exact type checks first: the wire is plain dicts, lists and scalars, and an
        # isinstance against the Mapping ABC costs several times more on this hot path.
        kind = type(value)
        if kind is dict or (kind not in SCALAR_TYPES and isinstance(value, Mapping)):
            if key in STRING_KEYS or key in STRING_LIST_KEYS:
                self.issues.append(_not_a_string(where, value))
            self.mapping(value, where, key, depth)  # type: ignore[arg-type]
            return
        if kind is list:
            assert isinstance(value, list)
            if key in STRING_KEYS or key in STRING_OR_OBJECT_KEYS:
                self.issues.append(_not_a_string(where, value))
            for index, item in enumerate(value):
                if key in STRING_LIST_KEYS:
                    self.scalar(item, f"{where}[{index}]", "", parent_key, depth)
                else:
                    self.element(item, f"{where}[{index}]", key, parent_key, depth)
            return
        self.scalar(value, where, key, parent_key, depth)

    def scalar(self, value: object, where: str, key: str, parent_key: str, depth: int) -> None:
        issues = self.issues
        if not has_scalar_rule(key):
            if value == "":  # the only rule for any other element
                issues.append(
                    _issue("value", "Text is empty: '' (RuleNumber: 10134)", where, 10134)
                )
            return
        if value == "":
            issues.append(_issue("value", "Text is empty: '' (RuleNumber: 10134)", where, 10134))
        elif key == "" and not isinstance(value, str):
            issues.append(_not_a_string(where, value))  # an item of given/line/…
        elif key == "birthDate":
            if not is_fhir_date(value):
                issues.append(_format_issue(value, DATE_FORMAT, where))
        elif is_datetime_element(key, parent_key, self.resource_type, depth):
            if not is_fhir_datetime(value):
                issues.append(_format_issue(value, DATETIME_FORMAT, where))
        elif is_integer_element(key) and isinstance(value, str):
            issues.append(
                _issue(
                    "value",
                    f"Integer formated as a string: '{value}' (RuleNumber: 10254)",
                    where,
                    10254,
                )
            )
        elif key in STRING_KEYS or key in STRING_OR_OBJECT_KEYS or key in STRING_LIST_KEYS:
            if not isinstance(value, str):
                issues.append(_not_a_string(where, value))
            elif key == "gender" and value not in ADMINISTRATIVE_GENDERS:
                issues.append(
                    _issue(
                        "value",
                        f"Code not found: '{value}' in system: {GENDER_SYSTEM} (RuleNumber: 10001)",
                        where,
                        10001,
                    )
                )


def _identifier_items(value: object) -> list[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        return [("", value)]
    if isinstance(value, list):
        return [(f"[{i}]", v) for i, v in enumerate(value) if isinstance(v, Mapping)]
    return []


def _system_issues(value: object, where: str, issues: list[OutcomeIssue]) -> None:
    """Rule 10117 on one ``identifier`` element (a list, or one Identifier)."""
    for suffix, identifier in _identifier_items(value):
        system = identifier.get("system")
        # A missing system is the platform's call; an empty one is 10134.
        if (
            "system" in identifier
            and system != ""
            and isinstance(system, str)
            and not system.startswith(IDENTIFIER_SYSTEM_PREFIXES)
        ):
            issues.append(
                _issue(
                    "value",
                    f"Invalid identifier system: {system} (RuleNumber: 10117)",
                    f"{where}{suffix}.system",
                    10117,
                )
            )


def _is_nik(value: object) -> bool:
    return isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit()


def _nik_issues(identifiers: object) -> list[OutcomeIssue]:
    issues: list[OutcomeIssue] = []
    found_nik = False
    for index, identifier in enumerate(identifiers if isinstance(identifiers, list) else ()):
        if not isinstance(identifier, Mapping):
            continue
        if identifier.get("system") in (NIK_SYSTEM, NIK_IBU_SYSTEM):
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
                        f"Patient.identifier[{index}].value",
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


def _mandatory_issues(resource_type: str, wire: Mapping[str, Any]) -> list[OutcomeIssue]:
    issues: list[OutcomeIssue] = []
    for choices in MANDATORY.get(resource_type, ()):
        if any(wire.get(name) not in (None, [], {}) for name in choices):
            continue
        name = choices[0] if len(choices) == 1 else choices[0].removesuffix("CodeableConcept")
        issues.append(_missing(resource_type, name))
    for element, names in MANDATORY_IN_ITEMS.get(resource_type, ()):
        items = wire.get(element)
        for index, item in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(item, Mapping):
                continue
            for name in names:
                if item.get(name) in (None, [], {}):
                    issues.append(_missing(f"{resource_type}.{element}[{index}]", name))
    return issues


def _missing(parent: str, name: str) -> OutcomeIssue:
    where = f"{parent}.{name}"
    if name in REFERENCE_ELEMENTS:
        return _issue(
            "value", f"Reference is mandatory : {where} (RuleNumber: 10124)", where, 10124
        )
    return _issue("value", f"Element not found: {where} (RuleNumber: 10263)", where, 10263)


def _contained_ids(wire: Mapping[str, Any]) -> frozenset[str]:
    contained = wire.get("contained")
    if not isinstance(contained, list):
        return frozenset()
    return frozenset(
        c["id"] for c in contained if isinstance(c, Mapping) and isinstance(c.get("id"), str)
    )


def resource_issues(wire: Mapping[str, Any]) -> list[OutcomeIssue]:
    """Every problem the platform's documented rules find in ``wire``, in document order."""
    kind = wire.get("resourceType")
    if not isinstance(kind, str) or not RESOURCE_TYPE.fullmatch(kind):
        shown = kind if isinstance(kind, str) else _json_type(kind)
        return [
            _issue(
                "value",
                f"Invalid resourceType: '{shown[:80]}', expected a FHIR resource type",
                "resourceType",
                None,
            )
        ]
    walker = _Walker(kind, _contained_ids(wire))
    walker.mapping(wire, kind, "", 0)
    issues = walker.issues
    issues.extend(_mandatory_issues(kind, wire))
    if kind == "Patient":
        issues.extend(_nik_issues(wire.get("identifier")))
    return issues


def patient_issues(wire: Mapping[str, Any]) -> list[OutcomeIssue]:
    """:func:`resource_issues` for a payload that must be a Patient."""
    kind = wire.get("resourceType")
    if kind != "Patient":
        issue = _issue(
            "value",
            f"Invalid resourceType: '{kind}', expected 'Patient'",
            "Patient.resourceType",
            None,
        )
        return [issue, *resource_issues({**wire, "resourceType": "Patient"})]
    return resource_issues(wire)


def _raise(issues: list[OutcomeIssue], what: str, method: str) -> None:
    if not issues:
        return
    more = f" (+{len(issues) - 1} more issue(s), see .issues)" if len(issues) > 1 else ""
    raise ValidationError(
        f"pre-flight check refused the {what}: {issues[0].describe()}{more} — nothing was "
        "sent; fix the payload, or pass validate=False to let the platform judge it",
        status=0,
        method=method,
        url=PREFLIGHT_URL,
        outcome=OperationOutcome(issues=tuple(issues)),
    )


def check_resource(wire: Mapping[str, Any], *, method: str = "POST") -> None:
    """Raise one :class:`ValidationError` holding every problem in ``wire``, if any."""
    kind = wire.get("resourceType")
    _raise(resource_issues(wire), kind if isinstance(kind, str) else "resource", method)


def check_patient(wire: Mapping[str, Any], *, method: str = "POST") -> None:
    """Raise one :class:`ValidationError` holding every problem in the Patient ``wire``."""
    _raise(patient_issues(wire), "Patient", method)


def patch_issues(resource_type: str, operations: Sequence[Mapping[str, Any]]) -> list[OutcomeIssue]:
    """Problems the platform's rules find in a JSON Patch document for ``resource_type``.

    Location's ``operationalStatus`` is patched whole (rule 10171); values are checked
    with the resource rules at the element the path names.
    """
    issues: list[OutcomeIssue] = []
    for operation in operations:
        path = operation.get("path")
        if not isinstance(path, str):
            continue
        tokens = path.split("/")[1:]
        if resource_type == "Location" and len(tokens) > 1 and tokens[0] == "operationalStatus":
            issues.append(
                _issue(
                    "value",
                    f"Use /operationalStatus instead of {path} to patch Location "
                    "(RuleNumber: 10171)",
                    "Location.operationalStatus",
                    10171,
                )
            )
        if "value" in operation and tokens:
            names = [t for t in tokens if not t.isdigit() and t != "-"]
            key = names[-1] if names else ""
            parent = names[-2] if len(names) > 1 else ""
            where = resource_type + "".join(
                f"[{t}]" if t.isdigit() or t == "-" else f".{t}" for t in tokens
            )
            walker = _Walker(resource_type, frozenset())
            walker.element(operation["value"], where, key, parent, len(names))
            issues.extend(walker.issues)
    return issues


def check_patch(
    resource_type: str, operations: Sequence[Mapping[str, Any]], *, method: str = "PATCH"
) -> None:
    """Raise one :class:`ValidationError` for every problem in a patch document."""
    _raise(patch_issues(resource_type, operations), f"{resource_type} patch", method)
