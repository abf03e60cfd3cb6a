"""Region models: the Master Wilayah's administrative levels and one region."""

from __future__ import annotations

import enum

import attrs

__all__ = ["Region", "RegionLevel"]


class RegionLevel(str, enum.Enum):
    """The four levels, named as the API names them (``sub_districts`` are villages)."""

    PROVINCES = "provinces"
    CITIES = "cities"
    DISTRICTS = "districts"
    SUB_DISTRICTS = "sub_districts"

    def __str__(self) -> str:
        return self.value

    @property
    def code_length(self) -> int:
        """Digits of a Kemendagri code at this level: 2, 4, 6 or 10."""
        return _CODE_LENGTH[self]

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
        return _PARENT_FILTER[self]

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
        for level, length in _CODE_LENGTH.items():
            if len(code) == length:
                return level
        from .errors import ConfigurationError

        raise ConfigurationError(f"{code!r} is not a 2, 4, 6 or 10 digit region code")


_ORDER = tuple(RegionLevel)
_CODE_LENGTH = {
    RegionLevel.PROVINCES: 2,
    RegionLevel.CITIES: 4,
    RegionLevel.DISTRICTS: 6,
    RegionLevel.SUB_DISTRICTS: 10,
}
_PARENT_FILTER = {
    RegionLevel.PROVINCES: None,
    RegionLevel.CITIES: "province_codes",
    RegionLevel.DISTRICTS: "city_codes",
    RegionLevel.SUB_DISTRICTS: "district_codes",
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


@attrs.frozen(slots=True)
class Region:
    """One administrative region.

    ``parent_code`` is None for provinces and ``bps_code`` (the statistics
    bureau's code) is None where the server sends ``""``.
    """

    code: str
    parent_code: str | None
    bps_code: str | None
    name: str
    level: RegionLevel
