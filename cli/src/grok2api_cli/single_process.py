"""``grok2api run``: every service in one process, sharing in-process state.

The pool is called in-process (no serialisation), its gRPC server also listens on
``TOKEN_POOL_ADDR`` for the CLI and tools; media jobs go through an in-process queue to an
in-process media worker, which stores results in the blob store in DATA_DIR; the durable
store is SQLite in DATA_DIR unless settings choose another.
"""

from __future__ import annotations

import asyncio
import contextlib

import admin.app
import admin.batch_log
import admin.batches
import gateway.app
import gateway.http_metrics
import media_worker.main
import token_pool.main
from gateway.usage_log import usage_pipeline
from grok2api_conversations import InProcessConversationStore
from grok2api_jobs import memory as memory_jobs
from grok2api_media.blobs import BlobStore
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import load_cipher
from grok_web.client import GrokClient
from grok_web.options import ClientOptions
from media_worker.handlers import media_handlers
from media_worker.media.context import MediaContext

from . import admin_wiring, http_app, runtime, stores


async def run(settings: Settings, stop: asyncio.Event) -> None:
    live = LiveSettings(settings)
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            stores.opened(settings, credentials=True, generate_key=True, migrate_in_child=True)
        )
        cipher = load_cipher(settings, allow_generate=True)
        await admin_wiring.restore_overrides(live, store.settings_overrides, cipher)
        settings = live.current  # what starts now starts with the stored overrides
        pool = await stack.enter_async_context(
            token_pool.main.running(
                live, store=store, redis=None, grpc_address=settings.services.token_pool_addr
            )
        )
        grok = await stack.enter_async_context(
            GrokClient(options=ClientOptions.from_settings(settings))
        )
        stack.callback(
            live.subscribe(lambda new: grok.reconfigure(options=ClientOptions.from_settings(new)))
        )
        blobs = BlobStore.from_settings(settings)
        jobs = memory_jobs.InProcessJobQueue(events_ttl=settings.cache.job_ttl_seconds)
        media = MediaContext(settings=lambda: live.current, pool=pool, grok=grok, blobs=blobs)
        await stack.enter_async_context(
            media_worker.main.running(settings, queue=jobs, handlers=media_handlers(media))
        )
        usage_log = await stack.enter_async_context(usage_pipeline(live, store))
        admin_app = admin.app.create_app(settings=live, pool=pool, audit_log=store.audit)
        admin_wiring.attach_panel(
            admin_app, live=live, overrides=store.settings_overrides, cipher=cipher, bus=None,
            blobs=blobs, single_process=True,
        )
        admin_app.state.client_keys = store.client_keys  # the panel's client-keys page
        admin_app.state.usage = store.usage  # and its usage page
        # batches in process memory; stopped before the pool they stream from
        batches = admin.batches.attach(admin_app, log=admin.batch_log.MemoryBatchLog())
        stack.push_async_callback(batches.aclose)
        app = http_app.compose(
            apps={
                "/admin": admin_app,
                "": gateway.app.create_app(
                    settings=live, pool=pool, grok=grok, client_keys=store.client_keys,
                    usage_log=usage_log, blobs=blobs, jobs=jobs,
                    conversations=InProcessConversationStore(),
                ),
            },
            checks={"store": store.ping, "token_pool": pool.stats},
            metrics_enabled=settings.telemetry.metrics_enabled,
            observe=gateway.http_metrics.observed,
        )
        await runtime.serve_http(app, server=settings.server, stop=stop)
