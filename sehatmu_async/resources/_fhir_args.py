"""Arguments and answers of ``client.fhir``, checked before anything is sent: ``model=``
classes, RFC 6902 patch documents, search parameters; and how reconcile tells a stored
resource from its siblings (twins under one mother's NIK)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._patch import PatchOperation, operation_list
from .._paths import shown
from .._payload import wire_value
from ..errors import APIError, ConfigurationError

if TYPE_CHECKING:
    from .._base_client import Response

__all__ = [
    "as_model",
    "json_patch_document",
    "matches_payload",
    "model_converter",
    "search_param",
]

_OPS_NEEDING_VALUE = frozenset({"add", "replace", "test"})
_OPS_NEEDING_FROM = frozenset({"move", "copy"})
_OPS = _OPS_NEEDING_VALUE | _OPS_NEEDING_FROM | {"remove"}
# Elements compared when several stored resources share the identifier searched by
# (twins registered by their mother's NIK): the payload's values must all match.
_DISTINGUISHING = ("birthDate", "gender", "multipleBirthInteger", "multipleBirthBoolean", "name")


def model_converter(model: Any) -> Callable[[dict[str, Any]], Any]:
    """The function turning an answer into ``model`` (checked before anything is sent)."""
    if model is None:
        return lambda resource: resource
    for name in ("model_validate", "from_wire"):
        method = getattr(model, name, None)
        if callable(method):
            return method  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"model={shown(model) if isinstance(model, str) else getattr(model, '__name__', model)!s}"
        " has neither model_validate (pydantic) nor from_wire (sehatmu_async models)"
    )


def as_model(
    convert: Callable[[dict[str, Any]], Any], resource: dict[str, Any], response: Response
) -> Any:
    """``resource`` through ``model=``; a failure names the stored id (it is stored)."""
    try:
        return convert(resource)
    except Exception as exc:  # pydantic's ValidationError, or whatever from_wire raises
        ctx = response.ctx
        raise APIError(
            f"{ctx.method} {ctx.path}: the answer ({resource.get('resourceType')} "
            f"{resource.get('id')}) does not fit the model: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}",
            status=ctx.status,
            method=ctx.method,
            url=ctx.url,
            request_id=ctx.request_id,
        ) from exc


def _json_pointer(path: object, what: str) -> str:
    if not isinstance(path, str) or not (path == "" or path.startswith("/")):
        raise ConfigurationError(f"{what} must be a JSON Pointer such as '/status', got {path!r}")
    if "~" in path.replace("~0", "").replace("~1", ""):
        raise ConfigurationError(f"{what} {path!r} has a '~' that is not '~0' or '~1'")
    return path


def json_patch_document(operations: object) -> list[dict[str, Any]]:
    """An RFC 6902 document from dicts or :class:`PatchOperation` objects, checked."""
    listed = operation_list(
        operations,
        "operations must be a list of JSON Patch operations, e.g. "
        "[{'op': 'replace', 'path': '/status', 'value': 'finished'}]",
    )
    document: list[dict[str, Any]] = []
    for index, operation in enumerate(listed):
        raw = operation.to_wire() if isinstance(operation, PatchOperation) else operation
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"operation {index} is a {type(raw).__name__}, not a dict")
        op = raw.get("op")
        if op not in _OPS:
            raise ConfigurationError(f"operation {index}: op {op!r} is not an RFC 6902 operation")
        out: dict[str, Any] = {"op": op, "path": _json_pointer(raw.get("path"), "path")}
        if op in _OPS_NEEDING_VALUE:
            if "value" not in raw:
                raise ConfigurationError(f"operation {index}: {op} needs a value")
            out["value"] = wire_value(raw["value"], what=f"operation {index}'s value")
        if op in _OPS_NEEDING_FROM:
            out["from"] = _json_pointer(raw.get("from"), f"operation {index}'s from")
        unknown = set(raw) - {"op", "path", "value", "from"}
        if unknown:
            raise ConfigurationError(f"operation {index}: unknown members {sorted(unknown)}")
        document.append(out)
    return document


def _name_texts(resource: Mapping[str, Any]) -> set[str]:
    names = resource.get("name")
    if isinstance(names, str):
        return {names}
    return (
        {n["text"] for n in names if isinstance(n, Mapping) and isinstance(n.get("text"), str)}
        if isinstance(names, list)
        else set()
    )


def matches_payload(candidate: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """Whether a stored resource is the payload: equal distinguishing elements, and one of
    the payload's name texts (the server may add to names, so not the whole list)."""
    for key in _DISTINGUISHING:
        if key == "name":
            wanted = _name_texts(payload)
            if wanted and not wanted & _name_texts(candidate):
                return False
        elif key in payload and candidate.get(key) != payload[key]:
            return False
    return True


def search_param(name: object, value: object) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"search parameter names are text, got {shown(name)}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value == "":
            raise ConfigurationError(f"search parameter {name!r} is empty")
        return value
    if isinstance(value, (list, tuple)) and value:
        return ",".join(search_param(name, v) for v in value)
    raise ConfigurationError(
        f"search parameter {name!r} must be text, an integer, a boolean or a list of them, "
        f"got {type(value).__name__}"
    )
