"""Batch jobs over accounts: start, state, live progress (server-sent events), cancel.

``GET /batches/{id}/events`` is a ``text/event-stream`` a browser ``EventSource`` follows:
each event has an ``id`` (``Last-Event-ID`` resumes after it on reconnect), a name
(``progress`` or ``summary``) and the JSON of ``admin.batches`` as data; the stream ends
after the ``summary``. Any replica can serve it (the events live in the batch log).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from .. import audit, batches
from ..errors import AdminError

router = APIRouter(tags=["batches"])

RETRY_MS = 2000
KEEPALIVE_SECONDS = 15.0


class BatchCreate(BaseModel):
    action: Literal[
        "refresh_usage", "accept_tos", "set_birth_date", "enable_nsfw", "clear_assets"
    ]
    account_ids: list[str] = Field([], description="The accounts; or all = true.")
    all: bool = Field(False, description="Every account (capped by the performance limits).")

    @model_validator(mode="after")
    def _some_accounts(self) -> BatchCreate:
        if not self.all and not self.account_ids:
            raise ValueError("name account_ids, or send all: true")
        return self


async def _state(request: Request, batch_id: str) -> dict[str, Any]:
    state = await batches.of(request.app).get(batch_id)
    if state is None:
        raise AdminError(404, f"no batch {batch_id!r}", code="batch_not_found")
    return state


@router.post("/batches", status_code=202)
async def start_batch(body: BatchCreate, request: Request) -> dict[str, Any]:
    """Start the action over the accounts; answers the batch's state (with its ``id``)."""
    state = await batches.of(request.app).start(
        batches.Action(body.action), body.account_ids, all_accounts=body.all
    )
    await audit.audit(
        request, f"batch.{body.action}", state["id"],
        accounts="all" if body.all else len(body.account_ids),
    )  # fmt: skip
    return state


@router.get("/batches/{batch_id}")
async def get_batch(batch_id: str, request: Request) -> dict[str, Any]:
    """``status`` is running, finished, cancelled or failed; ``summary`` once it ended."""
    return await _state(request, batch_id)


@router.delete("/batches/{batch_id}", status_code=202)
async def cancel_batch(batch_id: str, request: Request) -> dict[str, Any]:
    """Ask a running batch to stop; its ``summary`` event then says ``cancelled``."""
    state = await batches.of(request.app).cancel(batch_id)
    if state is None:
        raise AdminError(404, f"no batch {batch_id!r}", code="batch_not_found")
    await audit.audit(request, "batch.cancel", batch_id)
    return state


@router.get("/batches/{batch_id}/events", response_class=StreamingResponse)
async def batch_events(batch_id: str, request: Request, after: str = "") -> StreamingResponse:
    """Server-sent events: every progress event (from the first, or after
    ``Last-Event-ID`` / ``?after=``), then the summary, then the stream ends."""
    await _state(request, batch_id)
    resume = request.headers.get("last-event-id") or after
    log = batches.of(request.app).log
    return StreamingResponse(
        event_stream(log.follow(batch_id, after=resume)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def event_stream(events: AsyncIterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[str]:
    """The events as SSE, with a comment line after ``KEEPALIVE_SECONDS`` of silence (a slow
    upstream call) so proxies do not drop the connection as idle."""
    yield f"retry: {RETRY_MS}\n\n"
    upcoming: asyncio.Future[tuple[str, dict[str, Any]]] | None = None
    try:
        while True:
            # one pending read, waited for in slices: a timeout must not cancel the read
            upcoming = asyncio.ensure_future(anext(events))
            while not (await asyncio.wait({upcoming}, timeout=KEEPALIVE_SECONDS))[0]:
                yield ": keepalive\n\n"
            try:
                event_id, event = upcoming.result()
            except StopAsyncIteration:
                return
            yield f"id: {event_id}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
    finally:
        if upcoming is not None and not upcoming.done():
            upcoming.cancel()  # the browser went away mid-wait
            await asyncio.gather(upcoming, return_exceptions=True)
        await events.aclose()  # type: ignore[attr-defined]
