"""App factories for the split HTTP targets (also used by uvicorn worker processes).

Clients bind to the event loop that serves requests, so they are built in the app's
lifespan rather than when the factory is called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings, RedisBus
from grok2api_telemetry import health
from redis import asyncio as aioredis
from starlette.types import ASGIApp, Receive, Scope, Send

from . import admin_wiring, bootstrap, http_app, http_protocol, redis_clients, stores

Build = Callable[[Settings, contextlib.AsyncExitStack], Awaitable[tuple[ASGIApp, dict]]]


class _Deferred:
    """An ASGI app whose inner app is built during lifespan startup."""

    def __init__(
        self, settings: Settings, build: Build, *, prefix: str = "",
        observe: http_app.Observer | None = None,
    ):  # fmt: skip
        self._settings = settings
        self._build = build
        self._prefix = prefix
        self._observe = observe
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self._inner is not None, "lifespan did not run"
        await self._inner(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async def startup(stack: contextlib.AsyncExitStack) -> None:
            app, checks = await self._build(self._settings, stack)
            await http_app.enter_lifespan(stack, app)
            apps = {self._prefix: app}
            if self._prefix:
                apps[""] = http_app.redirect_root(f"{self._prefix}/")
            self._inner = http_app.compose(
                apps=apps, checks=checks,
                metrics_enabled=self._settings.telemetry.metrics_enabled, observe=self._observe,
            )

        await http_app.serve_lifespan(receive, send, startup=startup)


async def _live_settings(settings: Settings, stack: contextlib.AsyncExitStack) -> tuple[
        LiveSettings, aioredis.Redis]:
    import asyncio

    live = LiveSettings(settings)
    redis = redis_clients.connect(settings.services.redis_url)
    stack.push_async_callback(redis.aclose)
    listener = asyncio.create_task(RedisBus(redis).run(live))
    stack.callback(listener.cancel)
    return live, redis


async def _build_gateway(settings: Settings, stack: contextlib.AsyncExitStack) -> tuple[
        ASGIApp, dict[str, health.Check]]:
    import gateway.app
    from gateway.access.redis_limits import RedisLimitStore
    from gateway.responses_api.store import RedisResponseStore
    from gateway.usage_log import usage_pipeline
    from grok2api_conversations import RedisConversationStore
    from grok2api_jobs import RedisJobQueue
    from grok2api_media.blobs import BlobStore
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok_web.client import GrokClient
    from grok_web.options import ClientOptions

    live, redis = await _live_settings(settings, stack)
    store = await stack.enter_async_context(stores.opened(settings, credentials=False))
    await admin_wiring.restore_overrides(
        live, store.settings_overrides, admin_wiring.optional_cipher(settings)
    )
    settings = live.current  # what starts now starts with the stored overrides
    pool = await stack.enter_async_context(GrpcPoolClient(settings.services.token_pool_addr))
    options = ClientOptions.from_settings(settings)
    grok = await stack.enter_async_context(GrokClient(options=options))
    stack.callback(
        live.subscribe(lambda new: grok.reconfigure(options=ClientOptions.from_settings(new)))
    )
    jobs = RedisJobQueue(redis, events_ttl=settings.cache.job_ttl_seconds)
    stack.push_async_callback(jobs.aclose)
    limits = RedisLimitStore(redis)  # every replica counts against the same limits
    stack.push_async_callback(limits.aclose)
    usage_log = await stack.enter_async_context(usage_pipeline(live, store, redis=redis))
    app = gateway.app.create_app(
        settings=live, pool=pool, grok=grok, client_keys=store.client_keys,
        limits=limits, usage_log=usage_log,
        blobs=BlobStore.from_settings(settings), jobs=jobs,
        conversations=RedisConversationStore(redis),
        stored_responses=RedisResponseStore(redis),
    )
    return app, {"store": store.ping, "token_pool": pool.stats, "redis": redis.ping}


async def _build_admin(settings: Settings, stack: contextlib.AsyncExitStack) -> tuple[
        ASGIApp, dict[str, health.Check]]:
    import admin.app
    import admin.batch_log
    import admin.batches
    import admin.sessions
    from grok2api_media.blobs import BlobStore
    from grok2api_poolclient.grpc_transport import GrpcPoolClient

    live, redis = await _live_settings(settings, stack)
    store = await stack.enter_async_context(stores.opened(settings, credentials=False))
    pool = await stack.enter_async_context(GrpcPoolClient(settings.services.token_pool_addr))
    app = admin.app.create_app(
        settings=live, pool=pool, audit_log=store.audit,
        session_store=admin.sessions.RedisSessionStore(redis),
    )
    cipher = admin_wiring.optional_cipher(settings)
    await admin_wiring.restore_overrides(live, store.settings_overrides, cipher)
    admin_wiring.attach_panel(
        app, live=live, overrides=store.settings_overrides, cipher=cipher, bus=RedisBus(redis),
        blobs=BlobStore.from_settings(live.current), single_process=False,
    )
    app.state.client_keys = store.client_keys  # the panel's client-keys page
    app.state.usage = store.usage  # and its usage page
    # batch progress in Redis: any admin replica serves a batch's events and its cancel
    batches = admin.batches.attach(app, log=admin.batch_log.RedisBatchLog(redis))
    stack.push_async_callback(batches.aclose)
    return app, {"store": store.ping, "token_pool": pool.stats, "redis": redis.ping}


def _settings() -> Settings:
    return bootstrap.start(None, create_data_dir=False).settings


def gateway_app() -> ASGIApp:
    """The app of one SERVER_WORKERS process (uvicorn's factory, called in the worker)."""
    loaded = bootstrap.start(None, create_data_dir=False)
    bootstrap.start_tracing(loaded, target="gateway")  # a fresh process: nothing installed
    settings = loaded.settings
    # The workers' protocol class crossed the process boundary by name, with its default
    # deadline: each worker sets this one before it serves.
    http_protocol.HeadDeadlineProtocol.head_timeout = settings.server.header_timeout
    import gateway.http_metrics

    return _Deferred(settings, _build_gateway, observe=gateway.http_metrics.observed)


def admin_app() -> ASGIApp:
    """The admin target: served under ``/admin`` as in the single-process mode, so the
    panel's and the API's URLs are the same everywhere; ``/`` redirects there."""
    return _Deferred(_settings(), _build_admin, prefix="/admin")
