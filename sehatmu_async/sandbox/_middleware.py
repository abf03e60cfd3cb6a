"""Per-request bookkeeping (request id, counters) and fault injection.

Both run on every request, so with every fault off they cost a few attribute reads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from ._responses import json_response, text_response
from ._state import PATIENT_CREATE_ROUTE, STATE, TOKEN_ROUTE

logger = logging.getLogger(__name__)
_SERVER_ERRORS = ((502, "Bad Gateway"), (503, "no healthy upstream"), (504, "Gateway Timeout"))
_SPIKE_ARREST = {
    "fault": {
        "faultstring": "Spike arrest violation. Allowed rate : MessageRate{messagesPerPeriod=10, "
        "periodInMicroseconds=1000000, maxBurstMessageCount=1.0}",
        "detail": {"errorcode": "policies.ratelimit.SpikeArrestViolation"},
    }
}


def _route_key(request: web.Request) -> str:
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    return f"{request.method} {path}"


@web.middleware
async def bookkeeping(request: web.Request, handler: Handler) -> web.StreamResponse:
    counters = request.app[STATE].counters
    route_key = _route_key(request)
    counters.requests += 1
    counters.by_route[route_key] += 1
    route_name = request.match_info.route.name
    if route_name == TOKEN_ROUTE:
        counters.token_requests += 1
    elif route_name == PATIENT_CREATE_ROUTE:
        counters.patient_creates += 1
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # The live platform answers unknown routes with an empty 404 body.
        response = web.Response(status=exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    except ConnectionError:
        # The client went away mid-request (its timeout, a cancelled pull). aiohttp logs a
        # traceback for an exception; an answer nobody will read ends it quietly.
        counters.faults["client_gone"] += 1
        response = web.Response(status=499)
    except Exception:
        # A sandbox bug still answers like the gateway would. Only the route is logged:
        # query strings may hold a NIK, and headers a token.
        logger.exception("sandbox failed to answer %s", route_key)
        response = text_response("Internal Server Error", 500)
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    return response


def _drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Never reaches the client: writing to the aborted transport fails and aiohttp
    # treats that as a premature disconnection, quietly.
    return web.Response(status=500)


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    faults = state.faults
    if faults.latency_ms > 0:
        state.counters.faults["latency"] += 1
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.faults_on_token or request.match_info.route.name != TOKEN_ROUTE:
        rng = state.rng
        if faults.drop_rate > 0 and rng.random() < faults.drop_rate:
            state.counters.faults["drop"] += 1
            return _drop(request)
        if faults.fail_rate > 0 and rng.random() < faults.fail_rate:
            state.counters.faults["5xx"] += 1
            status, text = rng.choice(_SERVER_ERRORS)
            return text_response(text, status)
        if faults.rate_limit_rate > 0 and rng.random() < faults.rate_limit_rate:
            state.counters.faults["429"] += 1
            retry_after = str(math.ceil(faults.retry_after_s))
            return json_response(_SPIKE_ARREST, 429, {"Retry-After": retry_after})
    return await handler(request)
