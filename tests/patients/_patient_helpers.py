"""Shared by the Patient tests (a unique module name: tests/ has no packages).

* hypothesis strategies for Patient wire dicts, canonical and with unknown fields;
* ``FakePlatform``: the shared scripted platform (``tests/_fakes.py``) whose Patient
  answers each test programs, and which records every request it receives.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from typing import Any

import _fakes
from aiohttp import web
from hypothesis import strategies as st

from sehatmu_async import RetryPolicy, SehatMuClient, fhir_datetime
from sehatmu_async._patient_models import (
    ADMINISTRATIVE_CODE_URL,
    NIK_IBU_SYSTEM,
    NIK_SYSTEM,
)

PATIENT_PATH = "/fhir-r4/v1/Patient"
TOKEN_ANSWER = {
    "token_type": "BearerToken",
    "access_token": "test-access-token",
    "expires_in": "3599",
    "issued_at": "1671109805593",
}
NIK = "3171012345678901"
MOTHER_NIK = "3674000011112222"


def minimal_wire(nik: str = NIK, system: str = NIK_SYSTEM) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"use": "official", "system": system, "value": nik}],
        "name": [{"use": "official", "text": "Budi Santoso"}],
        "gender": "male",
        "birthDate": "1990-05-12",
    }


# -- strategies ----------------------------------------------------------------------

# Plain words: valid for the platform, for FHIR's string type and for fhir.resources.
words = st.text(alphabet=string.ascii_letters + " .'", min_size=1, max_size=12).map(
    lambda s: s.strip() or "x"
)
niks = st.integers(10**15, 10**16 - 1).map(str)
villages = st.integers(10**9, 10**10 - 1).map(str)
utc_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc)
).map(lambda d: d.replace(microsecond=0))
json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _opt(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _with_unknown(
    base: st.SearchStrategy[dict[str, Any]], known: frozenset[str], unknown: bool
) -> st.SearchStrategy[dict[str, Any]]:
    if not unknown:
        return base
    extra = st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in known), json_values, max_size=2
    )
    return st.builds(lambda b, e: {**e, **b}, base, extra)


def admin_extension(village: str) -> dict[str, Any]:
    return {
        "url": ADMINISTRATIVE_CODE_URL,
        "extension": [
            {"url": "province", "valueCode": village[:2]},
            {"url": "city", "valueCode": village[:4]},
            {"url": "district", "valueCode": village[:6]},
            {"url": "village", "valueCode": village},
            {"url": "rt", "valueCode": "2"},
            {"url": "rw", "valueCode": "2"},
        ],
    }


def codeable(system: str, codes: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    coding = st.fixed_dictionaries(
        {"system": st.just(system), "code": st.sampled_from(codes)}, optional={"display": words}
    )
    return st.fixed_dictionaries(
        {"coding": st.lists(coding, min_size=1, max_size=2)}, optional={"text": words}
    )


_PATIENT_KEYS = frozenset(
    {
        "resourceType", "id", "meta", "language", "identifier", "active", "name", "telecom",
        "gender", "birthDate", "deceasedBoolean", "deceasedDateTime", "address",
        "maritalStatus", "multipleBirthBoolean", "multipleBirthInteger", "communication",
        "extension",
    }
)  # fmt: skip
# Known keys holding values the SDK cannot type: they must survive verbatim too.
_ODD_VALUES: tuple[dict[str, Any], ...] = (
    {},
    {"gender": 5},
    {"birthDate": "1990"},
    {"active": None},
    {"telecom": []},
    {"multipleBirthInteger": "2"},
    {"deceasedDateTime": "2020-05"},
)


def _address(fields: dict[str, Any], village: str, others: list[Any]) -> dict[str, Any]:
    return {**fields, "extension": [admin_extension(village), *others]}


@functools.cache
def _parts(unknown: bool) -> dict[str, st.SearchStrategy[Any]]:
    """The element strategies, built once: building them per draw is what makes tests slow."""
    identifier = _with_unknown(
        st.fixed_dictionaries(
            {
                "use": st.just("official"),
                "system": st.sampled_from([NIK_SYSTEM, NIK_IBU_SYSTEM]),
                "value": niks,
            }
        ),
        frozenset({"use", "system", "value", "type"}),
        unknown,
    )
    name = _with_unknown(
        _opt(
            use=st.sampled_from(["official", "usual", "nickname"]),
            text=words,
            family=words,
            given=st.lists(words, min_size=1, max_size=3),
            prefix=st.lists(words, min_size=1, max_size=1),
        ),
        frozenset({"use", "text", "family", "given", "prefix", "suffix"}),
        unknown,
    )
    telecom = _with_unknown(
        _opt(
            system=st.sampled_from(["phone", "email"]),
            value=words,
            use=st.sampled_from(["home", "mobile", "work"]),
            rank=st.integers(1, 5),
        ),
        frozenset({"system", "value", "use", "rank"}),
        unknown,
    )
    other_extensions = st.lists(
        st.fixed_dictionaries(
            {"url": st.just("https://example.org/fhir/ext/note"), "valueString": words}
        ),
        max_size=1,
    )
    address = _with_unknown(
        st.builds(
            _address,
            _opt(
                use=st.sampled_from(["home", "temp"]),
                line=st.lists(words, min_size=1, max_size=2),
                city=words,
                postalCode=st.integers(10000, 99999).map(str),
                country=st.just("ID"),
            ),
            villages,
            other_extensions,
        ),
        frozenset(
            {"use", "type", "text", "line", "city", "district", "state", "postalCode", "country"}
            | {"extension"}
        ),
        unknown,
    )
    communication = st.fixed_dictionaries(
        {"language": codeable("urn:ietf:bcp:47", ["id-ID", "en-US"])},
        optional={"preferred": st.booleans()},
    )
    body = st.fixed_dictionaries(
        {
            "resourceType": st.just("Patient"),
            "identifier": st.lists(identifier, min_size=1, max_size=1),
        },
        optional={
            "id": st.integers(0, 10**11 - 1).map("P{:011d}".format),
            "meta": st.fixed_dictionaries(
                {"versionId": st.just("1"), "lastUpdated": utc_instants.map(fhir_datetime)}
            ),
            "language": st.sampled_from(["id", "en"]),
            "active": st.booleans(),
            "name": st.lists(name, min_size=1, max_size=2),
            "telecom": st.lists(telecom, min_size=1, max_size=2),
            "gender": st.sampled_from(["male", "female", "other", "unknown"]),
            "birthDate": st.dates(date(1920, 1, 1), date(2024, 12, 31)).map(date.isoformat),
            "address": st.lists(address, min_size=1, max_size=2),
            "maritalStatus": codeable(
                "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", ["M", "S", "D", "W"]
            ),
            "communication": st.lists(communication, min_size=1, max_size=1),
            # Not typed by the SDK, but valid FHIR (so fhir.resources accepts it too).
            "extension": st.builds(
                lambda city: [
                    {
                        "url": "https://fhir.kemkes.go.id/r4/StructureDefinition/birthPlace",
                        "valueAddress": {"city": city, "country": "ID"},
                    }
                ],
                words,
            ),
        },
    )
    deceased = st.one_of(
        st.just({}),
        st.builds(lambda b: {"deceasedBoolean": b}, st.booleans()),
        st.builds(lambda d: {"deceasedDateTime": fhir_datetime(d)}, utc_instants),
    )
    multiple_birth = st.one_of(
        st.just({}),
        st.builds(lambda b: {"multipleBirthBoolean": b}, st.booleans()),
        st.builds(lambda n: {"multipleBirthInteger": n}, st.integers(1, 6)),
    )
    unknown_fields = st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in _PATIENT_KEYS),
        json_values,
        max_size=3,
    )
    return {
        "body": body,
        "deceased": deceased,
        "multiple_birth": multiple_birth,
        "unknown": unknown_fields,
        "odd": st.sampled_from(_ODD_VALUES),
    }


@st.composite
def patient_wires(draw: st.DrawFn, *, unknown: bool = False) -> dict[str, Any]:
    """A Patient as the platform would store it; ``unknown`` adds fields the SDK doesn't model."""
    parts = _parts(unknown)
    wire: dict[str, Any] = draw(parts["body"])
    wire.update(draw(parts["deceased"]))
    wire.update(draw(parts["multiple_birth"]))
    if unknown:
        wire.update(draw(parts["unknown"]))
        for key, value in draw(parts["odd"]).items():
            stem = key.replace("DateTime", "").replace("Integer", "")
            # Only where absent: a choice element twice (deceasedBoolean and deceasedDateTime)
            # is not FHIR, and writing ``deceased`` keeps one of them on purpose.
            if not any(k.startswith(stem) for k in wire):
                wire[key] = value
    return wire


