"""Pure decoding of transaction answers: the transaction-response and both refusal shapes."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from sehatmu_async import APIError, ConfigurationError, ValidationError
from sehatmu_async._bundle_refusal import transaction_refusal
from sehatmu_async._bundle_result import (
    BundleResult,
    SentEntry,
    decode_transaction_response,
    parse_etag,
    parse_location,
    parse_status,
)
from sehatmu_async._decoders import ResponseContext, error_for_response
from sehatmu_async.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransactionError,
)

PATH = "/fhir-r4/v1"
URNS = [f"urn:uuid:{uuid.uuid4()}" for _ in range(4)]
SENT: list[SentEntry] = [
    (URNS[0], "Encounter"),
    (URNS[1], "Condition"),
    (URNS[2], "Condition"),
    (URNS[3], "Observation"),
]


def ctx(status: int = 200) -> ResponseContext:
    return ResponseContext(
        status=status,
        method="POST",
        url="http://127.0.0.1/fhir-r4/v1",
        path=PATH,
        request_id="rid-7",
    )


def response_entry(kind: str, rid: str, *, version: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "response": {
            "status": "201 Created",
            "location": f"{kind}/{rid}/_history/{version}",
            "etag": f'W/"{version}"',
            "lastModified": "2024-01-01T00:00:00+00:00",
        },
        **extra,
    }


def transaction_response(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": list(entries)}


def ok_answer() -> dict[str, Any]:
    return transaction_response(
        response_entry("Encounter", "E1"),
        response_entry("Condition", "C1"),
        response_entry(
            "Condition",
            "C2",
            resource={
                "resourceType": "Condition",
                "id": "C2",
                "encounter": {"reference": "Encounter/E1"},
            },
        ),
        {
            "response": {
                "status": "201",
                "location": "https://api.example/fhir-r4/v1/Observation/O1/_history/3",
            }
        },
    )


def refused(status: int, body: object, headers: dict[str, str] | None = None) -> APIError:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return error_for_response(ctx(status), headers or {"Content-Type": "application/json"}, raw)


# -- small parsers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("201 Created", 201),
        ("201", 201),
        (" 200 OK", 200),
        (201, 201),
        ("Created", None),
        (None, None),
        (True, None),
        (999, None),
        ("2011", None),
    ],
)
def test_parse_status(value: object, expected: int | None) -> None:
    assert parse_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Encounter/E1/_history/1", ("Encounter", "E1", "1")),
        ("Encounter/E1", ("Encounter", "E1", None)),
        ("http://h/fhir-r4/v1/Condition/abc-1.2/_history/7", ("Condition", "abc-1.2", "7")),
        ("Condition/abc?x=1", ("Condition", "abc", None)),
        ("", None),
        ("encounter/1", None),
        (None, None),
    ],
)
def test_parse_location(value: object, expected: object) -> None:
    assert parse_location(value) == expected


def test_parse_etag() -> None:
    assert parse_etag('W/"1"') == "1"
    assert parse_etag('"12"') == "12"
    assert parse_etag("1") is None
    assert parse_etag(None) is None


# -- success -----------------------------------------------------------------------------------


def test_transaction_response_gives_one_result_per_entry_sent() -> None:
    result = decode_transaction_response(ctx(), ok_answer(), SENT)
    assert isinstance(result, BundleResult)
    assert result.ok
    assert len(result) == 4
    assert [e.status for e in result] == [201, 201, 201, 201]
    assert [e.id for e in result] == ["E1", "C1", "C2", "O1"]
    assert [e.resource_type for e in result] == [
        "Encounter",
        "Condition",
        "Condition",
        "Observation",
    ]
    assert result[0].location == "Encounter/E1/_history/1"
    assert result[0].etag == 'W/"1"'
    assert result[0].version == "1"
    assert result[3].version == "3"
    assert result.id_for(URNS[0]) == "E1"
    assert result.reference_for(URNS[1]) == "Condition/C1"
    assert result.resource_for(URNS[1]) is None
    resource = result.resource_for(URNS[2])
    assert resource is not None
    assert resource["encounter"] == {"reference": "Encounter/E1"}
    assert result.entry_for(URNS[3]).index == 3


def test_unknown_reference_is_a_configuration_error() -> None:
    result = decode_transaction_response(ctx(), ok_answer(), SENT)
    with pytest.raises(ConfigurationError, match=r"bundle\.add"):
        result.id_for(f"urn:uuid:{uuid.uuid4()}")


def test_a_failing_entry_in_a_2xx_answer_makes_ok_false() -> None:
    answer = ok_answer()
    answer["entry"][1] = {
        "response": {
            "status": "400 Bad Request",
            "outcome": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "value", "details": {"text": "bad"}}],
            },
        }
    }
    result = decode_transaction_response(ctx(), answer, SENT)
    assert not result.ok
    assert [e.ok for e in result] == [True, False, True, True]
    assert result[1].id is None
    assert "bad" in result[1].describe()


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ({"resourceType": "OperationOutcome", "issue": []}, "OperationOutcome"),
        ({"resourceType": "Bundle", "type": "batch-response", "entry": []}, "batch-response"),
        ([1, 2], "no FHIR resource"),
        (transaction_response(response_entry("Encounter", "E1")), "4 entries sent but 1"),
    ],
)
def test_wrong_answers_are_api_errors(answer: object, what: str) -> None:
    with pytest.raises(APIError, match=what) as caught:
        decode_transaction_response(ctx(), answer, SENT)
    assert type(caught.value) is APIError


@pytest.mark.parametrize(
    ("index", "entry", "what"),
    [
        (
            1,
            response_entry("Encounter", "X"),
            "sent as a Condition but its location is a Encounter",
        ),
        (0, {"response": {"location": "Encounter/E1"}}, "no response.status"),
        (0, {"response": {"status": "201 Created"}}, "gives no id"),
        (0, "x", "not an object"),
        (
            2,
            response_entry("Condition", "C2", resource={"resourceType": "Condition", "id": "C9"}),
            "location id C2 but resource id C9",
        ),
        (2, response_entry("Condition", "C2", resource={"resourceType": "Patient"}), "came back"),
    ],
)
def test_answers_that_contradict_what_was_sent_are_api_errors(
    index: int, entry: object, what: str
) -> None:
    answer = ok_answer()
    answer["entry"][index] = entry
    with pytest.raises(APIError, match=what):
        decode_transaction_response(ctx(), answer, SENT)


def test_resource_in_answer_gives_the_id_when_there_is_no_location() -> None:
    answer = ok_answer()
    answer["entry"][0] = {
        "response": {"status": "201 Created"},
        "resource": {"resourceType": "Encounter", "id": "E5", "meta": {"versionId": "1"}},
    }
    result = decode_transaction_response(ctx(), answer, SENT)
    assert result.id_for(URNS[0]) == "E5"


# -- refusal shape 1: an OperationOutcome naming entries -------------------------------------


def outcome_refusal() -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "details": {"text": "Entry rolled back due to previous error (RuleNumber: 20013)"},
                "expression": ["Bundle.entry[0]"],
            },
            {
                "severity": "error",
                "code": "value",
                "details": {
                    "text": "Reference is mandatory : Condition.subject (RuleNumber: 10124)"
                },
                "expression": ["Bundle.entry[1].resource.subject"],
            },
            {
                "severity": "error",
                "code": "processing",
                "details": {
                    "text": "Entry not processed due to previous error (RuleNumber: 20012)"
                },
                "diagnostics": f"fullUrl {URNS[2]}",
            },
            {
                "severity": "error",
                "code": "processing",
                "details": {"text": "Entry not processed (RuleNumber: 20012)"},
                "diagnostics": URNS[3].upper().replace("URN:UUID:", "urn:uuid:"),
            },
        ],
    }


def test_outcome_refusal_names_the_first_failing_entry_and_those_after_it() -> None:
    err = refused(400, outcome_refusal())
    assert type(err) is ValidationError
    tx = transaction_refusal(err, SENT, path=PATH)
    assert isinstance(tx, TransactionError)
    assert isinstance(tx, ValidationError)
    first = tx.first_failure
    assert first is not None
    assert (first.index, first.resource_type) == (1, "Condition")
    assert first.issues[0].rule_number == 10124
    assert [e.index for e in tx.refused] == [0, 2, 3]
    assert all(not e.ok and e.id is None for e in tx.entries)
    message = str(tx)
    assert "entry 1 (Condition)" in message
    assert "10124" in message
    assert "3 other entries refused due to previous error" in message
    assert "nothing of the bundle was stored" in message
    assert "[request id rid-7]" in message
    assert tx.status == 400
    assert tx.request_id == "rid-7"
    assert len(tx.issues) == 4


def test_outcome_refusal_without_entry_names_still_raises_transaction_error() -> None:
    err = refused(
        422,
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "value",
                    "details": {"text": "Code not found (RuleNumber: 10001)"},
                    "expression": ["Encounter.class.code"],
                }
            ],
        },
    )
    tx = transaction_refusal(err, SENT, path=PATH)
    assert tx is not None
    assert tx.first_failure is None
    assert tx.refused == ()
    assert "Code not found" in str(tx)
    assert all(e.outcome is None for e in tx.entries)


def test_expression_index_beyond_the_bundle_is_not_an_entry() -> None:
    body = outcome_refusal()
    body["issue"] = [dict(body["issue"][1], expression=["Bundle.entry[9].resource.subject"])]
    tx = transaction_refusal(refused(400, body), SENT, path=PATH)
    assert tx is not None
    assert tx.first_failure is None


def test_duplicate_inside_a_transaction_is_a_transaction_error() -> None:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "duplicate",
                "details": {"text": "Found duplicate resource: Encounter"},
                "expression": ["Bundle.entry[0]"],
            }
        ],
    }
    tx = transaction_refusal(refused(400, body), SENT, path=PATH)
    assert tx is not None
    assert tx.first_failure is not None
    assert tx.first_failure.index == 0
    assert tx.first_failure.issues[0].code == "duplicate"


# -- refusal shape 2: a transaction-response Bundle with outcomes --------------------------------


def bundle_refusal() -> dict[str, Any]:
    def failed(status: str, text: str, rule: int) -> dict[str, Any]:
        return {
            "response": {
                "status": status,
                "outcome": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "processing",
                            "details": {"text": f"{text} (RuleNumber: {rule})"},
                        }
                    ],
                },
            }
        }

    return transaction_response(
        {"response": {"status": "201 Created", "location": "Encounter/E1/_history/1"}},
        failed("400 Bad Request", "Reference is mandatory : Condition.subject", 10124),
        failed("400 Bad Request", "Not processed due to previous error", 20012),
        failed("400 Bad Request", "Not processed due to previous error", 20012),
    )


def test_bundle_refusal_names_the_first_failing_entry_and_those_after_it() -> None:
    body = bundle_refusal()
    err = refused(400, body)
    assert type(err) is APIError  # the pipeline does not know the shape
    tx = transaction_refusal(err, SENT, path=PATH, body_obj=body)
    assert isinstance(tx, TransactionError)
    first = tx.first_failure
    assert first is not None
    assert first.index == 1
    assert first.status == 400
    assert [e.index for e in tx.refused] == [2, 3]
    # Entry 0 says 201, but a refused transaction stores nothing.
    assert tx.entries[0].id is None
    assert not any(e.ok and e.id for e in tx.entries)
    assert "entry 1 (Condition)" in str(tx)
    assert "10124" in str(tx)
    assert "2 other entries refused" in str(tx)
    assert [i.rule_number for i in tx.issues] == [10124, 20012, 20012]


def test_small_bundle_refusal_is_read_from_the_error_body() -> None:
    body = transaction_response(
        {
            "response": {
                "status": "400",
                "outcome": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "value",
                            "details": {"text": "bad (RuleNumber: 10001)"},
                        }
                    ],
                },
            }
        },
        {"response": {"status": "400"}},
        {"response": {"status": "400"}},
        {"response": {"status": "400"}},
    )
    err = refused(400, body)
    assert not err.body.endswith("…")
    tx = transaction_refusal(err, SENT, path=PATH)
    assert tx is not None
    assert tx.first_failure is not None
    assert tx.first_failure.index == 0
    assert "10001" in str(tx)


def test_bundle_refusal_given_as_parsed_json_is_read_even_when_the_excerpt_is_cut() -> None:
    big = bundle_refusal()
    big["entry"][3]["response"]["outcome"]["issue"][0]["diagnostics"] = "x" * 5000
    err = refused(400, big)
    assert err.body.endswith("…")
    assert transaction_refusal(err, SENT, path=PATH) is None
    tx = transaction_refusal(err, SENT, path=PATH, body_obj=big)
    assert tx is not None
    assert tx.first_failure is not None
    assert tx.first_failure.index == 1


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"fault": {"faultstring": "Invalid access token"}}, AuthenticationError),
        (403, b"<html>forbidden</html>", PermissionDeniedError),
        (404, b"", NotFoundError),
        (429, {"fault": {"faultstring": "Spike arrest"}}, RateLimitError),
        (503, b"no healthy upstream", ServerError),
        (400, b"<html>bad</html>", APIError),
        (400, {"resourceType": "Bundle", "type": "searchset"}, APIError),
    ],
)
def test_answers_that_are_no_refusal_of_the_bundle_keep_their_error(
    status: int, body: object, cls: type[APIError]
) -> None:
    headers = {"Content-Type": "text/html" if isinstance(body, bytes) else "application/json"}
    err = refused(status, body, headers)
    assert type(err) is cls
    assert transaction_refusal(err, SENT, path=PATH) is None
