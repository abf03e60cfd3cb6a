"""Property tests: reference resolution over random graphs of entries, and refusal decoding."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sehatmu_async._bundle import TransactionBundle
from sehatmu_async._bundle_refusal import transaction_refusal
from sehatmu_async._bundle_result import SentEntry, decode_transaction_response
from sehatmu_async._bundle_rules import rewrite_references
from sehatmu_async._decoders import ResponseContext, error_for_response
from sehatmu_async.errors import TransactionError

TYPES = ("Encounter", "Condition", "Observation", "Procedure", "ServiceRequest")
# Where a reference can sit inside a resource: a plain element, inside a list, deeper.
SLOTS = ("encounter", "subject", "hasMember", "basedOn", "partOf", "focus")
#: Where no slot puts a reference: the subject every drawn type may need.
PATIENT = {"reference": "Patient/P02029102687"}


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[str], list[list[tuple[str, int | None]]]]:
    """Entry types, and per entry a list of (slot, target index or None for dangling)."""
    size = draw(st.integers(min_value=1, max_value=10))
    kinds = [draw(st.sampled_from(TYPES)) for _ in range(size)]
    edges = [
        draw(
            st.lists(
                st.tuples(
                    st.sampled_from(SLOTS),
                    st.one_of(st.none(), st.integers(min_value=0, max_value=size - 1)),
                ),
                max_size=5,
            )
        )
        for _ in range(size)
    ]
    return kinds, edges


def build(
    kinds: list[str], edges: list[list[tuple[str, int | None]]], *, seed: int
) -> tuple[TransactionBundle, list[str], list[tuple[int, str]]]:
    """The bundle, its fullUrls, and the (entry, expression) of every dangling reference."""
    urns = [
        str(uuid.UUID(int=(seed * 1000 + i) % (1 << 122) | 0, version=4)) for i in range(len(kinds))
    ]
    urns = [f"urn:uuid:{u}" for u in urns]
    bundle = TransactionBundle()
    dangling: list[tuple[int, str]] = []
    for index, (kind, out) in enumerate(zip(kinds, edges, strict=True)):
        resource: dict[str, Any] = {
            "resourceType": kind,
            "identifier": [{"system": "http://sys-ids.kemkes.go.id/x/1", "value": f"v{index}"}],
            # What every type drawn needs to pass its single-create pre-flight.
            "status": "final",
            "intent": "order",
            "class": {"code": "AMB"},
            "code": {"text": "visit"},
        }
        lists: dict[str, list[dict[str, str]]] = {}
        for slot, target in out:
            ref = urns[target] if target is not None else f"urn:uuid:{uuid.uuid4()}"
            # Odd slots hold lists of references, the others one (deeper) element.
            if SLOTS.index(slot) % 2:
                position = len(lists.setdefault(slot, []))
                lists[slot].append({"reference": ref})
                where = f"Bundle.entry[{index}].resource.{slot}[{position}].reference"
            else:
                if slot in resource:
                    continue
                resource[slot] = {"reference": ref}
                where = f"Bundle.entry[{index}].resource.{slot}.reference"
            if target is None:
                dangling.append((index, where))
        resource.update(lists)
        resource.setdefault("subject", PATIENT)
        bundle.add(resource, full_url=urns[index])
    return bundle, urns, dangling


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.integers(min_value=0, max_value=10**6))
def test_exactly_the_dangling_references_are_refused(
    graph: tuple[list[str], list[list[tuple[str, int | None]]]], seed: int
) -> None:
    kinds, edges = graph
    bundle, _, dangling = build(kinds, edges, seed=seed)
    found = bundle.issues()
    assert all(issue.rule_number == 10124 for _, issue in found)
    got = sorted((index, issue.expression[0]) for index, issue in found)
    assert got == sorted(dangling)
    if dangling:
        with pytest.raises(TransactionError) as caught:
            bundle.check(warn=False)
        err = caught.value
        assert err.first_failure is not None
        assert err.first_failure.index == min(index for index, _ in dangling)
        assert {e.index for e in err.entries if e.outcome} == {i for i, _ in dangling}
    else:
        bundle.check(warn=False)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.integers(min_value=0, max_value=10**6))
def test_rewriting_every_full_url_leaves_no_internal_reference(
    graph: tuple[list[str], list[list[tuple[str, int | None]]]], seed: int
) -> None:
    kinds, edges = graph
    bundle, urns, dangling = build(kinds, edges, seed=seed)
    mapping = {urn: f"{kind}/id{i}" for i, (urn, kind) in enumerate(zip(urns, kinds, strict=True))}
    for entry in bundle.entries:
        text = orjson.dumps(rewrite_references(entry.resource, mapping)).decode()
        assert not any(urn in text for urn in urns)
    remaining = [
        e
        for entry in bundle.entries
        for e in [orjson.dumps(rewrite_references(entry.resource, mapping)).decode()]
        if "urn:uuid:" in e
    ]
    # Only the dangling references are left as urns.
    assert len(remaining) == len({index for index, _ in dangling})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(TYPES), min_size=1, max_size=12), st.data())
def test_ids_are_wired_to_the_entry_that_was_sent(kinds: list[str], data: st.DataObject) -> None:
    urns = [f"urn:uuid:{uuid.uuid4()}" for _ in kinds]
    sent: list[SentEntry] = list(zip(urns, kinds, strict=True))
    ids = [f"id-{i}-{data.draw(st.integers(0, 999))}" for i in range(len(kinds))]
    answer = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": f"{k}/{rid}/_history/1"}}
            for k, rid in zip(kinds, ids, strict=True)
        ],
    }
    context = ResponseContext(
        status=200, method="POST", url="u", path="/fhir-r4/v1", request_id=None
    )
    result = decode_transaction_response(context, answer, sent)
    assert result.ok
    for urn, kind, rid in zip(urns, kinds, ids, strict=True):
        assert result.id_for(urn) == rid
        assert result.reference_for(urn) == f"{kind}/{rid}"


def _outcome_shape(size: int, failing: int, urns: list[str], by_url: bool) -> dict[str, Any]:
    issues: list[dict[str, Any]] = []
    for index in range(size):
        if index == failing:
            text, rule = "Reference is mandatory : x", 10124
        else:
            text = "Entry not processed due to previous error"
            rule = 20013 if index < failing else 20012
        issue: dict[str, Any] = {
            "severity": "error",
            "code": "processing",
            "details": {"text": f"{text} (RuleNumber: {rule})"},
        }
        if by_url and index != failing:
            issue["diagnostics"] = f"entry {urns[index]}"
        else:
            issue["expression"] = [f"Bundle.entry[{index}].resource"]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def _bundle_shape(size: int, failing: int) -> dict[str, Any]:
    entries = []
    for index in range(size):
        if index < failing:
            entries.append({"response": {"status": "201 Created", "location": "X/1"}})
            continue
        text = "Reference is mandatory" if index == failing else "due to previous error"
        entries.append(
            {
                "response": {
                    "status": "400 Bad Request",
                    "outcome": {
                        "resourceType": "OperationOutcome",
                        "issue": [
                            {"severity": "error", "code": "value", "details": {"text": text}}
                        ],
                    },
                }
            }
        )
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=15),
    st.data(),
    st.sampled_from(["outcome", "outcome-by-url", "bundle"]),
    st.sampled_from([400, 409, 412, 422]),
)
def test_both_refusal_shapes_name_the_first_failing_entry(
    size: int, data: st.DataObject, shape: str, status: int
) -> None:
    failing = data.draw(st.integers(min_value=0, max_value=size - 1))
    urns = [f"urn:uuid:{uuid.uuid4()}" for _ in range(size)]
    kinds = [data.draw(st.sampled_from(TYPES)) for _ in range(size)]
    sent: list[SentEntry] = list(zip(urns, kinds, strict=True))
    body = (
        _bundle_shape(size, failing)
        if shape == "bundle"
        else _outcome_shape(size, failing, urns, shape == "outcome-by-url")
    )
    context = ResponseContext(
        status=status, method="POST", url="u", path="/fhir-r4/v1", request_id=None
    )
    raw = orjson.dumps(body)
    err = error_for_response(context, {"Content-Type": "application/json"}, raw)
    refusal = transaction_refusal(err, sent, path="/fhir-r4/v1", body_obj=orjson.loads(raw))
    assert refusal is not None
    first = refusal.first_failure
    assert first is not None
    assert first.index == failing
    assert first.resource_type == kinds[failing]
    assert f"entry {failing} ({kinds[failing]})" in str(refusal)
    expected_refused = [
        i for i in range(size) if i > failing or (shape != "bundle" and i < failing)
    ]
    assert [e.index for e in refusal.refused] == expected_refused
    assert not any(e.ok for e in refusal.entries)
    assert all(e.id is None for e in refusal.entries)


def _full_url_strategy() -> st.SearchStrategy[str | None]:
    uuids = st.uuids().map(str)
    return st.one_of(
        st.none(),
        st.just(""),
        uuids.map(lambda u: f"urn:uuid:{u}"),
        st.uuids(version=4).map(lambda u: f"urn:uuid:{u}"),
        st.uuids(version=4).map(lambda u: f"urn:uuid:{str(u).upper()}"),
        st.uuids(version=1).map(lambda u: f"urn:uuid:{u}"),
        st.text(max_size=40).map(lambda t: f"urn:uuid:{t}"),
        st.text(max_size=40),
        st.sampled_from(["Encounter/1", "http://x.org/Encounter/1", "urn:oid:1.2.3", "urn:uuid:"]),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_full_url_strategy(), min_size=1, max_size=6))
def test_sdk_and_sandbox_agree_on_the_full_url_rules(full_urls: list[str | None]) -> None:
    """Two independent readings of rules 20017-20021 give the same rule for every entry."""
    from sehatmu_async._bundle_rules import bundle_issues
    from sehatmu_async.sandbox._transactions import _full_url_problem

    entries = [
        {
            **({"fullUrl": url} if url is not None else {}),
            "resource": {"resourceType": "Basic", "code": {"text": "x"}},
            "request": {"method": "POST", "url": "Basic"},
        }
        for url in full_urls
    ]
    bundle = TransactionBundle.from_wire(
        {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    sdk: dict[int, set[int]] = {}
    for index, issue in bundle_issues(bundle.entries, entry_rules=False):
        if issue.rule_number is not None and issue.expression[0].endswith(".fullUrl"):
            sdk.setdefault(index, set()).add(issue.rule_number)
    first_of: dict[str, int] = {}
    for index, url in enumerate(full_urls):
        if isinstance(url, str):
            first_of.setdefault(url, index)
    sandbox: dict[int, set[int]] = {}
    for index, url in enumerate(full_urls):
        problem = _full_url_problem(index, url, first_of)
        if problem is not None:
            text = problem["details"]["text"]
            sandbox[index] = {int(text.rsplit("RuleNumber: ", 1)[1].rstrip(")"))}
    assert sdk == sandbox


# -- garbage in: typed errors out, never a KeyError ----------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["resourceType", "type", "entry", "response", "status", "location", "etag",
             "outcome", "resource", "id", "issue", "expression", "details", "text", "x"]
        ),
        children,
        max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip

_answer_entry = st.fixed_dictionaries(
    {},
    optional={
        "response": st.fixed_dictionaries(
            {},
            optional={
                "status": st.one_of(st.sampled_from(["201 Created", "400", "200 OK"]), _json),
                "location": st.one_of(
                    st.sampled_from(["Encounter/E1/_history/1", "Condition/C1", "x/y"]), _json
                ),
                "etag": st.one_of(st.just('W/"1"'), _json),
                "outcome": st.one_of(
                    st.just({"resourceType": "OperationOutcome", "issue": [{"code": "x"}]}),
                    _json,
                ),
            },
        ),
        "resource": _json,
    },
)
_answers = st.one_of(
    _json,
    st.fixed_dictionaries(
        {
            "resourceType": st.just("Bundle"),
            "type": st.sampled_from(["transaction-response", "batch-response"]),
            "entry": st.lists(_answer_entry, max_size=4),
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(_answers, st.integers(min_value=1, max_value=4))
def test_any_2xx_answer_is_a_result_or_an_api_error(answer: Any, size: int) -> None:
    from sehatmu_async import APIError, BundleResult

    sent: list[SentEntry] = [
        (f"urn:uuid:{uuid.UUID(int=i, version=4)}", "Encounter") for i in range(size)
    ]
    context = ResponseContext(
        status=200, method="POST", url="u", path="/fhir-r4/v1", request_id=None
    )
    try:
        result = decode_transaction_response(context, answer, sent)
    except APIError as err:
        failure: APIError | None = err
    else:
        failure = None
    if failure is not None:
        assert type(failure) is APIError  # a shape error, never a KeyError or TypeError
        return
    assert isinstance(result, BundleResult)
    assert len(result) == size
    for entry in result:
        assert entry.ok == (entry.id is not None and entry.ok)


@settings(max_examples=300, deadline=None)
@given(_answers, st.sampled_from([400, 409, 422]))
def test_any_4xx_answer_is_a_transaction_error_or_the_pipelines_error(
    answer: Any, status: int
) -> None:
    from sehatmu_async import APIError
    from sehatmu_async._bundle_refusal import decode_refusal

    sent: list[SentEntry] = [(f"urn:uuid:{uuid.uuid4()}", "Encounter"), (None, "Condition")]
    context = ResponseContext(
        status=status, method="POST", url="u", path="/fhir-r4/v1", request_id=None
    )
    body = orjson.dumps(answer)
    err = decode_refusal(context, {"Content-Type": "application/json"}, body, sent)
    assert isinstance(err, APIError)
    assert err.status == status
    if isinstance(err, TransactionError):
        assert len(err.entries) == 2
        assert not any(entry.ok for entry in err.entries)
        assert "\n" not in str(err)


_entry_resource = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(["Encounter", "Bundle", "Patient", "Nope", "x"]),
        "status": st.just("finished"),
        "subject": st.one_of(st.just({"reference": "urn:uuid:x"}), _json),
    }
)
_bundle_entry = st.fixed_dictionaries(
    {
        "fullUrl": st.one_of(st.uuids(version=4).map(lambda u: f"urn:uuid:{u}"), _json),
        "resource": st.one_of(_json, _entry_resource),
        "request": st.one_of(_json, st.just({"method": "POST", "url": "Encounter"})),
    }
)
_bodies = st.one_of(
    _json,
    st.fixed_dictionaries(
        {
            "resourceType": st.just("Bundle"),
            "type": st.just("transaction"),
            "entry": st.lists(st.one_of(_json, _bundle_entry), max_size=4),
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(_bodies)
def test_the_sandbox_answers_any_body_without_failing(body: Any) -> None:
    """The sandbox's processor stores or refuses; it never raises out (which is a 500)."""
    from sehatmu_async.sandbox._fhir_store import FhirStore
    from sehatmu_async.sandbox._patients import PatientStore
    from sehatmu_async.sandbox._transactions import _Refused, process_transaction

    store = FhirStore(PatientStore())
    try:
        stored, refusal = process_transaction(store, body)
    except _Refused as refused:
        whole: _Refused | None = refused
    else:
        whole = None
    if whole is not None:
        assert whole.issues
        assert len(store) == 3  # only the three practitioners made at start
        return
    if refusal is not None:
        assert stored is None
        assert all("severity" in issue for issue in refusal)
        assert len(store) == 3
    else:
        assert stored is not None
        assert len(store) == 3 + len(stored)
