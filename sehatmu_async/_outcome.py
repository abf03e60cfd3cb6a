"""FHIR OperationOutcome, as the platform sends it: parsed by a pure function.

The platform puts the rule it applied at the end of the human text,
``... (RuleNumber: 10132)``; we lift it into :attr:`OutcomeIssue.rule_number`
so callers can branch on it instead of matching prose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["OperationOutcome", "OutcomeIssue", "parse_operation_outcome"]

_RULE_NUMBER = re.compile(r"\(\s*RuleNumber\s*:\s*(\d+)\s*\)", re.IGNORECASE)

# "invalid" is not a FHIR severity, but the token endpoint uses it for refused credentials.
_FAILING_SEVERITIES = frozenset({"fatal", "error", "invalid"})


@attrs.frozen(slots=True)
class OutcomeIssue:
    """One ``issue`` of an OperationOutcome."""

    severity: str
    code: str
    text: str | None = None
    expression: tuple[str, ...] = ()
    rule_number: int | None = None
    diagnostics: str | None = None

    @property
    def is_failure(self) -> bool:
        """True for ``fatal``/``error`` (and the token endpoint's ``invalid``)."""
        return self.severity.lower() in _FAILING_SEVERITIES

    def describe(self) -> str:
        """One line: the text (or diagnostics, or code) and where it applies."""
        what = self.text or self.diagnostics or self.code or "unspecified problem"
        where = f" at {', '.join(self.expression)}" if self.expression else ""
        return f"{what}{where}"


@attrs.frozen(slots=True)
class OperationOutcome:
    """A parsed OperationOutcome; ``issues`` keeps the server's order."""

    issues: tuple[OutcomeIssue, ...]

    @property
    def is_failure(self) -> bool:
        return any(issue.is_failure for issue in self.issues)

    @property
    def rule_numbers(self) -> tuple[int, ...]:
        return tuple(i.rule_number for i in self.issues if i.rule_number is not None)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.issues)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _parse_issue(raw: Mapping[str, Any]) -> OutcomeIssue:
    details = raw.get("details")
    text = _opt_str(details.get("text")) if isinstance(details, Mapping) else None
    diagnostics = _opt_str(raw.get("diagnostics"))
    expression_raw = raw.get("expression")
    if not isinstance(expression_raw, list):
        # ``location`` is the deprecated R4 spelling of the same thing.
        expression_raw = raw.get("location")
    expression = (
        tuple(e for e in expression_raw if isinstance(e, str))
        if isinstance(expression_raw, list)
        else ()
    )
    rule_number: int | None = None
    for source in (text, diagnostics):
        if source is not None and (match := _RULE_NUMBER.search(source)):
            rule_number = int(match.group(1))
            break
    severity = raw.get("severity")
    code = raw.get("code")
    return OutcomeIssue(
        severity=severity if isinstance(severity, str) else "error",
        code=code if isinstance(code, str) else "unknown",
        text=text,
        expression=expression,
        rule_number=rule_number,
        diagnostics=diagnostics,
    )


def parse_operation_outcome(obj: object) -> OperationOutcome | None:
    """Return the OperationOutcome in ``obj``, or None if ``obj`` is not one.

    Tolerant of shape errors inside issues (a malformed issue still yields an
    issue with what could be read) because an error report that itself fails to
    parse would hide the original problem.
    """
    if not isinstance(obj, Mapping) or obj.get("resourceType") != "OperationOutcome":
        return None
    raw_issues = obj.get("issue")
    if not isinstance(raw_issues, list):
        return OperationOutcome(issues=())
    issues = tuple(_parse_issue(i) for i in raw_issues if isinstance(i, Mapping))
    return OperationOutcome(issues=issues)
