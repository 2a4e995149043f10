"""The HTTP app a process serves: service apps plus health, metrics and request ids.

Routing between them is a plain prefix dispatch rather than a Starlette router with mounts:
each service app already has its own middleware stack, and a second one around it cost
measurable CPU on every request (profiled under load).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping

from grok2api_telemetry import health, requests
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from . import worker_metrics


class PrefixDispatch:
    """Send a request to the app registered for its exact path, else to the app of the
    longest matching path prefix ('' matches everything). As Starlette's ``Mount`` does,
    a prefixed app keeps the full path and finds its prefix in ``root_path``."""

    def __init__(self, *, exact: Mapping[str, ASGIApp], prefixed: Mapping[str, ASGIApp]):
        self._exact = dict(exact)
        self._prefixed = sorted(prefixed.items(), key=lambda item: len(item[0]), reverse=True)
        self._apps = list({id(app): app for app in (*exact.values(), *prefixed.values())}.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        exact = self._exact.get(path)
        if exact is not None:
            await exact(scope, receive, send)
            return
        for prefix, app in self._prefixed:
            if not prefix:
                await app(scope, receive, send)
                return
            if path == prefix or path.startswith(prefix + "/"):
                await app({**scope, "root_path": scope.get("root_path", "") + prefix},
                          receive, send)
                return
        await _not_found(send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async def startup(stack: contextlib.AsyncExitStack) -> None:
            for app in self._apps:
                await enter_lifespan(stack, app)

        await serve_lifespan(receive, send, startup=startup)


Startup = Callable[[contextlib.AsyncExitStack], Awaitable[None]]


async def enter_lifespan(stack: contextlib.AsyncExitStack, app: ASGIApp) -> None:
    """Run a FastAPI/Starlette app's own lifespan inside ``stack`` (mounts skip it)."""
    router = getattr(app, "router", None)
    if router is not None and hasattr(router, "lifespan_context"):
        await stack.enter_async_context(router.lifespan_context(app))


async def serve_lifespan(receive: Receive, send: Send, *, startup: Startup) -> None:
    """Answer the ASGI lifespan protocol: ``startup`` opens what the app needs on a stack
    that is closed at shutdown; a startup failure is reported, not raised."""
    await receive()
    async with contextlib.AsyncExitStack() as stack:
        try:
            await startup(stack)
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
    await send({"type": "lifespan.shutdown.complete"})


async def _not_found(send: Send) -> None:
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"Not Found"})


def redirect_root(location: str) -> ASGIApp:
    """An app that sends ``/`` to ``location`` and answers 404 to everything else."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/":
            await _not_found(send)
            return
        await send({"type": "http.response.start", "status": 307,
                    "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app


Observer = Callable[[ASGIApp, str], ASGIApp]
"""Wraps the app of a path (its second argument) to count its requests."""


def compose(
    *,
    apps: Mapping[str, ASGIApp],
    checks: Mapping[str, health.Check],
    metrics_enabled: bool,
    observe: Observer | None = None,
) -> ASGIApp:
    """Mount each service app at its prefix ('' for the root) behind one request-id layer.

    Health and metrics paths are dispatched first so no service app can shadow them. A
    worker process among several serves every worker's metrics (``worker_metrics``).
    ``observe`` (the gateway's ``http_metrics.observed``) counts the requests of these paths
    as the service counts its own.
    """
    probes = Starlette(routes=health.routes(checks))
    exact: dict[str, ASGIApp] = {"/healthz": probes, "/readyz": probes}
    prefixed = dict(apps)
    if metrics_enabled:
        prefixed["/metrics"] = worker_metrics.metrics_app()
    if observe is not None:
        exact = {path: observe(app, path) for path, app in exact.items()}
        if metrics_enabled:
            prefixed["/metrics"] = observe(prefixed["/metrics"], "/metrics")
    return requests.RequestIdMiddleware(PrefixDispatch(exact=exact, prefixed=prefixed))
