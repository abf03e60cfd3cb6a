"""Patient PATCH documents: ``replace`` operations with checked JSON Pointers (RFC 6901).

The platform offers only ``replace``; anything else (``add``, ``remove``, …) is
refused here, before sending, so a batch never half-applies on the server. Values
are turned into their wire form by :mod:`._payload`, as every payload is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, overload

import attrs

from ._payload import wire_value
from .errors import ConfigurationError

__all__ = [
    "PATCH_CONTENT_TYPES",
    "PatchOperation",
    "check_json_pointer",
    "json_pointer",
    "operation_list",
    "patch_document",
    "unescape_token",
]

#: The document's type first (the default); the other is seen on the live platform.
PATCH_CONTENT_TYPES: Final = ("application/json", "application/json-patch+json")
_OPS: Final = frozenset({"replace"})
_OP_KEYS: Final = frozenset({"op", "path", "value"})
# "~" must start "~0" or "~1"; anything else is not an escape RFC 6901 defines.
_BAD_TILDE = re.compile(r"~(?![01])")


def json_pointer(*parts: str | int) -> str:
    """A JSON Pointer from element names and list indexes: ``("name", 0, "family")``
    gives ``/name/0/family``; ``~`` and ``/`` inside names become ``~0`` and ``~1``."""
    if not parts:
        raise ConfigurationError("a patch path needs at least one element name")
    tokens: list[str] = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (str, int)):
            raise ConfigurationError(
                f"path parts are element names (str) or list indexes (int), "
                f"got {type(part).__name__}"
            )
        if isinstance(part, int):
            if part < 0:
                raise ConfigurationError(f"a list index cannot be negative, got {part}")
            tokens.append(str(part))
            continue
        if part == "":
            raise ConfigurationError("a path part cannot be empty: no FHIR element has no name")
        # Order matters: escaping "/" first would turn its "~1" into "~01".
        tokens.append(part.replace("~", "~0").replace("/", "~1"))
    return check_json_pointer("/" + "/".join(tokens))


def unescape_token(token: str) -> str:
    """One reference token back to its name: ``~1`` → ``/``, then ``~0`` → ``~``."""
    return token.replace("~1", "/").replace("~0", "~")


def check_json_pointer(path: object) -> str:
    """Return ``path`` if it is a JSON Pointer to an element, else raise ConfigurationError.

    Beyond RFC 6901: the whole-document pointer ``""`` and empty reference tokens
    (``/name//family``) are refused, since a ``replace`` of a Patient element never
    means either; so is the array-end token ``-``, which only ``add`` can use.
    """
    if not isinstance(path, str):
        raise ConfigurationError(f"a patch path is a string, got {type(path).__name__}")
    if not path.startswith("/"):
        hint = f" (did you mean '/{path}'?)" if path else ""
        raise ConfigurationError(f"patch path {path!r} must start with '/', e.g. '/language'{hint}")
    tokens = path[1:].split("/")
    if any(token == "" for token in tokens):
        raise ConfigurationError(
            f"patch path {path!r} has an empty segment; build it with "
            "PatchOperation.path('name', 0, 'family')"
        )
    if _BAD_TILDE.search(path):
        raise ConfigurationError(
            f"patch path {path!r} has a '~' that is not '~0' or '~1'; "
            "write '~' as '~0' and '/' inside a name as '~1'"
        )
    if tokens[-1] == "-":
        raise ConfigurationError(
            f"patch path {path!r} ends in '-' (past the end of a list): replace needs an "
            "existing element"
        )
    return path


class _PathAttribute:
    """``PatchOperation.path(...)`` builds a pointer; ``operation.path`` is its pointer.

    A descriptor, because the documented spelling uses one name for both.
    """

    @overload
    def __get__(self, instance: None, owner: type) -> Callable[..., str]: ...
    @overload
    def __get__(self, instance: PatchOperation, owner: type) -> str: ...
    def __get__(self, instance: PatchOperation | None, owner: type) -> Callable[..., str] | str:
        if instance is None:
            return json_pointer
        return instance._path


@attrs.frozen(slots=True, repr=False)
class PatchOperation:
    """One JSON Patch operation. Build it with :meth:`replace`, the one the platform offers."""

    op: str
    _path: str
    value: Any

    path: ClassVar[_PathAttribute] = _PathAttribute()

    @classmethod
    def replace(cls, path: str | Sequence[str | int], value: Any) -> PatchOperation:
        """``replace`` the element at ``path`` (a pointer, or parts for :meth:`path`)."""
        pointer = check_json_pointer(path) if isinstance(path, str) else json_pointer(*path)
        return cls("replace", pointer, wire_value(value))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PatchOperation:
        """Check a plain ``{"op", "path", "value"}`` operation and return it as an object."""
        op = raw.get("op")
        if op not in _OPS:
            raise ConfigurationError(
                f"patch op {op!r} is not offered by the platform: only 'replace' is"
            )
        unknown = set(raw) - _OP_KEYS
        if unknown:
            raise ConfigurationError(
                f"a replace operation has only op, path and value; got also {sorted(unknown)}"
            )
        if "value" not in raw:
            raise ConfigurationError("a replace operation needs a value")
        return cls.replace(check_json_pointer(raw.get("path")), raw["value"])

    def to_wire(self) -> dict[str, Any]:
        return {"op": self.op, "path": self._path, "value": self.value}

    def __repr__(self) -> str:
        # The value is left out: it may be a name, a NIK or a birth date.
        return f"PatchOperation(op={self.op!r}, path={self._path!r})"


def operation_list(operations: object, usage: str) -> Sequence[object]:
    """``operations`` as a non-empty list; a lone operation, dict or string is refused
    with ``usage`` (they are sequences or mappings, but not a patch document)."""
    if isinstance(operations, (PatchOperation, Mapping, str, bytes)) or not isinstance(
        operations, Sequence
    ):
        raise ConfigurationError(usage)
    if not operations:
        raise ConfigurationError("a patch needs at least one operation")
    return operations


def patch_document(operations: object) -> list[dict[str, Any]]:
    """Check every operation (objects or plain dicts) and return the JSON Patch array."""
    listed = operation_list(
        operations,
        "operations must be a list of PatchOperation (or plain dicts), e.g. "
        "[PatchOperation.replace('/language', 'id')]",
    )
    document: list[dict[str, Any]] = []
    for index, operation in enumerate(listed):
        if isinstance(operation, PatchOperation):
            if operation.op not in _OPS:
                raise ConfigurationError(
                    f"operation {index}: op {operation.op!r} is not offered; only 'replace' is"
                )
            check_json_pointer(operation.path)
            # Built directly rather than by replace(): its value may not be in wire form yet.
            document.append({**operation.to_wire(), "value": wire_value(operation.value)})
        elif isinstance(operation, Mapping):
            try:
                document.append(PatchOperation.from_dict(operation).to_wire())
            except ConfigurationError as exc:
                raise ConfigurationError(f"operation {index}: {exc.message}") from None
        else:
            raise ConfigurationError(
                f"operation {index} is a {type(operation).__name__}, not a PatchOperation or dict"
            )
    return document
