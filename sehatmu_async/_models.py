"""Region models: the Master Wilayah's administrative levels and one region."""

from __future__ import annotations

import enum
from typing import NamedTuple

import msgspec

__all__ = ["Region", "RegionLevel"]


class RegionLevel(str, enum.Enum):
    """The four levels, named as the API names them (``sub_districts`` are villages).

    Every fact about a level (its code length, its parent, the filter that selects it
    by parent, an example code) lives here and nowhere else.
    """

    PROVINCES = "provinces"
    CITIES = "cities"
    DISTRICTS = "districts"
    SUB_DISTRICTS = "sub_districts"

    def __str__(self) -> str:
        return self.value

    @property
    def code_length(self) -> int:
        """Digits of a Kemendagri code at this level: 2, 4, 6 or 10."""
        return _FACTS[self].code_length

    @property
    def example(self) -> str:
        """A real code of this level, for error messages."""
        return _FACTS[self].example

    @property
    def path(self) -> str:
        """The URL segment: ``sub-districts`` for villages."""
        return self.value.replace("_", "-")

    @property
    def parent(self) -> RegionLevel | None:
        index = _ORDER.index(self)
        return _ORDER[index - 1] if index else None

    @property
    def child(self) -> RegionLevel | None:
        index = _ORDER.index(self)
        return _ORDER[index + 1] if index + 1 < len(_ORDER) else None

    @property
    def parent_filter(self) -> str | None:
        """The query parameter that filters this level by parent code."""
        return _FACTS[self].parent_filter

    def is_above(self, other: RegionLevel) -> bool:
        """True when this level is an ancestor level of ``other``."""
        return _ORDER.index(self) < _ORDER.index(other)

    @classmethod
    def parse(cls, value: RegionLevel | str) -> RegionLevel:
        """Accept ``"sub_districts"``, ``"sub-districts"`` or ``"villages"``, any case."""
        if isinstance(value, RegionLevel):
            return value
        key = str(value).strip().lower().replace("-", "_")
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(level.value for level in cls)
            from .errors import ConfigurationError

            raise ConfigurationError(
                f"unknown region level {value!r}: use one of {names}"
            ) from None

    @classmethod
    def from_code(cls, code: str) -> RegionLevel:
        """The level whose codes have ``len(code)`` digits."""
        for level in _ORDER:
            if len(code) == level.code_length:
                return level
        from .errors import ConfigurationError

        lengths = ", ".join(str(level.code_length) for level in _ORDER[:-1])
        raise ConfigurationError(
            f"{code!r} is not a {lengths} or {_ORDER[-1].code_length} digit region code"
        )


class _Facts(NamedTuple):
    code_length: int
    parent_filter: str | None
    example: str


_ORDER = tuple(RegionLevel)
_FACTS = {
    RegionLevel.PROVINCES: _Facts(2, None, "11"),
    RegionLevel.CITIES: _Facts(4, "province_codes", "1101"),
    RegionLevel.DISTRICTS: _Facts(6, "city_codes", "110101"),
    RegionLevel.SUB_DISTRICTS: _Facts(10, "district_codes", "1101012001"),
}
_ALIASES = {
    "province": "provinces",
    "city": "cities",
    "regencies": "cities",
    "district": "districts",
    "sub_district": "sub_districts",
    "subdistricts": "sub_districts",
    "villages": "sub_districts",
    "village": "sub_districts",
}


class Region(msgspec.Struct, frozen=True, gc=False):
    """One administrative region: a frozen value, equal and hashed by its fields.

    ``parent_code`` is None for provinces and ``bps_code`` (the statistics
    bureau's code) is None where the server sends ``""``. A ``msgspec.Struct``
    (not tracked by the garbage collector: its fields are strings and a level):
    build a changed copy with ``msgspec.structs.replace(region, name=...)``.
    """

    code: str
    parent_code: str | None
    bps_code: str | None
    name: str
    level: RegionLevel
