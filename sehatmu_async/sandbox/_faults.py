"""The fault knobs. Mutable on purpose: a change takes effect on the next request."""

from __future__ import annotations

from typing import Any

import attrs


def _fraction(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


def _positive_or_none(
    _: Any, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive or None, got {value!r}")


@attrs.define
class SandboxFaults:
    """Everything off by default; random draws use the sandbox's seeded ``random.Random``."""

    # Added before answering every request, the token request included.
    latency_ms: float = attrs.field(default=0.0, validator=_non_negative)
    # Fraction answered 502/503/504 with a text/plain body.
    fail_rate: float = attrs.field(default=0.0, validator=_fraction)
    # Fraction answered 429 with ``Retry-After: retry_after_s`` (whole seconds, rounded up).
    rate_limit_rate: float = attrs.field(default=0.0, validator=_fraction)
    retry_after_s: float = attrs.field(default=0.0, validator=_non_negative)
    # Fraction whose connection is aborted with no HTTP answer at all.
    drop_rate: float = attrs.field(default=0.0, validator=_fraction)
    # The ``expires_in`` handed out, enforced server-side.
    token_ttl_s: int = attrs.field(default=3599, validator=_non_negative)
    # Revoke every token issued so far once per period while the sandbox runs.
    revoke_every_s: float | None = attrs.field(default=None, validator=_positive_or_none)
    # Patient create stores the patient, then waits this long before answering.
    slow_create_s: float = attrs.field(default=0.0, validator=_non_negative)
    # Whether fail/429/drop also hit the token endpoint (latency always does).
    faults_on_token: bool = False
