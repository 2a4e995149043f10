"""The ASGI application: every simulated host on one port (grok.com, accounts.x.ai, assets)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from . import front
from .errors import RequestRejected
from .options import SimOptions
from .routes import (
    chat,
    control,
    files,
    imagine,
    mgw,
    posts,
    ratelimits,
    session,
    settings,
    upload_v2,
)
from .state import SeedAccount, SimState


async def render_rejection(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestRejected)
    return Response(error.body, status_code=error.status, media_type=error.content_type,
                    headers=error.headers)


def upstream_routes() -> list[BaseRoute]:
    return [
        Route("/rest/app-chat/conversations/new", chat.new_conversation, methods=["POST"]),
        Route("/rest/app-chat/conversations/{conversation_id}/responses",
              chat.continue_conversation, methods=["POST"]),
        Route("/rest/rate-limits", ratelimits.rate_limits, methods=["POST"]),
        Route("/rest/app-chat/upload-file", files.upload_file, methods=["POST"]),
        Route("/rest/assets", files.list_assets, methods=["GET"]),
        Route("/rest/assets-metadata/{asset_id}", files.delete_asset, methods=["DELETE"]),
        Route("/rest/media/post/create", posts.create_post, methods=["POST"]),
        Route("/rest/media/post/create-link", posts.create_link, methods=["POST"]),
        Route("/rest/media/video/upscale", posts.upscale, methods=["POST"]),
        Route("/rest/media/imagine/quota_info", ratelimits.imagine_quota, methods=["POST"]),
        Route("/rest/auth/set-birth-date", settings.set_birth_date, methods=["POST"]),
        Route("/rest/auth/set-tos-accepted", settings.set_tos_accepted_rest, methods=["POST"]),
        Route("/auth_mgmt.AuthManagement/SetTosAcceptedVersion", settings.set_tos_accepted,
              methods=["POST"]),
        Route("/auth_mgmt.AuthManagement/UpdateUserFeatureControls",
              settings.update_feature_controls, methods=["POST"]),
        WebSocketRoute("/ws/imagine/listen", imagine.imagine_listen),
        # HEAD generation (grok.com since August 2026): session, mgw chat, upload v2.
        Route("/api/auth/session", session.auth_session, methods=["GET"]),
        WebSocketRoute("/ws/mgw/", mgw.mgw_listen),
        Route("/http/upload-file-v2/direct", upload_v2.upload_file_v2, methods=["POST"]),
        Route("/users/{path:path}", files.download, methods=["GET"]),
        Route("/imagine-public/{path:path}", files.public_download, methods=["GET"]),
        # Cloudflare's front (front.CloudflareFront decides who is challenged).
        Route("/", front.home, methods=["GET"]),
        Route(front.ANSWER_PATH + "{ray}", front.answer_challenge, methods=["POST"]),
    ]


def create_app(
    *, options: SimOptions | None = None, seed_accounts: Iterable[SeedAccount] = ()
) -> Starlette:
    """A fresh simulator app with its own state (reachable as `app.state.sim`)."""
    app = Starlette(
        routes=[*upstream_routes(), *control.ROUTES],
        exception_handlers={RequestRejected: render_rejection},
        middleware=[Middleware(front.CloudflareFront)],
    )
    app.state.sim = SimState(options=options or SimOptions(), seed_accounts=seed_accounts)
    return app
