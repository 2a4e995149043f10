"""The admin API. Every route needs ``Authorization: Bearer <app.app_key>``.

Only pool statistics are served so far; account, key and settings management arrive with
their issues (the CLI's ``grok2api tokens`` covers accounts meanwhile).
"""

from __future__ import annotations

import dataclasses
import hmac
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from grok2api_poolclient.client import PoolClient
from grok2api_settings.live import LiveSettings


def require_admin(request: Request) -> None:
    settings: LiveSettings = request.app.state.settings
    expected = settings.current.app.app_key.encode()
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(
            status_code=401, detail="admin API: send 'Authorization: Bearer <app.app_key>'"
        )


router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])


@router.get("/pool")
async def pool_stats(request: Request) -> dict[str, Any]:
    """Accounts by tier and status, and leases in flight."""
    pool: PoolClient = request.app.state.pool
    return dataclasses.asdict(await pool.stats())


def create_app(*, settings: LiveSettings, pool: PoolClient) -> FastAPI:
    app = FastAPI(title="grok2api admin", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.pool = pool
    app.include_router(router)
    return app
