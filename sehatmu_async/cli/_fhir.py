"""``sehatmu fhir get|search|create``: FHIR resources of any type from the command line.

Same rules as ``regions pull``: credentials from the environment only, every argument
and the output path checked before any request (exit 2), failures one line (exit 1),
``--out`` replaced only once the search is complete.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from contextlib import aclosing
from typing import Any

import orjson
from rich.console import Console

from .._fhir_wire import identifiers_of
from .._paths import check_resource_id, check_resource_type
from ..errors import OutcomeUnknownError
from ._connect import client_from_args
from ._failures import CommandError, UsageError
from ._output_file import check_output
from ._progress import Bars

__all__ = ["fhir_command"]

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _print_json(resource: Any) -> None:
    option = orjson.OPT_INDENT_2 if sys.stdout.isatty() else 0
    sys.stdout.buffer.write(orjson.dumps(resource, option=option | orjson.OPT_APPEND_NEWLINE))
    sys.stdout.flush()


async def fhir_get(args: argparse.Namespace) -> int:
    kind = check_resource_type(args.type)
    rid = check_resource_id(args.id, kind)
    async with client_from_args(args) as client:
        resource = await client.fhir.read(kind, rid)
    _print_json(resource)
    return 0


def _show_progress(out: str) -> bool:
    # As `regions pull`: with both streams on one terminal the lines are the progress.
    return sys.stderr.isatty() and (out != "-" or not sys.stdout.isatty())


async def fhir_search(args: argparse.Namespace) -> int:
    kind = check_resource_type(args.type)
    params: dict[str, str] = {}
    for key, value in args.terms:
        if key in params:
            raise UsageError(f"{key}= is given twice; join values with commas (FHIR's 'or')")
        params[key] = value
    output = check_output(args.out, flag="--out")
    async with client_from_args(args) as client:
        pager = client.fhir.search(kind, params, max_pages=args.max_pages if args.all else 1)
        show = _show_progress(args.out)
        with output.open() as out, Bars(Console(stderr=True) if show else None) as bars:
            bar = None
            more = False
            async with aclosing(pager.pages()) as pages:
                async for page in pages:
                    if bar is None:
                        bar = bars.bar(kind, page.total if args.all else len(page.resources))
                    for resource in page.resources:
                        out.write(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
                        bar.add()
                    more = page.next_url is not None
                    if not args.all:
                        break
            count = bar.count if bar is not None else 0
            if bar is not None:
                bar.done()
    if sys.stderr.isatty() or (more and not args.all):
        tail = " (more pages: add --all)" if more and not args.all else ""
        sys.stderr.write(f"sehatmu: {count} {kind} written to {output.where}{tail}\n")
    return 0


def _read_resource(path: str) -> Any:
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                raw = file.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path!r} is not JSON ({exc}); nothing was sent") from None
    if not isinstance(resource, dict):
        raise UsageError(f"{path!r} holds a JSON {type(resource).__name__}, not a FHIR resource")
    return resource


def _lost(err: OutcomeUnknownError, resource: dict[str, Any]) -> CommandError:
    kind = err.resource_type or resource.get("resourceType", "resource")
    identifiers = err.identifiers or identifiers_of(resource)
    if identifiers:
        system, value = identifiers[0]
        how = (
            f"look it up before creating it again: sehatmu fhir search {kind} "
            f"'identifier={system}|{value}' (in Python: await client.fhir.reconcile(err))"
        )
    else:
        how = "it has no identifier to look it up by: search for it before creating it again"
    return CommandError(
        f"the answer to the create was lost ({err.message.split(';')[0]}); the {kind} may "
        f"or may not be stored. Do NOT run this create again blindly: {how}"
    )


async def fhir_create(args: argparse.Namespace) -> int:
    resource = _read_resource(args.file)
    async with client_from_args(args) as client:
        try:
            created = await client.fhir.create(resource, validate=not args.no_validate)
        except OutcomeUnknownError as err:
            raise _lost(err, resource) from None
    sys.stdout.write(f"{created['id']}\n")
    sys.stdout.flush()
    if sys.stderr.isatty():
        sys.stderr.write(f"sehatmu: created {created['resourceType']}/{created['id']}\n")
    return 0


_COMMANDS: dict[str, Command] = {
    "fhir_get": fhir_get,
    "fhir_search": fhir_search,
    "fhir_create": fhir_create,
}


def fhir_command(name: str) -> Command:
    """The coroutine function of sub-command ``name`` (``fhir_get``, …)."""
    return _COMMANDS[name]
