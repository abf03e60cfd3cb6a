"""Pure decoders: every answer shape of api.md, the seeds' JSON byte for byte."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from _foundation_helpers import ctx, headers
from _foundation_seeds import (
    BUSINESS_RULE_TEXT,
    MASTER_DATA_LIMIT_001,
    OO_DUPLICATE,
    OO_R10001_CODE_NOT_FOUND,
    OUTCOME_EXAMPLES,
    TOKEN_BAD_CREDENTIALS_000,
    TOKEN_BAD_CREDENTIALS_001,
    TOKEN_OK_000,
    TOKEN_OK_001,
)

from sehatmu_async import OperationOutcome
from sehatmu_async._decoders import (
    BODY_EXCERPT_CHARS,
    decode_json,
    error_for_response,
    raise_for_embedded_error,
    shape_error,
)
from sehatmu_async._outcome import parse_operation_outcome
from sehatmu_async._token import AccessToken, decode_token
from sehatmu_async.errors import (
    APIError,
    AuthenticationError,
    DuplicateResourceError,
    MasterDataError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)

TOKEN_CTX = ctx(200, "POST", "/oauth2/v1/accesstoken", withhold_body=True)
JSON = headers(Content_Type="application/json")
TEXT = headers(Content_Type="text/plain")


def assert_one_line_error(err: APIError, status: int, method: str, path: str) -> None:
    """Every APIError keeps where it came from and says, in one line, what and what to do."""
    text = str(err)
    assert "\n" not in text
    assert "\r" not in text
    assert text.startswith(f"{status}")
    assert f"{method} {path}" in text
    # "<what went wrong> — <what to do>"
    what, _, todo = text.partition(" — ")
    assert what, text
    assert todo, text
    assert err.status == status
    assert err.method == method
    assert err.url.endswith(path)
    assert len(err.body) <= BODY_EXCERPT_CHARS + 1


# -- access token ------------------------------------------------------------------


@pytest.mark.parametrize("body", [TOKEN_OK_000, TOKEN_OK_001], ids=["seed000", "seed001"])
def test_token_apigee_shape_from_the_seeds(body: bytes) -> None:
    wall = datetime(2026, 1, 1, tzinfo=timezone.utc)
    token = decode_token(TOKEN_CTX, JSON, body, requested_at=500.0, requested_at_utc=wall)
    expected = orjson.loads(body)["access_token"]
    assert token.access_token == expected
    assert token.token_type == "BearerToken"
    assert token.expires_in == 3599.0
    assert token.expires_at == 500.0 + 3599.0  # counted on our monotonic clock
    assert token.expires_at_utc == datetime(2026, 1, 1, 0, 59, 59, tzinfo=timezone.utc)
    # issued_at is epoch milliseconds: 1671109805593 ms is 2022-12-15T13:10:05.593Z.
    assert token.issued_at == datetime(2022, 12, 15, 13, 10, 5, 593000, tzinfo=timezone.utc)
    assert token.scope == ""
    assert token.authorization() == f"Bearer {expected}"


def test_token_rfc6749_shape_with_integers() -> None:
    body = b'{"access_token": "abc.def", "token_type": "Bearer", "expires_in": 3600}'
    token = decode_token(TOKEN_CTX, JSON, body, requested_at=10.0)
    assert token.token_type == "Bearer"
    assert token.expires_in == 3600.0
    assert token.expires_at == 3610.0
    assert token.issued_at is None
    assert token.scope is None
    assert token.authorization() == "Bearer abc.def"


def test_token_numbers_as_numbers_in_apigee_shape() -> None:
    body = orjson.dumps(
        {"access_token": "x1", "token_type": "BearerToken", "expires_in": 60,
         "issued_at": 1671109805593}
    )  # fmt: skip
    token = decode_token(TOKEN_CTX, JSON, body, requested_at=0.0)
    assert token.expires_in == 60.0
    assert token.issued_at is not None
    assert token.issued_at.year == 2022


def test_token_type_missing_defaults_to_bearer() -> None:
    token = decode_token(TOKEN_CTX, JSON, b'{"access_token":"t","expires_in":"5"}', requested_at=0)
    assert token.token_type == "Bearer"


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"token_type": "Bearer", "expires_in": 3599}', "no access_token"),
        (b'{"access_token": "  ", "expires_in": 3599}', "no access_token"),
        (b'{"access_token": 12345, "expires_in": 3599}', "no access_token"),
        (b'{"access_token": "t0k3n", "expires_in": "0"}', "no positive expires_in"),
        (b'{"access_token": "t0k3n", "expires_in": "-5"}', "no positive expires_in"),
        (b'{"access_token": "t0k3n", "expires_in": "soon"}', "no positive expires_in"),
        (b'{"access_token": "t0k3n", "expires_in": true}', "no positive expires_in"),
        (b'{"access_token": "t0k3n"}', "no positive expires_in"),
        (b'{"access_token": "t0k3n", "expires_in": 1, "token_type": "mac"}', "not a bearer"),
        (b'["t0k3n"]', "not a JSON object"),
    ],
)
def test_token_malformed_answers_raise_api_error_without_the_token(body: bytes, what: str) -> None:
    with pytest.raises(APIError) as info:
        decode_token(TOKEN_CTX, JSON, body, requested_at=0.0)
    err = info.value
    assert type(err) is APIError
    assert what in str(err)
    assert "t0k3n" not in str(err)
    assert "t0k3n" not in repr(err.args)
    assert "t0k3n" not in err.body
    assert_one_line_error(err, 200, "POST", "/oauth2/v1/accesstoken")


@pytest.mark.parametrize(
    "body",
    [
        b"access_token=t0k3n-form-encoded&token_type=bearer&expires_in=3599",
        b'{"access_token": "t0k3n-truncated", "expires_in": ',
        b"<html><body>t0k3n-html</body></html>",
    ],
)
def test_token_answer_that_is_not_json_never_echoes_the_body(body: bytes) -> None:
    with pytest.raises(APIError) as info:
        decode_token(TOKEN_CTX, headers(Content_Type="text/plain"), body, requested_at=0.0)
    err = info.value
    assert "t0k3n" not in str(err)
    assert "t0k3n" not in repr(err)
    assert "t0k3n" not in err.body
    assert "expected JSON" in str(err)


def test_token_with_absurd_lifetime_is_a_shape_error_not_an_overflow() -> None:
    body = b'{"access_token": "t0k3n", "expires_in": "1e300"}'
    with pytest.raises(APIError) as info:
        decode_token(TOKEN_CTX, JSON, body, requested_at=0.0)
    assert "expires_in" in str(info.value)


def test_access_token_repr_and_str_hide_the_token() -> None:
    token = decode_token(TOKEN_CTX, JSON, TOKEN_OK_000, requested_at=0.0)
    secret = "k8JIDROZHfXjmUcQJE62lMqQwlLU"  # the seed's token
    assert token.access_token == secret
    for text in (repr(token), str(token), f"{token}", f"{token!r}", str([token])):
        assert secret not in text
        assert "<hidden>" in text
    assert "BearerToken" in repr(token)


@pytest.mark.parametrize(
    "body", [TOKEN_BAD_CREDENTIALS_000, TOKEN_BAD_CREDENTIALS_001], ids=["seed000", "seed001"]
)
@pytest.mark.parametrize("status", [400, 401, 403])
def test_token_4xx_operation_outcome_is_authentication_error(body: bytes, status: int) -> None:
    err = error_for_response(
        ctx(status, "POST", "/oauth2/v1/accesstoken"), JSON, body, token_endpoint=True
    )
    assert type(err) is AuthenticationError
    assert err.outcome is not None
    (issue,) = err.outcome.issues
    assert issue.severity == "invalid"
    assert issue.is_failure
    assert issue.code == "value"
    assert issue.text is not None
    assert "not able to be authenticated" in issue.text
    assert "not able to be authenticated" in str(err)
    assert "client id and secret" in str(err)
    assert err.request_id == "req-123"
    assert "[request id req-123]" in str(err)
    assert_one_line_error(err, status, "POST", "/oauth2/v1/accesstoken")


# -- OperationOutcome (seeds/004) ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "rule", "expression"),
    OUTCOME_EXAMPLES,
    ids=[f"{c}-{r}" for _, c, r, _ in OUTCOME_EXAMPLES],
)
def test_every_seed_operation_outcome(
    body: bytes, code: str, rule: int | None, expression: tuple[str, ...]
) -> None:
    outcome = parse_operation_outcome(orjson.loads(body))
    assert outcome is not None
    (issue,) = outcome.issues
    assert issue.severity == "error"
    assert issue.code == code
    assert issue.rule_number == rule
    assert issue.expression == expression
    assert issue.text == orjson.loads(body)["issue"][0]["details"]["text"]
    assert outcome.rule_numbers == (() if rule is None else (rule,))

    err = error_for_response(ctx(400, "POST", "/fhir-r4/v1/Encounter"), JSON, body)
    expected = DuplicateResourceError if code == "duplicate" else ValidationError
    assert type(err) is expected
    assert isinstance(err, ValidationError)
    assert err.issues == outcome.issues
    assert err.rule_numbers == outcome.rule_numbers
    assert issue.text is not None
    assert issue.text[:40] in str(err)
    for where in expression:
        assert where in str(err)
    assert_one_line_error(err, 400, "POST", "/fhir-r4/v1/Encounter")


def test_seed_rule_numbers_in_document_order() -> None:
    rules = [parse_operation_outcome(orjson.loads(b)).rule_numbers for b, *_ in OUTCOME_EXAMPLES]  # type: ignore[union-attr]
    assert [r for rs in rules for r in rs] == [
        10001, 10132, 10132, 10124, 10002, 10263, 10117, 10254, 10134, 10171
    ]  # fmt: skip


def test_duplicate_says_not_to_send_again() -> None:
    err = error_for_response(ctx(400, "POST", "/fhir-r4/v1/Encounter"), JSON, OO_DUPLICATE)
    assert isinstance(err, DuplicateResourceError)
    assert "Found duplicate resource: Encounter" in str(err)
    assert "do not send it again" in str(err)


def test_several_issues_with_diagnostics_and_location() -> None:
    body = orjson.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "warning", "code": "informational",
                 "details": {"text": "just so you know"}},
                {"severity": "error", "code": "value",
                 "details": {"text": "Reference is mandatory (RuleNumber: 10124)"},
                 "expression": ["Encounter.subject"]},
                {"severity": "fatal", "code": "format",
                 "diagnostics": "bad date (RuleNumber : 10132 )",
                 "location": ["Encounter.period.start"]},
                {"severity": "error", "code": "value", "details": {"text": "no rule here"}},
            ],
        }
    )  # fmt: skip
    err = error_for_response(ctx(422, "POST", "/fhir-r4/v1/Encounter"), JSON, body)
    assert type(err) is ValidationError
    assert len(err.issues) == 4
    assert [i.severity for i in err.issues] == ["warning", "error", "fatal", "error"]
    assert [i.is_failure for i in err.issues] == [False, True, True, True]
    assert err.rule_numbers == (10124, 10132)
    assert err.issues[1].expression == ("Encounter.subject",)
    assert err.issues[2].diagnostics == "bad date (RuleNumber : 10132 )"
    assert err.issues[2].text is None
    assert err.issues[2].expression == ("Encounter.period.start",)
    assert err.issues[3].rule_number is None
    # The message leads with the first failing issue, not the warning.
    assert "Reference is mandatory" in str(err)
    assert "just so you know" not in str(err)
    assert "+2 more issue(s)" in str(err)
    assert_one_line_error(err, 422, "POST", "/fhir-r4/v1/Encounter")


def test_error_outcome_inside_2xx_raises() -> None:
    obj = orjson.loads(OO_R10001_CODE_NOT_FOUND)
    with pytest.raises(ValidationError) as info:
        raise_for_embedded_error(ctx(201, "POST", "/fhir-r4/v1/Encounter"), obj, b"")
    assert info.value.status == 201
    assert info.value.rule_numbers == (10001,)


@pytest.mark.parametrize("status", [200, 201])
@pytest.mark.parametrize("severity", ["information", "warning"])
def test_information_suppressed_outcome_inside_2xx_does_not_raise(
    status: int, severity: str
) -> None:
    obj = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": "suppressed",
             "details": {"text": "data withheld by consent rules"}},
            {"severity": "information", "code": "informational", "diagnostics": "ok"},
        ],
    }  # fmt: skip
    raise_for_embedded_error(ctx(status), obj, orjson.dumps(obj))
    outcome = parse_operation_outcome(obj)
    assert isinstance(outcome, OperationOutcome)
    assert not outcome.is_failure
    assert outcome.codes == frozenset({"suppressed", "informational"})


def test_business_rule_403_is_permission_denied() -> None:
    body = orjson.dumps(
        {"resourceType": "OperationOutcome",
         "issue": [{"severity": "error", "code": "forbidden",
                    "details": {"text": BUSINESS_RULE_TEXT}}]}
    )  # fmt: skip
    err = error_for_response(ctx(403, "GET", "/fhir-r4/v1/Patient/P1"), JSON, body)
    assert type(err) is PermissionDeniedError
    assert BUSINESS_RULE_TEXT in str(err)
    assert err.outcome is not None
    assert err.outcome.issues[0].text == BUSINESS_RULE_TEXT
    assert_one_line_error(err, 403, "GET", "/fhir-r4/v1/Patient/P1")


# -- gateway faults -----------------------------------------------------------------

FAULTS = [
    (b'{"fault": {"faultstring": "Invalid access token", "detail": '
     b'{"errorcode": "oauth.v2.InvalidAccessToken"}}}',
     "Invalid access token", "oauth.v2.InvalidAccessToken"),
    (b'{"fault": {"faultstring": "Access Token expired", "detail": '
     b'{"errorcode": "keymanagement.service.access_token_expired"}}}',
     "Access Token expired", "keymanagement.service.access_token_expired"),
    (b'{"fault": {"faultstring": "Invalid API call as no apiproduct match found", "detail": '
     b'{"errorcode": "keymanagement.service.InvalidAPICallAsNoApiProductMatchFound"}}}',
     "Invalid API call as no apiproduct match found",
     "keymanagement.service.InvalidAPICallAsNoApiProductMatchFound"),
    (b'{"ErrorCode": "invalid_client", "Error": "ClientId is Invalid"}',
     "invalid_client", "ClientId is Invalid"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "text", "code"), FAULTS)
@pytest.mark.parametrize("status", [401, 403])
def test_gateway_faults_are_authentication_errors(
    body: bytes, text: str, code: str, status: int
) -> None:
    hdrs = headers(
        Content_Type="application/json",
        WWW_Authenticate='Bearer realm="null",error="invalid_token"',
        X_Request_Id="abc-42",
    )
    err = error_for_response(
        ctx(status, "GET", "/masterdata/v1/provinces", request_id="abc-42"), hdrs, body
    )
    assert type(err) is AuthenticationError
    assert text in str(err)
    assert code in str(err)
    assert err.request_id == "abc-42"
    assert err.body == body.decode()
    assert_one_line_error(err, status, "GET", "/masterdata/v1/provinces")


# -- Master Wilayah envelope ---------------------------------------------------------


def test_master_data_envelope_from_the_seed() -> None:
    err = error_for_response(ctx(400, "GET", "/masterdata/v2/cities"), JSON, MASTER_DATA_LIMIT_001)
    assert type(err) is MasterDataError
    assert err.api_message == "limit cannot be more than 2000"
    assert "limit cannot be more than 2000" in str(err)
    assert_one_line_error(err, 400, "GET", "/masterdata/v2/cities")


def test_master_data_envelope_inside_2xx_raises() -> None:
    obj = orjson.loads(MASTER_DATA_LIMIT_001)
    with pytest.raises(MasterDataError) as info:
        raise_for_embedded_error(ctx(200), obj, MASTER_DATA_LIMIT_001)
    assert info.value.api_message == "limit cannot be more than 2000"


def test_master_data_success_envelope_does_not_raise() -> None:
    region = {"code": "11", "parent_code": "", "bps_code": "11", "name": "Aceh"}
    obj = {"status": 200, "error": False, "message": "success", "data": [region]}
    raise_for_embedded_error(ctx(200), obj, orjson.dumps(obj))
    with pytest.raises(MasterDataError):
        raise_for_embedded_error(ctx(200), {**obj, "error": True, "message": "boom"}, b"")


# -- non-JSON bodies --------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("text", ["Gateway Timeout", "no healthy upstream"])
def test_text_plain_5xx_is_server_error_with_body_kept(status: int, text: str) -> None:
    err = error_for_response(ctx(status, "GET", "/masterdata/v1/cities"), TEXT, text.encode())
    assert type(err) is ServerError
    assert err.body == text
    assert text in str(err)
    assert "try again later" in str(err)
    assert_one_line_error(err, status, "GET", "/masterdata/v1/cities")


def test_429_with_retry_after_seconds() -> None:
    hdrs = headers(Retry_After="7", Content_Type="text/plain")
    err = error_for_response(ctx(429), hdrs, b"Too Many Requests")
    assert type(err) is RateLimitError
    assert err.retry_after == 7.0
    assert "after 7 s" in str(err)
    assert_one_line_error(err, 429, "GET", "/masterdata/v1/provinces")


def test_429_with_retry_after_http_date_and_without() -> None:
    err = error_for_response(ctx(429), headers(Retry_After="Wed, 21 Oct 2099 07:28:00 GMT"), b"")
    assert isinstance(err, RateLimitError)
    assert err.retry_after is not None
    assert err.retry_after > 1e9
    bare = error_for_response(ctx(429), headers(), b"")
    assert isinstance(bare, RateLimitError)
    assert bare.retry_after is None
    assert "try again later" in str(bare)


@pytest.mark.parametrize(
    "hdrs", [headers(Content_Type="text/html; charset=utf-8"), headers()], ids=["ct", "sniffed"]
)
def test_html_403_page(hdrs: dict[str, str]) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head>\n<body>nope</body></html>"
    )
    err = error_for_response(ctx(403, "GET", "/fhir-r4/v1/Patient/1"), hdrs, page)
    assert type(err) is PermissionDeniedError
    assert "an HTML page instead of JSON" in str(err)
    assert "<html>" not in str(err)
    assert err.body.startswith("<!DOCTYPE html>")
    assert_one_line_error(err, 403, "GET", "/fhir-r4/v1/Patient/1")


def test_empty_404_is_not_found() -> None:
    err = error_for_response(ctx(404, "GET", "/fhir-r4/v1/Patient/nope"), headers(), b"")
    assert type(err) is NotFoundError
    assert "empty body" in str(err)
    assert err.body == ""
    assert_one_line_error(err, 404, "GET", "/fhir-r4/v1/Patient/nope")


def test_plain_401_without_fault_is_authentication_error() -> None:
    err = error_for_response(ctx(401), headers(), b"Unauthorized")
    assert type(err) is AuthenticationError


def test_unknown_4xx_text_is_plain_api_error() -> None:
    err = error_for_response(ctx(418), TEXT, b"I'm a teapot\r\nreally")
    assert type(err) is APIError
    assert "I'm a teapot really" in str(err)
    assert_one_line_error(err, 418, "GET", "/masterdata/v1/provinces")


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b"", b"Gateway Timeout", b'{"truncated": ', b"\xff\xfe"],
)
def test_non_json_2xx_is_api_error(body: bytes) -> None:
    with pytest.raises(APIError) as info:
        decode_json(ctx(200), TEXT, body)
    err = info.value
    assert type(err) is APIError
    assert "expected JSON" in str(err)
    assert_one_line_error(err, 200, "GET", "/masterdata/v1/provinces")


def test_decode_json_returns_the_object() -> None:
    assert decode_json(ctx(200), JSON, b'{"a": [1, "2"]}') == {"a": [1, "2"]}


def test_body_excerpt_is_bounded_and_error_is_one_line() -> None:
    body = ("x" * 300 + "\n" + "é" * 5000).encode()
    err = error_for_response(ctx(500, request_id=None), TEXT, body)
    assert len(err.body) == BODY_EXCERPT_CHARS + 1
    assert err.body.endswith("…")
    assert "\n" not in str(err)
    assert len(str(err)) < 400
    assert err.request_id is None
    assert "request id" not in str(err)


def test_shape_error_is_one_line_api_error() -> None:
    err = shape_error(ctx(200), b'{"data": 1}', "data is not a list")
    assert type(err) is APIError
    assert "data is not a list" in str(err)
    assert_one_line_error(err, 200, "GET", "/masterdata/v1/provinces")


def test_token_context_withholds_2xx_body_in_errors() -> None:
    body = b'{"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}]}'
    with pytest.raises(ValidationError) as info:
        raise_for_embedded_error(TOKEN_CTX, orjson.loads(body), body)
    assert info.value.body == "<withheld>"


def test_access_token_is_frozen() -> None:
    token = decode_token(TOKEN_CTX, JSON, TOKEN_OK_001, requested_at=0.0)
    assert isinstance(token, AccessToken)
    with pytest.raises(AttributeError):
        token.access_token = "other"  # type: ignore[misc]
