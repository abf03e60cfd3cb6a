"""Dates and date-times as the platform takes them.

The platform refuses any date-time that is not UTC written exactly as
``YYYY-MM-DDThh:mm:ss+00:00`` (rule 10132), so local clock times (WIB, WITA,
WIT) must be converted before they leave. A naive ``datetime`` has no zone to
convert from; guessing one would shift a patient's data by hours, so it is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from .errors import ConfigurationError

__all__ = [
    "WIB",
    "WIT",
    "WITA",
    "fhir_date",
    "fhir_datetime",
    "is_fhir_date",
    "is_fhir_datetime",
    "parse_fhir_date",
    "parse_fhir_datetime",
]

#: Waktu Indonesia Barat (UTC+7): Java, Sumatra, West and Central Kalimantan.
WIB = timezone(timedelta(hours=7), "WIB")
#: Waktu Indonesia Tengah (UTC+8): Bali, Nusa Tenggara, Sulawesi, East Kalimantan.
WITA = timezone(timedelta(hours=8), "WITA")
#: Waktu Indonesia Timur (UTC+9): Maluku and Papua.
WIT = timezone(timedelta(hours=9), "WIT")

DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DDThh:mm:ss+00:00"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00")
# What we accept on read: any full date-time with a zone, fractions allowed (FHIR ``instant``).
_READABLE_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def fhir_datetime(value: datetime) -> str:
    """``value`` in UTC as ``YYYY-MM-DDThh:mm:ss+00:00`` (fractions of a second dropped).

    17:35 WIB on 23 Aug 2023 is ``2023-08-23T10:35:00+00:00``.
    """
    if not isinstance(value, datetime):
        raise ConfigurationError(
            f"expected a datetime, got {type(value).__name__}; use fhir_date() for dates"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(
            "naive datetime refused: the platform needs UTC and a naive time has no zone to "
            "convert from; attach one, e.g. datetime(..., tzinfo=sehatmu_async.WIB)"
        )
    utc = value.astimezone(timezone.utc)
    # f-string instead of strftime: %Y does not zero-pad years below 1000 on every platform.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}+00:00"
    )


def fhir_date(value: date) -> str:
    """``value`` as ``YYYY-MM-DD``. A ``datetime`` is refused: which day it is depends on a zone."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ConfigurationError(
            f"expected a date, got {type(value).__name__}; for a datetime pass "
            "value.astimezone(zone).date() so the day is chosen deliberately"
        )
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def is_fhir_date(value: object) -> bool:
    """True for a real calendar day written ``YYYY-MM-DD``."""
    return parse_fhir_date(value) is not None


def is_fhir_datetime(value: object) -> bool:
    """True for exactly ``YYYY-MM-DDThh:mm:ss+00:00`` naming a real instant."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_fhir_date(value: object) -> date | None:
    """The ``date`` of a ``YYYY-MM-DD`` string, or None (partial FHIR dates included)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_fhir_datetime(value: object) -> datetime | None:
    """An aware ``datetime`` from a full date-time with a zone (``Z`` or offset), else None.

    Partial FHIR date-times (``2020``, ``2020-05``, a date alone) return None: they name no
    instant, and the caller keeps such values verbatim instead.
    """
    if not isinstance(value, str) or not _READABLE_DATETIME.fullmatch(value):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    # Python 3.10's fromisoformat takes 3 or 6 fraction digits only: normalise to 6.
    main, dot, rest = text.partition(".")
    if dot:
        digits = rest[:-6]
        text = f"{main}.{(digits + '000000')[:6]}{rest[-6:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