# -- a real local platform -------------------------------------------------------------
#
# The suite's shared ScriptedPlatform (``tests/_fakes.py``), scripted as this folder's
# tests script it: a fixed token answer, and Patient routes by (method, route).

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_answer(obj: Any, status: int = 200) -> _fakes.Answer:
    return _fakes.json_reply(obj, status)


class Received(_fakes.Received):
    """One request the fake platform received; ``query`` is the raw query string here."""

    def __init__(self, request: web.Request, body: bytes, route: str | None) -> None:
        super().__init__(request, body, route)
        self.query = self.query_string  # type: ignore[assignment]


class FakePlatform(_fakes.ScriptedPlatform):
    """A local SehatMu stand-in: a token endpoint and Patient routes answering as programmed."""

    received_class = Received

    def __init__(self) -> None:
        super().__init__(check_auth=False)
        self.on("POST", _fakes.TOKEN_PATH, json_answer(TOKEN_ANSWER))

    def on(self, method: str, route: str, handler: _fakes.Answer) -> FakePlatform:
        """``route`` is ``PATIENT_PATH`` or ``PATIENT_PATH + "/{id}"`` (any deeper path)."""
        pattern = PATIENT_PATH + "/{id:.+}" if route == PATIENT_PATH + "/{id}" else route
        super().on(method, pattern, handler)
        return self

    def count(self, method: str | None = None, route: str | None = PATIENT_PATH, **_: str) -> int:
        return sum(1 for r in self.received if r.method == method and _route(r.path) == route)


def _route(path: str) -> str:
    if path.startswith(PATIENT_PATH + "/"):
        return PATIENT_PATH + "/{id}"
    return path


#: The client's retry sleep, made instant: tests assert on attempts, not on time.
no_sleep = _fakes.FakeSleep()

PATIENT_RETRY = RetryPolicy(attempts=3, backoff_base=0.01, total_timeout=10)


def make_client(base_url: str, **settings: Any) -> SehatMuClient:
    settings.setdefault("timeout", 2.0)
    settings.setdefault("retry", PATIENT_RETRY)
    return _fakes.client_for(base_url, **settings)
