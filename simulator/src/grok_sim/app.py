"""The ASGI application: every simulated host on one port (grok.com, accounts.x.ai, assets)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .errors import RequestRejected
from .options import SimOptions
from .routes import chat, control, ratelimits
from .state import SeedAccount, SimState


async def render_rejection(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestRejected)
    return Response(error.body, status_code=error.status, media_type=error.content_type,
                    headers=error.headers)


def upstream_routes() -> list[BaseRoute]:
    return [
        Route("/rest/app-chat/conversations/new", chat.new_conversation, methods=["POST"]),
        Route("/rest/rate-limits", ratelimits.rate_limits, methods=["POST"]),
    ]


def create_app(
    *, options: SimOptions | None = None, seed_accounts: Iterable[SeedAccount] = ()
) -> Starlette:
    """A fresh simulator app with its own state (reachable as `app.state.sim`)."""
    app = Starlette(
        routes=[*control.ROUTES, *upstream_routes()],
        exception_handlers={RequestRejected: render_rejection},
    )
    app.state.sim = SimState(options=options or SimOptions(), seed_accounts=seed_accounts)
    return app
