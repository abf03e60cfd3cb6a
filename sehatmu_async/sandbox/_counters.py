"""What the sandbox received, for tests to assert on (single flight, no double create)."""

from __future__ import annotations

from collections import Counter

import attrs


@attrs.define(eq=False)
class SandboxCounters:
    token_requests: int = 0
    # Every HTTP request received, including those answered by an injected fault.
    requests: int = 0
    # Keyed "METHOD /route", with the route's template for routes with an id
    # ("PATCH /fhir-r4/v1/Patient/{id}") and the raw path for unknown routes.
    by_route: Counter[str] = attrs.field(factory=Counter)
    # Injected faults by kind: "latency", "drop", "5xx", "429", "slow_create".
    faults: Counter[str] = attrs.field(factory=Counter)
    patient_creates: int = 0

    def reset(self) -> None:
        self.token_requests = 0
        self.requests = 0
        self.by_route.clear()
        self.faults.clear()
        self.patient_creates = 0
