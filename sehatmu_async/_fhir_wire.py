"""FHIR resource answers and searchset Bundles: pure decoding, no I/O.

* :func:`decode_resource`: a read/create/update/patch answer must be the resource
  asked for (its type, with an id, the same id when one was asked for);
* :func:`decode_searchset`: one search page: ``total``, the matching resources
  (``search.mode`` match, or none given, of the searched type) and the ``next`` link;
* :func:`next_request`: a ``next`` link turned into a path and query on the client's
  base URL, or :class:`PaginationError` when it points anywhere else (another
  scheme, host or port, outside the FHIR base, with credentials in it) — the bearer
  token only ever goes to the base URL;
* :func:`identifiers_of`: the ``(system, value)`` pairs a resource can be found by;
* :func:`resource_wire`: any accepted payload (dict, SDK model, pydantic model) as the
  JSON to send, with its checked resource type (creates, updates, transaction entries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson
from yarl import URL

from ._checks import is_int
from ._decoders import ResponseContext, shape_error
from ._fhir_rules import utc_datetimes
from ._paths import FHIR_BASE, check_resource_type
from ._payload import to_wire
from .errors import PaginationError

__all__ = [
    "SearchPage",
    "decode_resource",
    "decode_searchset",
    "identifiers_of",
    "next_link",
    "next_request",
    "resource_wire",
]

_MATCH_MODES = frozenset({"match"})


@attrs.frozen(slots=True)
class SearchPage:
    """One page of a search: ``total`` (None when the server left it out), the matching
    ``resources`` in the server's order, and the ``next_url`` (None on the last page)."""

    total: int | None
    resources: tuple[Any, ...]
    next_url: str | None


def _raw(body: bytes | None, obj: object) -> bytes:
    if body is not None:
        return body
    try:
        return orjson.dumps(obj)
    except TypeError:
        return b""


def decode_resource(
    ctx: ResponseContext,
    obj: object,
    *,
    resource_type: str,
    resource_id: str | None = None,
    body: bytes | None = None,
) -> dict[str, Any]:
    """The ``resource_type`` resource in ``obj`` (with an id, ``resource_id`` if given)."""
    if not isinstance(obj, Mapping):
        raise shape_error(ctx, _raw(body, obj), f"expected a {resource_type}, got no JSON object")
    kind = obj.get("resourceType")
    if kind != resource_type:
        what = f"a {kind}" if isinstance(kind, str) else "no FHIR resource"
        raise shape_error(ctx, _raw(body, obj), f"expected a {resource_type}, got {what}")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        raise shape_error(ctx, _raw(body, obj), f"the {resource_type} has no id")
    if resource_id is not None and rid != resource_id:
        raise shape_error(
            ctx, _raw(body, obj), f"asked for {resource_type} {resource_id}, got {rid}"
        )
    return dict(obj)


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The URL of the bundle's ``link[relation=next]``, or None (also when it is empty)."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, Mapping) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url.strip() else None
    return None


def decode_searchset(
    ctx: ResponseContext, obj: object, *, resource_type: str, body: bytes | None = None
) -> SearchPage:
    """One search answer as a :class:`SearchPage`; any other shape is an APIError."""
    if not isinstance(obj, Mapping) or obj.get("resourceType") != "Bundle":
        raise shape_error(ctx, _raw(body, obj), "a search answer that is not a Bundle")
    kind = obj.get("type")
    if kind is not None and kind != "searchset":
        raise shape_error(ctx, _raw(body, obj), f"a Bundle of type {kind!r}, not a searchset")
    total = obj.get("total")
    if total is not None and not (is_int(total) and total >= 0):
        raise shape_error(ctx, _raw(body, obj), f"Bundle.total is {total!r}, not a count")
    entries = obj.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise shape_error(ctx, _raw(body, obj), "Bundle.entry is not a list")
    found: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        # Exact type checks first: orjson gives plain dicts, and an isinstance against the
        # Mapping ABC per entry is most of this function's cost on a 100-entry page.
        if type(entry) is not dict and not isinstance(entry, Mapping):
            raise shape_error(ctx, _raw(body, obj), f"Bundle.entry[{index}] is not an object")
        search = entry.get("search")
        mode = search.get("mode") if type(search) is dict or isinstance(search, Mapping) else None
        resource = entry.get("resource")
        # _include'd resources and OperationOutcome warnings are not matches.
        if mode is not None and mode not in _MATCH_MODES:
            continue
        if type(resource) is not dict:
            if not isinstance(resource, Mapping):
                raise shape_error(ctx, _raw(body, obj), f"Bundle.entry[{index}] has no resource")
            resource = dict(resource)
        if resource.get("resourceType") != resource_type:
            continue
        found.append(resource)
    return SearchPage(total=total, resources=tuple(found), next_url=next_link(obj))


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


def next_request(base_url: str, next_url: str) -> tuple[str, Mapping[str, str]]:
    """``(path, query)`` to request ``next_url`` through the client, whose base URL is
    ``base_url``; :class:`PaginationError` if the link leads anywhere else."""
    base = URL(base_url)
    try:
        url = URL(next_url.strip())
        if not url.is_absolute():
            url = base.join(url)
    except (ValueError, TypeError):
        raise PaginationError(
            "the server's next link is not a URL; the search cannot be followed"
        ) from None
    if _origin(url) != _origin(base) or url.user is not None or url.password is not None:
        # Never name the link's host and port in full: it is the server's text, and the
        # point is that nothing (not even the query) is sent there.
        raise PaginationError(
            f"the server's next link points to another origin ({url.scheme}://{url.host}), "
            f"not the base URL {base.scheme}://{base.host}: not followed, and the access "
            "token was not sent there"
        )
    prefix = base.raw_path.rstrip("/")
    root = f"{prefix}{FHIR_BASE}/"
    raw_path = url.raw_path
    if not raw_path.startswith(root) or "/../" in raw_path + "/" or "/./" in raw_path + "/":
        raise PaginationError(
            "the server's next link leaves the FHIR API's path; the search was not followed"
        )
    return raw_path[len(prefix) :], url.query


def identifiers_of(wire: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``(system, value)`` of each identifier with both, in the resource's order."""
    identifiers = wire.get("identifier")
    if isinstance(identifiers, Mapping):
        identifiers = [identifiers]
    found: list[tuple[str, str]] = []
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if isinstance(identifier, Mapping):
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and system and isinstance(value, str) and value:
                found.append((system, value))
    return tuple(found)


def resource_wire(resource: object) -> tuple[str, dict[str, Any]]:
    """``(resource type, JSON to send)`` for a dict, an SDK model or a pydantic model.

    UTC date-times written ``…Z`` (pydantic's style) become ``…+00:00``; a payload
    without a valid ``resourceType`` is a :class:`ConfigurationError`.
    """
    wire = to_wire(resource, what="a FHIR resource")
    if "resourceType" not in wire and hasattr(resource, "to_wire"):
        # This SDK's models (Patient) are named for their resource type.
        wire = {"resourceType": type(resource).__name__, **wire}
    kind = check_resource_type(wire.get("resourceType"))
    return kind, utc_datetimes(wire)
