"""Helpers for the Master Wilayah tests: the reference data, small misbehaving servers,
and a server-in-a-thread so task and connection checks see only the client's side."""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any

import _fakes
import orjson
from _platform_answers import apigee_token
from _wilayah_data import Row, rows
from aiohttp import web
from aiohttp.test_utils import TestServer

from sehatmu_async import Region, RetryPolicy, SehatMuClient
from sehatmu_async._models import RegionLevel
from sehatmu_async.sandbox import Sandbox

LEVELS = ("provinces", "cities", "districts", "sub_districts")
V2 = {level: f"/masterdata/v2/{level.replace('_', '-')}" for level in LEVELS}
V1 = {level: f"/masterdata/v1/{level.replace('_', '-')}" for level in LEVELS}
SANDBOX_V2 = {level: f"GET {path}" for level, path in V2.items()}
TOKEN_ROUTE = "POST /oauth2/v1/accesstoken"
CLIENT_ID = "regions-test-client"
CLIENT_SECRET = "regions-test-secret-0123456789"


#: The v2 provinces example of seeds/001, byte for byte as the document prints it.
SEED_PROVINCES_V2 = """{
  "status": 200,
  "error": false,
  "message": "success",
  "data": [
      {
          "code": "11",
          "parent_code": "",
          "bps_code": "11",
          "name": "Aceh"
      },
      {
          "code": "12",
          "parent_code": "",
          "bps_code": "12",
          "name": "Sumatera Utara"
      }
  ],
  "meta": {
      "item_count": 2,
      "page": {
          "is_cursor": true,
          "current": 1,
          "previous": 0,
          "next": 2,
          "limit": 10,
          "total_page": 1,
          "total": 2
      },
      "cursors": {
          "next": "MTI=",
          "previous": "MTE="
      }
  }
}"""


# -- reference data ----------------------------------------------------------------------




@cache
def codes(level: str) -> frozenset[str]:
    return frozenset(r[0] for r in rows(level))


@cache
def sorted_codes(level: str) -> tuple[str, ...]:
    return tuple(sorted(codes(level)))


def children(level: str, parents: set[str] | frozenset[str]) -> set[str]:
    """Codes of ``level`` whose parent_code is in ``parents``."""
    return {r[0] for r in rows(level) if r[1] in parents}


def region(level: str, row: Row) -> Region:
    """The ``Region`` the SDK must make of a data row."""
    code, parent, bps, name = row
    return Region(
        code=code,
        parent_code=parent or None,
        bps_code=bps or None,
        name=name,
        level=RegionLevel(level),
    )


def row_of(level: str, code: str) -> Row:
    return next(r for r in rows(level) if r[0] == code)


