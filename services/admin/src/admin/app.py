"""The admin service: the JSON API under ``/api`` and, beside it, the panel's pages.

Routers live in :mod:`admin.routers`. Listing one in ``routers.PROTECTED`` is what puts
it behind ``security.require_admin`` (a session with CSRF protection, or the bearer key),
so no route can forget it; ``routers.PUBLIC`` holds only logging in and out.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from grok2api_poolclient.client import PoolClient
from grok2api_settings.live import LiveSettings
from grok2api_storage import AuditRepository

from . import audit, errors, pages, routers, security, sessions


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api")
    for router in routers.PUBLIC:
        api.include_router(router)
    protected = APIRouter(dependencies=[Depends(security.require_admin)])
    for router in routers.PROTECTED:
        protected.include_router(router)
    api.include_router(protected)
    return api


def create_app(
    *,
    settings: LiveSettings,
    pool: PoolClient,
    audit_log: AuditRepository | None = None,
    session_store: sessions.SessionStore | None = None,
    auth_policy: security.AuthPolicy = security.AuthPolicy(),
) -> FastAPI:
    """The admin app.

    ``audit_log`` is the durable store's ``store.audit`` (default: kept in memory, for
    tests); ``session_store`` holds sessions and wrong-password counters (default: in
    process memory, right for the single-process mode; split deployments pass a
    ``sessions.RedisSessionStore`` so every replica shares them).
    """
    app = FastAPI(
        title="grok2api admin",
        summary="The admin panel's JSON API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served behind the admin check by routers.openapi
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.audit_log = audit_log if audit_log is not None else audit.MemoryAuditLog()
    app.state.sessions = (
        session_store if session_store is not None else sessions.MemorySessionStore()
    )
    app.state.auth_policy = auth_policy
    errors.install(app)
    app.include_router(api_router())
    pages.mount(app)
    return app
