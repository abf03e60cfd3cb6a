"""Property tests: no input makes the pure decoders raise anything but a SehatMuError."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import attrs
import orjson
import pytest
from _foundation_helpers import ctx, headers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sehatmu_async import RetryPolicy
from sehatmu_async._decoders import (
    BODY_EXCERPT_CHARS,
    decode_json,
    error_for_response,
    raise_for_embedded_error,
)
from sehatmu_async._outcome import OperationOutcome, parse_operation_outcome
from sehatmu_async._retry import parse_retry_after
from sehatmu_async._token import AccessToken, decode_token
from sehatmu_async.errors import APIError, ConfigurationError, SehatMuError

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ----------------------------------------------------------------------

int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
maybe = lambda s: s | json_values  # noqa: E731  (a field of the right type, or anything)

issues = st.fixed_dictionaries(
    {},
    optional={
        "severity": maybe(st.sampled_from(["error", "fatal", "invalid", "warning", "information"])),
        "code": maybe(st.sampled_from(["value", "format", "duplicate", "suppressed"])),
        "details": maybe(st.fixed_dictionaries({}, optional={"text": maybe(st.text())})),
        "diagnostics": maybe(st.text()),
        "expression": maybe(st.lists(maybe(st.text(max_size=20)), max_size=3)),
        "location": maybe(st.lists(st.text(max_size=20), max_size=3)),
    },
)
outcomes = st.fixed_dictionaries(
    {"resourceType": st.just("OperationOutcome")},
    optional={"issue": maybe(st.lists(maybe(issues), max_size=5)), "text": json_values},
)
platform_shapes = st.one_of(
    outcomes,
    st.fixed_dictionaries(
        {"fault": maybe(st.fixed_dictionaries(
            {}, optional={"faultstring": maybe(st.text()),
                          "detail": maybe(st.fixed_dictionaries({}, optional={
                              "errorcode": maybe(st.text())}))}))}
    ),
    st.fixed_dictionaries({}, optional={"ErrorCode": json_values, "Error": json_values}),
    st.fixed_dictionaries(
        {"status_code": maybe(st.integers(0, 999)), "message": json_values},
        optional={"data": json_values},
    ),
    st.fixed_dictionaries(
        {}, optional={"status": json_values, "error": maybe(st.booleans()),
                      "message": json_values, "data": json_values}
    ),
    st.fixed_dictionaries(
        {}, optional={"access_token": maybe(st.text(min_size=1)),
                      "token_type": maybe(st.sampled_from(["Bearer", "BearerToken", "mac"])),
                      "expires_in": maybe(st.one_of(int64, st.floats(), st.text())),
                      "issued_at": maybe(st.one_of(int64, st.text())),
                      "scope": json_values}
    ),
    json_values,
)  # fmt: skip


def encode(obj: Any) -> bytes:
    return orjson.dumps(obj)


bodies = st.one_of(
    st.binary(max_size=2000),
    platform_shapes.map(encode),
    st.text(max_size=300).map(str.encode),
    st.sampled_from([b"Gateway Timeout", b"no healthy upstream", b"<html>x</html>", b""]),
)
header_sets = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(["application/json", "text/plain", "text/html", "x/y"]),
        "Retry-After": st.one_of(
            st.text(max_size=40), st.integers(-10, 10**12).map(str), st.just("nan")
        ),
        "X-Request-Id": st.text(alphabet="abcdef0123456789-", max_size=36),
    },
)
statuses = st.integers(min_value=100, max_value=599)


def check_api_error(err: APIError, status: int) -> None:
    assert isinstance(err, APIError)
    assert err.status == status
    text = str(err)
    assert "\n" not in text
    assert "\r" not in text
    assert " — " in text
    assert len(err.body) <= BODY_EXCERPT_CHARS + 1
    repr(err)


# -- error_for_response ----------------------------------------------------------------


@FAST
@given(body=bodies, status=statuses, hdrs=header_sets, token_endpoint=st.booleans())
@example(body=b'{"resourceType":"OperationOutcome","issue":[{}]}', status=400, hdrs={},
         token_endpoint=False)  # fmt: skip
@example(body=b'{"status_code": 400, "message": {"a": 1}}', status=400, hdrs={},
         token_endpoint=False)  # fmt: skip
@example(body=b"[" * 5000, status=500, hdrs={}, token_endpoint=False)
def test_error_for_response_always_returns_an_api_error(
    body: bytes, status: int, hdrs: dict[str, str], token_endpoint: bool
) -> None:
    err = error_for_response(
        ctx(status, request_id=hdrs.get("X-Request-Id")),
        headers(**{k.replace("-", "_"): v for k, v in hdrs.items()}),
        body,
        token_endpoint=token_endpoint,
    )
    check_api_error(err, status)
    if status == 429:
        assert err.__class__.__name__ == "RateLimitError"
        retry_after = err.retry_after  # type: ignore[attr-defined]
        assert retry_after is None or (math.isfinite(retry_after) and retry_after >= 0)
    elif status >= 500:
        assert err.__class__.__name__ == "ServerError"


# -- 2xx decoding -----------------------------------------------------------------------


@FAST
@given(body=bodies, status=st.integers(200, 299))
def test_decode_json_and_embedded_errors_return_or_raise_sehatmu_errors(
    body: bytes, status: int
) -> None:
    try:
        obj = decode_json(ctx(status), headers(), body)
        raise_for_embedded_error(ctx(status), obj, body)
    except APIError as err:
        check_api_error(err, status)
    except SehatMuError:  # pragma: no cover - any SehatMuError is acceptable
        pass


@FAST
@given(body=bodies, requested_at=st.floats(-1e9, 1e9))
@example(body=b'{"access_token": "t", "expires_in": "1e300"}', requested_at=0.0)
@example(body=b'{"access_token": "t", "expires_in": 1e20, "issued_at": 1e30}', requested_at=0.0)
@example(body=b'{"access_token": "t", "expires_in": "inf"}', requested_at=0.0)
def test_decode_token_returns_a_token_or_raises_a_sehatmu_error(
    body: bytes, requested_at: float
) -> None:
    token_ctx = ctx(200, "POST", "/oauth2/v1/accesstoken", withhold_body=True)
    outcome: AccessToken | APIError
    try:
        outcome = decode_token(token_ctx, headers(), body, requested_at=requested_at)
    except APIError as err:
        outcome = err
    if isinstance(outcome, APIError):
        check_api_error(outcome, 200)
        assert outcome.body == "<withheld>"
    else:
        assert isinstance(outcome, AccessToken)
        assert outcome.expires_in > 0
        assert math.isfinite(outcome.expires_in)
        assert outcome.expires_at == requested_at + outcome.expires_in
        assert outcome.access_token.strip()
        assert "access_token='<hidden>'" in repr(outcome)
        assert repr(attrs.evolve(outcome, access_token="other")) == repr(outcome)


# -- parse_operation_outcome ------------------------------------------------------------


@FAST
@given(obj=json_values | platform_shapes)
def test_parse_operation_outcome_never_raises(obj: Any) -> None:
    outcome = parse_operation_outcome(obj)
    is_outcome = isinstance(obj, dict) and obj.get("resourceType") == "OperationOutcome"
    assert (outcome is not None) == is_outcome
    if outcome is not None:
        for issue in outcome.issues:
            assert isinstance(issue.severity, str)
            assert isinstance(issue.code, str)
            assert all(isinstance(e, str) for e in issue.expression)
            assert isinstance(issue.describe(), str)


@FAST
@given(obj=outcomes)
def test_parse_operation_outcome_keeps_every_mapping_issue_in_order(obj: dict[str, Any]) -> None:
    outcome = parse_operation_outcome(obj)
    assert isinstance(outcome, OperationOutcome)
    raw = obj.get("issue")
    expected = [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
    assert len(outcome.issues) == len(expected)
    for parsed, source in zip(outcome.issues, expected, strict=False):
        severity = source.get("severity")
        assert parsed.severity == (severity if isinstance(severity, str) else "error")
        code = source.get("code")
        assert parsed.code == (code if isinstance(code, str) else "unknown")
    assert outcome.is_failure == any(i.is_failure for i in outcome.issues)


no_rule = st.text(max_size=60).filter(lambda t: "RuleNumber" not in t.replace(" ", "") and
                                      "rulenumber" not in t.lower())  # fmt: skip


@FAST
@given(
    prefix=no_rule,
    suffix=no_rule,
    rule=st.integers(0, 10**9),
    spaces=st.sampled_from(["", " ", "  "]),
    in_diagnostics=st.booleans(),
)
def test_rule_number_is_lifted_from_text_or_diagnostics(
    prefix: str, suffix: str, rule: int, spaces: str, in_diagnostics: bool
) -> None:
    text = f"{prefix}(RuleNumber:{spaces}{rule}){suffix}"
    issue: dict[str, Any] = {"severity": "error", "code": "value"}
    if in_diagnostics:
        issue["diagnostics"] = text
    else:
        issue["details"] = {"text": text}
    outcome = parse_operation_outcome({"resourceType": "OperationOutcome", "issue": [issue]})
    assert outcome is not None
    assert outcome.issues[0].rule_number == rule
    assert outcome.rule_numbers == (rule,)


@FAST
@given(text=no_rule)
def test_no_rule_number_without_the_marker(text: str) -> None:
    outcome = parse_operation_outcome(
        {"resourceType": "OperationOutcome",
         "issue": [{"severity": "error", "code": "value", "details": {"text": text}}]}
    )  # fmt: skip
    assert outcome is not None
    assert outcome.issues[0].rule_number is None


# -- parse_retry_after -----------------------------------------------------------------


@FAST
@given(seconds=st.integers(0, 10**9), pad=st.sampled_from(["", " ", "\t"]))
def test_retry_after_delta_seconds(seconds: int, pad: str) -> None:
    assert parse_retry_after(f"{pad}{seconds}{pad}") == float(seconds)


@FAST
@given(
    when=st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(timezone.utc),
    ),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(timezone.utc),
    ),
)
def test_retry_after_http_date(when: datetime, now: datetime) -> None:
    value = format_datetime(when, usegmt=True)  # HTTP-date has whole seconds
    expected = max(0.0, (when.replace(microsecond=0) - now).total_seconds())
    assert parse_retry_after(value, now=now) == pytest.approx(expected)


def test_retry_after_http_date_examples() -> None:
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Sat, 21 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sat, 21 Nov 2026 11:00:00 GMT", now=now) == 0.0  # past: now
    assert parse_retry_after("Sat, 21 Nov 2026 12:00:30 -0000", now=now) == 30.0  # naive
    later = now + timedelta(seconds=5)
    assert parse_retry_after(format_datetime(later, usegmt=True), now=now) == 5.0


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "nan", "NaN", "inf", "-inf", "1e999", "Thu, 99 Foo 2026",
     "Mon, 01 Jan 10000 00:00:00 GMT", "\x00", "12 seconds"],
)  # fmt: skip
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


@FAST
@given(value=st.text(max_size=60) | st.integers().map(str) | st.floats().map(str))
def test_retry_after_is_never_negative_and_never_raises(value: str) -> None:
    result = parse_retry_after(value)
    assert result is None or (math.isfinite(result) and result >= 0)


@pytest.mark.parametrize("value", ["-5", "1_000", "inf", "1e3", "+3"])
def test_delta_seconds_outside_rfc_9110_is_unreadable(value: str) -> None:
    # Not digits: the SDK falls back to its own backoff instead of guessing.
    assert parse_retry_after(value) is None


# -- RetryPolicy -------------------------------------------------------------------------


def test_retry_policy_defaults_match_the_spec() -> None:
    policy = RetryPolicy()
    assert (policy.attempts, policy.backoff_base, policy.backoff_cap, policy.total_timeout) == (
        3, 0.5, 8.0, 30.0
    )  # fmt: skip
    assert [s for s in range(100, 600) if policy.retryable_status(s)] == [429, 502, 503, 504]


@FAST
@given(retry=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(retry: int, seed: int) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    wait = policy.backoff(retry, random.Random(seed))
    assert 0.0 <= wait <= min(8.0, 0.5 * 2 ** (retry - 1))


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"attempts": 21}, {"attempts": True}, {"attempts": 2.5},
     {"backoff_base": -1}, {"backoff_cap": float("nan")}, {"total_timeout": float("inf")},
     {"retry_after_cap": "3"}],
)  # fmt: skip
def test_retry_policy_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)
