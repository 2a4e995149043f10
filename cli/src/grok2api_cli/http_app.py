"""The HTTP app a process serves: service routes plus health, metrics and request ids."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from grok2api_telemetry import health, metrics, requests
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp


def compose(
    *, apps: Mapping[str, ASGIApp], checks: Mapping[str, health.Check], metrics_enabled: bool
) -> ASGIApp:
    """Mount each service app at its prefix ('' for the root) behind one request-id layer.

    Health and metrics routes come first so no service app can shadow them. Mounted apps'
    lifespans run inside the root's, since Starlette does not run them for mounts.
    """
    routes: list[BaseRoute] = list(health.routes(checks))
    if metrics_enabled:
        routes.append(Mount("/metrics", app=metrics.metrics_app()))
    ordered = sorted(apps.items(), key=lambda item: item[0] == "")
    routes += [Mount(prefix, app=app) for prefix, app in ordered]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                router = getattr(app, "router", None)
                if router is not None and hasattr(router, "lifespan_context"):
                    await stack.enter_async_context(router.lifespan_context(app))
            yield

    return requests.RequestIdMiddleware(Starlette(routes=routes, lifespan=lifespan))
