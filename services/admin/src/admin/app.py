"""The admin API. Every route needs ``Authorization: Bearer <app.app_key>``.

Only pool statistics are served so far; account, key and settings management arrive with
their issues (the CLI's ``grok2api tokens`` covers accounts meanwhile).
"""

from __future__ import annotations

import dataclasses
import hmac
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from grok2api_poolclient.client import PoolClient
from grok2api_settings.live import LiveSettings


def create_app(*, settings: LiveSettings, pool: PoolClient) -> FastAPI:
    app = FastAPI(title="grok2api admin", docs_url=None, redoc_url=None)

    def require_admin(request: Request) -> None:
        expected = settings.current.app.app_key.encode()
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise HTTPException(
                status_code=401,
                detail="admin API: send 'Authorization: Bearer <app.app_key>'",
            )

    Admin = Annotated[None, Depends(require_admin)]

    @app.get("/api/pool")
    async def pool_stats(_: Admin) -> dict[str, Any]:
        """Accounts by tier and status, and leases in flight."""
        return dataclasses.asdict(await pool.stats())

    return app
