"""The gateway's FastAPI application: wiring only.

``create_app`` takes the process's live settings, a ``PoolClient``, a ``GrokClient``, and
optionally: the client-key store (without one only ``app.api_key`` is checked), the per-key
``LimitStore`` (in-process when omitted: right for one replica), a ``UsageLog`` (the
per-request records; without one none are kept), a media ``BlobStore`` (without one,
``/v1/files`` answers 503), a media ``JobQueue`` (``jobs``; without it and the blob store,
the image and video endpoints answer 503) and a ``ConversationStore`` (``conversations``,
continuation state; without it turns cannot be continued) and a ``ResponseStore``
(``stored_responses``: the Responses API's stored responses; in process when omitted,
right for one replica). It returns the app with its
routers and the one error handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from grok2api_conversations import ConversationStore
from grok2api_jobs import JobQueue
from grok2api_media.blobs import BlobStore
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.user_ids import UserIdRecorder
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols
from starlette.types import ASGIApp, Receive, Scope, Send

from . import deps, errors, http_metrics, openapi_doc
from .access.directory import KeyDirectory
from .access.guard import Guard
from .access.limits import LimitStore
from .access.memory_limits import MemoryLimitStore
from .chat import attachments, service, upstream, usage
from .media import reading
from .media.service import MediaService
from .responses_api import service as responses_service
from .responses_api import store as response_store
from .routers import chat, files, images, messages, models, openai_responses, videos
from .usage_log import UsageLog


class GatewayApp(FastAPI):
    """FastAPI, with hot endpoints (plain ASGI callables by exact path, POST only) served
    ahead of its middleware stack and router; every other request takes the usual way.
    Every HTTP request, either way, is counted and timed (``http_metrics``)."""

    hot_routes: dict[str, ASGIApp]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope["method"] == "POST":
            endpoint = self.hot_routes.get(scope["path"])
            if endpoint is not None:
                scope["grok2api.route"] = scope["path"]  # the span's http.route (no router ran)
                await http_metrics.observe(endpoint, scope, receive, send, route=scope["path"])
                return
        await http_metrics.observe(
            super().__call__, scope, receive, send, route=None, routes=self.routes
        )


def create_app(
    *,
    settings: LiveSettings,
    pool: PoolClient,
    grok: upstream.GrokChat,
    client_keys: protocols.ClientKeyRepository | None = None,
    limits: LimitStore | None = None,
    usage_log: UsageLog | None = None,
    blobs: BlobStore | None = None,
    jobs: JobQueue | None = None,
    conversations: ConversationStore | None = None,
    stored_responses: response_store.ResponseStore | None = None,
) -> FastAPI:
    fetcher = attachments.Fetcher()
    user_ids = UserIdRecorder(pool)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await fetcher.aclose()
            await user_ids.aclose()
            await background.aclose()

    background = responses_service.Background()
    app = GatewayApp(title="grok2api gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    chat_deps = service.Deps(
        settings=settings,
        pool=pool,
        grok=grok,
        tokens=usage.TokenCounter(),
        fetcher=fetcher,
        conversations=conversations,
        user_ids=user_ids,
    )
    guard = Guard(
        settings=settings,
        directory=KeyDirectory(client_keys) if client_keys is not None else None,
        limits=limits if limits is not None else MemoryLimitStore(),
        usage=usage_log,
    )
    services = app.state.services = deps.AppServices(
        chat=chat_deps,
        guard=guard,
        responses=responses_service.ResponsesService(
            chat=chat_deps,
            guard=guard,
            background=background,
            store=stored_responses or response_store.InProcessResponseStore(),
        ),
        blobs=blobs,
        media=MediaService(settings=settings, queue=jobs, blobs=blobs, fetcher=fetcher),
    )
    errors.install(app)
    reading.install(app)
    app.include_router(models.router)
    app.include_router(files.router)
    app.include_router(images.router)
    app.include_router(videos.router)
    app.include_router(openai_responses.router)
    completions = chat.ChatCompletions(services)
    app.add_route(chat.PATH, completions.respond, methods=["POST"])
    anthropic_messages = messages.Messages(services)
    count_tokens = messages.CountTokens(services)
    app.add_route(messages.PATH, anthropic_messages.respond, methods=["POST"])
    app.add_route(messages.COUNT_PATH, count_tokens.respond, methods=["POST"])
    openapi_doc.install(app)
    app.hot_routes = {
        chat.PATH: completions,
        messages.PATH: anthropic_messages,
        messages.COUNT_PATH: count_tokens,
    }
    return app