def b64(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


# -- clients -----------------------------------------------------------------------------


#: Retry waits in tests: the shared fake sleep (records, yields to the loop, never waits).
no_sleep = _fakes.FakeSleep()

FAST_RETRY = RetryPolicy(attempts=6, backoff_base=0.01, backoff_cap=0.05)


def make_client(url: str, **settings: Any) -> SehatMuClient:
    settings.setdefault("retry", FAST_RETRY)
    settings.setdefault("client_id", CLIENT_ID)
    settings.setdefault("client_secret", CLIENT_SECRET)
    return _fakes.client_for(url, **settings)


# -- small servers -----------------------------------------------------------------------


def token_answer() -> dict[str, Any]:
    return apigee_token("regions-test-token", CLIENT_ID)


def json_response(body: Any, status: int = 200) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(status=status, body=raw, content_type="application/json")


def raw_response(
    body: bytes | str, *, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    raw = body.encode() if isinstance(body, str) else body
    return web.Response(status=status, body=raw, content_type=content_type)


Answer = Callable[[web.Request], Awaitable[web.StreamResponse] | web.StreamResponse]


class MiniPlatform(_fakes.ScriptedPlatform):
    """The shared scripted platform (``tests/_fakes.py``): a token endpoint plus whatever
    region routes a test scripts; ``seen`` has every region query."""

    def __init__(self) -> None:
        super().__init__(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, check_auth=False)
        self.on(*_fakes.TOKEN_ROUTE, _fakes.json_reply(token_answer()))

    def route(self, path: str, answer: Answer) -> MiniPlatform:
        self.on("GET", path, answer)
        return self

    @property
    def seen(self) -> list[tuple[str, dict[str, str]]]:
        """(path, query) of every region request, in arrival order."""
        return [(r.path, dict(r.query)) for r in self.api_requests]

    def count(self, path: str | None = None, **query: str) -> int:  # type: ignore[override]
        """Region requests seen (on ``path``, with these query values)."""
        return super().count(None, path, **query) if path else sum(
            1 for _, q in self.seen if all(q.get(k) == v for k, v in query.items())
        )


class KeysetServer:
    """A v2 level served like the platform (keyset cursors = base64 of codes), with hooks.

    ``total_page(total, limit)`` computes the advertised page count; ``tamper(info)``
    may change ``info["rows"]``/``info["meta"]``/``info["cursors"]`` or return a whole
    response to send instead.
    """

    def __init__(
        self,
        level: str,
        *,
        total_page: Callable[[int, int], int] = lambda total, limit: math.ceil(total / limit),
        tamper: Callable[[dict[str, Any]], web.StreamResponse | None] | None = None,
    ) -> None:
        self.level = level
        self.rows = sorted(rows(level))
        self.codes = [r[0] for r in self.rows]
        self.total_page = total_page
        self.tamper = tamper

    def __call__(self, request: web.Request) -> web.StreamResponse:
        query = request.rel_url.query
        current = int(query["current_page"])
        limit = int(query.get("limit", "10"))
        after = query.get("next")
        before = query.get("prev")
        selection = self.rows
        if after:
            code = base64.b64decode(after).decode()
            start = sum(1 for c in self.codes if c <= code)
            page = selection[start : start + limit]
        elif before:
            code = base64.b64decode(before).decode()
            end = sum(1 for c in self.codes if c < code)
            page = selection[max(0, end - limit) : end]
        else:
            page = selection[(current - 1) * limit : current * limit]
        info: dict[str, Any] = {
            "request": request,
            "current": current,
            "limit": limit,
            "via": "next" if after else "prev" if before else None,
            "rows": list(page),
        }
        page_rows = info["rows"]
        info["meta"] = {
            "item_count": len(page_rows),
            "page": {
                "is_cursor": True,
                "current": current,
                "previous": current - 1,
                "next": current + 1,
                "limit": limit,
                "total_page": self.total_page(len(selection), limit),
                "total": len(selection),
            },
        }
        info["cursors"] = {
            "next": b64(page_rows[-1][0]) if page_rows else "",
            "previous": b64(page_rows[0][0]) if page_rows else "",
        }
        if self.tamper is not None:
            replaced = self.tamper(info)
            if replaced is not None:
                return replaced
        page_rows = info["rows"]
        meta = info["meta"]
        meta.setdefault("cursors", info["cursors"])
        data = [
            dict(zip(("code", "parent_code", "bps_code", "name"), r, strict=True))
            for r in page_rows
        ]
        return json_response(
            {"status": 200, "error": False, "message": "success", "data": data, "meta": meta}
        )


async def start_server(app: web.Application) -> tuple[TestServer, str]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, f"http://127.0.0.1:{server.port}"


#: An app served from a thread of its own (``tests/_fakes.py``).
ThreadedServer = _fakes.ServerThread


#: The ``serve`` fixture: ``await serve(platform, threaded=False, **client settings)``.
Serve = Callable[..., Awaitable[SehatMuClient]]


class Recorded:
    """A client on the real sandbox application, with every query the server saw."""

    def __init__(self, client: SehatMuClient, sandbox: Sandbox) -> None:
        self.client = client
        self.sandbox = sandbox
        #: (path, query) per answered request, token requests included.
        self.seen: list[tuple[str, dict[str, str]]] = []
        #: (path, the query string exactly as it arrived) per answered request.
        self.raw: list[tuple[str, str]] = []

    def queries(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.seen if p == path]


# -- leftovers ---------------------------------------------------------------------------


#: Loop turns only: no ``gc.collect`` (a test that measures collection calls it itself).
settle = _fakes.settle


def other_tasks() -> set[asyncio.Task[Any]]:
    """Every task but the test's own (the servers of these tests run in threads)."""
    return _fakes.other_tasks(ignore=())


acquired_connections = _fakes.acquired_connections


async def drain(iterator: Any, into: list[str] | None = None) -> None:
    """Consume a pager or pull, keeping the codes seen (if ``into`` is given)."""
    async for item in iterator:
        if into is not None:
            into.append(item.code)


def query_of(seen: list[tuple[str, Mapping[str, str]]], path: str) -> list[dict[str, str]]:
    return [dict(q) for p, q in seen if p == path]
