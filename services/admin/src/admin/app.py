"""The admin service: the JSON API under ``/api`` (every route behind ``require_admin``)
and, beside it, the panel's pages.

Routers live in :mod:`admin.routers`; listing one in ``routers.PROTECTED`` is what puts it
behind the admin check, so no route can forget it.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from grok2api_poolclient.client import PoolClient
from grok2api_settings.live import LiveSettings
from grok2api_storage import AuditRepository

from . import audit, pages, routers


def require_admin(request: Request) -> None:
    settings: LiveSettings = request.app.state.settings
    expected = settings.current.app.app_key.encode()
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(
            status_code=401, detail="admin API: send 'Authorization: Bearer <app.app_key>'"
        )
    request.state.admin_actor = "bearer"


def api_router() -> APIRouter:
    api = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])
    for router in routers.PROTECTED:
        api.include_router(router)
    return api


def create_app(
    *,
    settings: LiveSettings,
    pool: PoolClient,
    audit_log: AuditRepository | None = None,
) -> FastAPI:
    """The admin app. ``audit_log`` is the durable store's ``store.audit``; without one,
    entries are kept in memory (tests)."""
    app = FastAPI(title="grok2api admin", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.pool = pool
    app.state.audit_log = audit_log if audit_log is not None else audit.MemoryAuditLog()
    app.include_router(api_router())
    pages.mount(app)
    return app
