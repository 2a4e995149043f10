"""The dashboard's figures from the services' own metrics, with a short history for live
charts (poll ``GET /dashboard``; each answer carries every point kept so far)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from .. import dashboard

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard")
async def dashboard_figures(request: Request) -> dict[str, Any]:
    """Request and error rates, latency and time to first token by model, pool health and
    media queue depth, plus the recent history of the charted figures."""
    board: dashboard.Dashboard | None = getattr(request.app.state, "dashboard", None)
    if board is None:
        raise HTTPException(status_code=503, detail="this admin app has no metrics source")
    return await board.figures()
