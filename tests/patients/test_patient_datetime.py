"""Date-times go out as UTC ``YYYY-MM-DDThh:mm:ss+00:00`` and come back as aware datetimes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sehatmu_async import WIB, WIT, WITA, ConfigurationError, fhir_date, fhir_datetime
from sehatmu_async._datetime import is_fhir_datetime, parse_fhir_date, parse_fhir_datetime

offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-14), max_value=timedelta(hours=14))
)
aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


def test_the_documents_example_17_35_wib() -> None:
    assert fhir_datetime(datetime(2023, 8, 23, 17, 35, tzinfo=WIB)) == "2023-08-23T10:35:00+00:00"


def test_indonesian_zones() -> None:
    local = datetime(2023, 8, 23, 17, 35)
    assert fhir_datetime(local.replace(tzinfo=WITA)) == "2023-08-23T09:35:00+00:00"
    assert fhir_datetime(local.replace(tzinfo=WIT)) == "2023-08-23T08:35:00+00:00"
    assert (WIB.tzname(None), WITA.tzname(None), WIT.tzname(None)) == ("WIB", "WITA", "WIT")


def test_crossing_midnight_moves_the_date() -> None:
    assert fhir_datetime(datetime(2024, 1, 1, 3, 0, tzinfo=WIB)) == "2023-12-31T20:00:00+00:00"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="naive"):
        fhir_datetime(datetime(2023, 8, 23, 17, 35))


def test_dates() -> None:
    assert fhir_date(date(1990, 5, 2)) == "1990-05-02"
    with pytest.raises(ConfigurationError, match="date"):
        fhir_date(datetime(1990, 5, 2, tzinfo=WIB))
    assert parse_fhir_date("1990-05-02") == date(1990, 5, 2)
    assert parse_fhir_date("1990-05") is None
    assert parse_fhir_date("1990-02-30") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-08-23T10:35:00+00:00", datetime(2023, 8, 23, 10, 35, tzinfo=timezone.utc)),
        ("2023-08-23T10:35:00Z", datetime(2023, 8, 23, 10, 35, tzinfo=timezone.utc)),
        ("2023-08-23T17:35:00+07:00", datetime(2023, 8, 23, 17, 35, tzinfo=WIB)),
        (
            "2023-08-23T10:35:00.1234567Z",
            datetime(2023, 8, 23, 10, 35, 0, 123456, tzinfo=timezone.utc),
        ),
        ("2023-08-23", None),
        ("2023-08-23T10:35:00", None),  # no zone: no instant
        ("2023-13-23T10:35:00+00:00", None),
    ],
)
def test_parse_back(text: str, expected: datetime | None) -> None:
    assert parse_fhir_datetime(text) == expected


@given(aware)
def test_property_any_aware_datetime_is_written_in_the_platform_format(value: datetime) -> None:
    text = fhir_datetime(value)
    assert is_fhir_datetime(text)
    # The same instant, to the second (fractions are dropped after converting to UTC).
    assert parse_fhir_datetime(text) == value.astimezone(timezone.utc).replace(microsecond=0)


@given(aware.filter(lambda d: d.utcoffset() != timedelta(0)))
def test_property_isoformat_with_a_local_offset_is_not_the_platform_format(
    value: datetime,
) -> None:
    assert not is_fhir_datetime(value.replace(microsecond=0).isoformat())
