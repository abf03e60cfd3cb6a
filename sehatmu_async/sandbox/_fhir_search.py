"""FHIR search over the sandbox's store: parameters, matching, and searchset pages.

Pages are offsets into the matches in creation order; the ``next`` link is an
absolute URL on the request's own origin, as the platform's are, carrying the
original parameters plus ``_page``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from ._fhir_store import Refusal, references_in
from ._responses import issue

__all__ = ["DEFAULT_COUNT", "MAX_COUNT", "matcher", "searchset"]

DEFAULT_COUNT = 10
MAX_COUNT = 1000
# Search parameter -> the elements it looks at (FHIR R4's definitions, for the types
# clinics use); any other parameter name is read as the element of the same name.
_REFERENCE_PARAMS: Mapping[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "patient": ("patient", "subject"),
    "encounter": ("encounter", "context"),
    "organization": ("managingOrganization", "organization", "serviceProvider"),
    "partof": ("partOf",),
    "part-of": ("partOf",),
    "service-provider": ("serviceProvider",),
    "location": ("location",),
    "based-on": ("basedOn",),
    "performer": ("performer",),
    "requester": ("requester",),
    "practitioner": ("participant", "performer", "practitioner"),
    "episode-of-care": ("episodeOfCare",),
    "specimen": ("specimen",),
    "result": ("result",),
}
_TOKEN_PARAMS = frozenset({"status", "intent", "gender", "active"})
_CONTROL = frozenset({"_count", "_page"})
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _has_identifier(resource: Mapping[str, Any], wanted: str) -> bool:
    system, bar, value = wanted.partition("|")
    if not bar:
        system, value = "", wanted
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    for ident in identifiers if isinstance(identifiers, list) else ():
        if (
            isinstance(ident, dict)
            and ident.get("value") == value
            and (not system or ident.get("system") == system)
        ):
            return True
    return False


def _refers_to(resource: Mapping[str, Any], elements: Iterable[str], wanted: str) -> bool:
    for element in elements:
        for _, ref in references_in(resource.get(element), element):
            target = ref.split("/_history/")[0]
            if target == wanted or target.rsplit("/", 1)[-1] == wanted:
                return True
    return False


def _token(resource: Mapping[str, Any], name: str, wanted: str) -> bool:
    value = resource.get(name)
    if isinstance(value, bool):
        return str(value).lower() == wanted
    return isinstance(value, str) and value in wanted.split(",")


def matcher(kind: str, params: Iterable[tuple[str, str]]) -> Any:
    """A predicate for the resources matching ``params``; :class:`Refusal` if unknown."""
    tests: list[Any] = []
    for name, wanted in params:
        if name in _CONTROL:
            continue
        if wanted == "":
            raise Refusal([issue("value", f"Search parameter {name} has an empty value")])
        if name == "identifier":
            tests.append(lambda r, w=wanted: _has_identifier(r, w))
        elif name == "_id":
            tests.append(lambda r, w=wanted: r.get("id") in w.split(","))
        elif name in _REFERENCE_PARAMS:
            tests.append(lambda r, e=_REFERENCE_PARAMS[name], w=wanted: _refers_to(r, e, w))
        elif name in _TOKEN_PARAMS:
            tests.append(lambda r, n=name, w=wanted: _token(r, n, w))
        else:
            raise Refusal([issue("not-supported", f"Unknown search parameter '{name}' for {kind}")])
    return lambda resource: all(test(resource) for test in tests)


def _int_param(params: Mapping[str, str], name: str, default: int, least: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise Refusal([issue("value", f"Invalid {name}: '{raw}', expected an integer >= {least}")])
    return int(raw)


def searchset(
    origin: str,
    path: str,
    query: list[tuple[str, str]],
    matches: list[dict[str, Any]],
) -> dict[str, Any]:
    """The page of ``matches`` that ``query``'s ``_count`` and ``_page`` ask for."""
    params = dict(query)
    count = min(_int_param(params, "_count", DEFAULT_COUNT, 1), MAX_COUNT)
    page = _int_param(params, "_page", 1, 1)
    start = (page - 1) * count
    chosen = matches[start : start + count]
    kept = [(k, v) for k, v in query if k != "_page"]

    def link(relation: str, number: int) -> dict[str, str]:
        query = urlencode([*kept, ("_page", number)])
        return {"relation": relation, "url": f"{origin}{path}?{query}"}

    links = [
        {"relation": "self", "url": f"{origin}{path}?{urlencode(query)}"},
        link("first", 1),
    ]
    if start + count < len(matches):
        links.append(link("next", page + 1))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": links,
    }
    if chosen:
        bundle["entry"] = [
            {
                "fullUrl": f"{origin}{path}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in chosen
        ]
    return bundle
