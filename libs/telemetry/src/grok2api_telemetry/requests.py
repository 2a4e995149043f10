"""ASGI middleware: one request id per HTTP request, one log record per response, and
(tracing on) one server span per request.

The id comes from the caller's ``x-request-id`` header when it is sane, else a new one;
it is echoed in the response so a user can quote it in a bug report. The span continues
the caller's W3C ``traceparent`` when it sends one and covers the whole response, streamed
bodies included; probes and ``/metrics`` get none.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import context, tracing

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

        def record() -> int:
            log.info(
                "http_request method=%s path=%s status=%s ms=%.1f",
                scope["method"], scope["path"], status, (time.perf_counter() - started) * 1000,
            )
            return status

        try:
            if scope["path"] in self.quiet_paths:
                await self.app(scope, receive, send_with_id)
            elif tracing.enabled():  # the record is written inside the span: it has its id
                await _traced(self.app, scope, receive, send_with_id, request_id=rid,
                              finish=record)
            else:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    record()
        finally:
            context.request_id.reset(token)


async def _traced(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, request_id: str,
    finish: Callable[[], int],
) -> None:
    """Run the app inside a server span (HTTP semantic conventions), then ``finish`` in it.
    The span's name gets the matched route when the app reports one (``scope["route"]``,
    or ``"grok2api.route"`` for the gateway's hot endpoints), else the method alone: raw
    paths hold ids, which would make every span name different."""
    method = scope["method"]
    carrier = {"traceparent": _header(scope, b"traceparent"),
               "tracestate": _header(scope, b"tracestate")}
    parent = tracing.extract(carrier) if carrier["traceparent"] else None
    attributes = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "grok2api.request_id": request_id,
    }
    with tracing.span(method, kind=tracing.SpanKind.SERVER, attributes=attributes,
                      context=parent) as span:
        assert span is not None
        try:
            await app(scope, receive, send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get("grok2api.route")
            if template:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
            code = finish()  # logs the request; the response's status
            if code:
                span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_status(tracing.Status(tracing.StatusCode.ERROR))
                span.set_attribute("error.type", str(code))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
