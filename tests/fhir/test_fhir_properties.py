"""Property tests: type and id checks, the reference rule and the date-time rule."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sehatmu_async import ConfigurationError, fhir_datetime
from sehatmu_async._fhir_wire import next_request
from sehatmu_async._paths import resource_path
from sehatmu_async._validation import is_reference, resource_issues, utc_datetimes
from sehatmu_async.errors import PaginationError
from sehatmu_async.sandbox._validation import reference_is_valid, validate_resource

_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

id_chars = string.ascii_letters + string.digits + "-./?#%:_ \n"
ids = st.text(alphabet=id_chars, min_size=0, max_size=70) | st.sampled_from(
    [".", "..", "a/..", "P1", "x" * 64, "x" * 65]
)
types = st.text(alphabet=string.ascii_letters + "./", min_size=0, max_size=66) | st.sampled_from(
    ["Encounter", "Patient", "encounter", "E", "Ab"]
)


@settings(max_examples=300)
@given(types, ids)
def test_paths_admit_exactly_the_fhir_types_and_ids(kind: str, rid: str) -> None:
    ok = bool(_TYPE.fullmatch(kind)) and bool(_ID.fullmatch(rid)) and rid not in (".", "..")
    try:
        path = resource_path(kind, rid)
    except ConfigurationError:
        assert not ok
        return
    assert ok
    # The id is one whole segment: nothing it holds can change the path.
    assert path == f"/fhir-r4/v1/{kind}/{rid}"
    assert path.count("/") == 4


references = st.one_of(
    st.builds(lambda t, i: f"{t}/{i}", types, ids),
    st.builds(lambda t, i, v: f"{t}/{i}/_history/{v}", types, ids, ids),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.text(max_size=30).map(lambda s: f"urn:uuid:{s}"),
    st.text(alphabet=string.ascii_letters + string.digits, max_size=8).map(lambda s: f"#{s}"),
    st.text(max_size=40),
)


def _oracle(ref: str, contained: frozenset[str]) -> bool:
    if ref.startswith("#"):
        return ref[1:] in contained
    if _UUID.fullmatch(ref):
        return True
    parts = ref.split("/")
    if len(parts) == 4 and parts[2] == "_history" and _ID.fullmatch(parts[3]):
        parts = parts[:2]
    return (
        len(parts) == 2
        and bool(_TYPE.fullmatch(parts[0]))
        and bool(_ID.fullmatch(parts[1]))
        and parts[1] not in (".", "..")
    )


@settings(max_examples=400)
@given(references, st.frozensets(st.sampled_from(["med1", "a", "B2"]), max_size=2))
def test_reference_rule_is_the_spec_and_the_sandbox_agrees(
    ref: str, contained: frozenset[str]
) -> None:
    expected = _oracle(ref, contained)
    assert is_reference(ref, contained) == expected
    assert reference_is_valid(ref, set(contained)) == expected


def _encounter_with(value: Any, element: str = "start") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "arrived",
        "class": {"code": "AMB"},
        "period": {element: value},
    }


aware = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [timezone.utc, timezone(timedelta(hours=7)), timezone(timedelta(hours=9, minutes=30))]
    ),
)


@settings(max_examples=200)
@given(aware)
def test_every_aware_datetime_goes_out_in_the_accepted_form(value: datetime) -> None:
    text = fhir_datetime(value)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", text)
    assert datetime.fromisoformat(text) == value.replace(microsecond=0)
    resource = _encounter_with(text)
    assert resource_issues(resource) == []
    assert validate_resource(resource) == []


date_time_texts = st.one_of(
    aware.map(lambda d: d.isoformat()),
    aware.map(lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
    aware.map(lambda d: d.strftime("%Y-%m-%d")),
    st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", fullmatch=True),
    st.text(max_size=30),
)


@settings(max_examples=300)
@given(date_time_texts, st.sampled_from(["start", "end"]))
def test_sdk_and_sandbox_agree_on_date_times(text: str, element: str) -> None:
    resource = _encounter_with(text, element)
    sdk = [i.rule_number for i in resource_issues(resource)]
    sandbox = [
        int(m.group(1)) if (m := re.search(r"RuleNumber: (\d+)", i["details"]["text"])) else None
        for i in validate_resource(resource)
    ]
    assert sdk == sandbox
    accepted = re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", text)
    if accepted:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            accepted = None
    assert (sdk == []) == bool(accepted)


@settings(max_examples=200)
@given(aware)
def test_utc_z_strings_become_plus_zero_and_pass(value: datetime) -> None:
    utc = value.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if utc.year < 1000:
        return  # strftime does not pad years below 1000 on every platform
    out = utc_datetimes(_encounter_with(text))
    assert out["period"]["start"] == fhir_datetime(utc)
    assert resource_issues(out) == []


hosts = st.sampled_from(["127.0.0.1", "localhost", "api.example.org", "127.0.0.2"])
ports = st.sampled_from([None, 80, 443, 8080, 41234])
schemes = st.sampled_from(["http", "https"])


@settings(max_examples=300)
@given(schemes, hosts, ports, st.sampled_from(["/fhir-r4/v1/Encounter", "/oauth2/v1/x", "/"]))
def test_next_links_are_followed_only_on_the_base_origin(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    base = "http://127.0.0.1:41234"
    netloc = host if port is None else f"{host}:{port}"
    link = f"{scheme}://{netloc}{path}?_page=2"
    default = 443 if scheme == "https" else 80
    same = (scheme, host, port or default) == ("http", "127.0.0.1", 41234)
    try:
        got_path, query = next_request(base, link)
    except PaginationError:
        assert not same or not path.startswith("/fhir-r4/v1/")
        return
    assert same
    assert got_path == path
    assert dict(query) == {"_page": "2"}
