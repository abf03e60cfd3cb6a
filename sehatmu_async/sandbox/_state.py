"""Everything a sandbox's handlers share, reachable from a request as ``request.app[STATE]``."""

from __future__ import annotations

import random
from typing import Literal

import attrs
from aiohttp import web

from ._counters import SandboxCounters
from ._faults import SandboxFaults
from ._patients import PatientStore
from ._tokens import TokenStore

PatientAnswer = Literal["fhir", "envelope"]
PATIENT_ANSWERS: tuple[PatientAnswer, ...] = ("fhir", "envelope")


@attrs.define(eq=False)
class SandboxState:
    # Secret-grade, both of them (api.md): never in a repr or a log line.
    client_id: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)
    faults: SandboxFaults
    counters: SandboxCounters
    tokens: TokenStore
    rng: random.Random = attrs.field(repr=False)
    patient_answer: PatientAnswer
    require_user_agent: bool
    patients: PatientStore = attrs.field(factory=PatientStore, repr=False)
    # Invented but plausible values for the token answer's descriptive fields.
    application_name: str = ""


STATE = web.AppKey("sehatmu_sandbox_state", SandboxState)
# Route names the middlewares recognise.
TOKEN_ROUTE = "token"  # noqa: S105 - a route name, not a password
PATIENT_CREATE_ROUTE = "patient_create"
