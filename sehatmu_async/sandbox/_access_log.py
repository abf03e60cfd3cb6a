"""The sandbox's access log: method, path and status, never the query string.

aiohttp's default access log writes the request line, query string included, at INFO: a
Patient search carries the NIK there (``?identifier=…|3171…``). This one writes the path.
"""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

__all__ = ["PathOnlyAccessLogger"]


class PathOnlyAccessLogger(AbstractAccessLogger):
    """``127.0.0.1 "GET /fhir-r4/v1/Patient" 200 512 0.004s`` on ``aiohttp.access``.

    Use it wherever the sandbox's application is served, e.g.
    ``await TestServer(make_app(sandbox)).start_server(access_log_class=PathOnlyAccessLogger)``.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )
