"""ASGI middleware: one request id per HTTP request, one log record per response.

The id comes from the caller's ``x-request-id`` header when it is sane, else a new one;
it is echoed in the response so a user can quote it in a bug report.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import context

log = logging.getLogger("grok2api.http")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, *, quiet_paths: tuple[str, ...] = ("/healthz", "/readyz",
                                                                        "/metrics")):
        self.app = app
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SANE_ID.match(given) else context.new_request_id()
        token = context.request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in self.quiet_paths:
                log.info(
                    "http_request method=%s path=%s status=%s ms=%.1f",
                    scope["method"], scope["path"], status, (time.perf_counter() - started) * 1000,
                )
            context.request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
