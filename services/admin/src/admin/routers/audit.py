"""The audit log: every change made through the admin API, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from grok2api_storage import AuditRepository
from pydantic import BaseModel

router = APIRouter(tags=["audit"])

MAX_OFFSET = 2**63 - 1
"""The largest offset the SQL stores take (a BIGINT); a larger one is a 400, not a 500."""


class AuditEntryPublic(BaseModel):
    at: datetime
    action: str
    target: str
    actor: str
    client: str
    detail: dict[str, Any]


class AuditPagePublic(BaseModel):
    items: list[AuditEntryPublic]
    total: int
    offset: int
    limit: int


@router.get("/audit")
async def list_audit(
    request: Request,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(50, ge=1, le=500),
) -> AuditPagePublic:
    """A page of audit entries, newest first; ``total`` counts every entry."""
    audit_log: AuditRepository = request.app.state.audit_log
    page = await audit_log.list(offset=offset, limit=limit)
    return AuditPagePublic(
        items=[
            AuditEntryPublic(
                at=e.at, action=e.action, target=e.target, actor=e.actor,
                client=e.client, detail=dict(e.detail),
            )
            for e in page.items
        ],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )
