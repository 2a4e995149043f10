"""Every HTTP request of the gateway app counted and timed (``grok2api_gateway_requests_total``,
``grok2api_gateway_request_duration_seconds``), the hot chat route included.

``observe`` wraps one request: ``GatewayApp`` calls it around its hot endpoints (route known
up front) and around FastAPI (the template of the route the router picked, without
convertors: ``scope["route"]``, which FastAPI sets for its own routes, or else the route of
``scope["endpoint"]``, for a plain Starlette route; the route that matched the path but not
the method counts too; no match: ``metrics.OTHER_ROUTE``); ``observed`` does the same for the
probes and the scrapes the process serves beside the app. The request's ``Observation`` is
reachable through a context variable while it runs, so code that learns the model
(``note_model``) or the status the client finally saw (``note_status``) can say so without
being handed anything.

The status is the one the response head carried, except that a stream that ended in an
error event counts with that error's status, and a request whose client left before the
answer ended counts as 499 (nginx's "client closed request", as the usage records say).
The duration ends with the answer's last body message, not when the app returns (releasing
a client key's limits can still take a round trip after that).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

CLIENT_CLOSED = 499


class Observation:
    """One request as its metrics see it."""

    __slots__ = ("ended", "model", "started", "status")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ended = 0.0
        self.model = ""
        self.status = 0


_current: contextvars.ContextVar[Observation | None] = contextvars.ContextVar(
    "gateway_http_observation", default=None
)


async def observe(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    route: str | None,
    routes: Sequence[BaseRoute] = (),
) -> None:
    """Run ``app`` on an HTTP request and record it under ``route`` (None: the template of
    the one of ``routes`` the router matched)."""
    seen = Observation()
    token = _current.set(seen)

    async def watch(message: Message) -> None:
        if message["type"] == "http.response.start":
            seen.status = message["status"]
        elif not message.get("more_body", False):
            seen.ended = time.perf_counter()
        await send(message)

    failed = False
    try:
        await app(scope, receive, watch)
    except Exception:
        failed = True
        raise
    finally:
        _current.reset(token)
        if route is None:
            route = _template(scope, routes)
        ended = seen.ended
        if not ended:  # no last body: the app failed, or the client left, before it
            ended = time.perf_counter()
            if failed:
                seen.status = seen.status if seen.status >= 400 else 500
            elif seen.status < 400:
                seen.status = CLIENT_CLOSED
        metrics.request_finished(
            route=route, model=seen.model, status=seen.status, seconds=ended - seen.started
        )


def observed(app: ASGIApp, route: str) -> ASGIApp:
    """``app`` with its HTTP requests recorded under ``route``: for the paths the process
    serves beside the gateway app (``/healthz``, ``/readyz``, ``/metrics``), so that a
    gateway that answers its probes 503 shows in its requests too."""

    async def observing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        await observe(app, scope, receive, send, route=route)

    return observing


def _template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    matched = scope.get("route")
    if matched is None and "endpoint" in scope:
        endpoint = scope["endpoint"]
        matched = next((r for r in routes if getattr(r, "endpoint", None) == endpoint), None)
    return getattr(matched, "path_format", None) or metrics.OTHER_ROUTE


def note_model(model: str) -> None:
    """The model the current request asked for (counted as ``metrics.OTHER_MODEL`` when it
    is not in the catalogue)."""
    seen = _current.get()
    if seen is not None:
        seen.model = model


def note_status(status: int) -> None:
    """The status the current request ended with when its response head said otherwise (a
    stream ended by an error event, a client that left mid-answer)."""
    seen = _current.get()
    if seen is not None:
        seen.status = status
        seen.ended = seen.ended or time.perf_counter()


def since_arrival(fallback: float) -> float:
    """Seconds since the current request arrived (since ``fallback``, a
    ``time.perf_counter()`` value, outside a request)."""
    seen = _current.get()
    return time.perf_counter() - (seen.started if seen is not None else fallback)
