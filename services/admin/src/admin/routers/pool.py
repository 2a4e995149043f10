"""Pool statistics: accounts by tier and status, leases in flight."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from grok2api_poolclient.client import PoolClient

router = APIRouter(tags=["pool"])


@router.get("/pool")
async def pool_stats(request: Request) -> dict[str, Any]:
    """Accounts by tier and status, and leases in flight."""
    pool: PoolClient = request.app.state.pool
    return dataclasses.asdict(await pool.stats())
