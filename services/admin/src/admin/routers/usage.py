"""Usage of the API by client key: totals grouped by period, key, model or endpoint, the
records themselves (newest first, paged by keyset), and a CSV export of every matching
record. Each record is one client request as the gateway saw it, never its prompt or key.

Every route takes the same filters: ``key_id``, ``model``, ``endpoint`` (equalities) and
``since`` / ``until`` (ISO dates or times, UTC when no zone is given; ``since <= time <
until``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from grok2api_storage import errors as storage_errors
from grok2api_storage import protocols, records
from pydantic import BaseModel, Field

router = APIRouter(tags=["usage"])

EXPORT_PAGE = 1000
"""Records read from the store per page while a CSV export streams."""
CSV_COLUMNS = (
    "timestamp", "id", "request_id", "key_id", "key_name", "model", "endpoint", "status",
    "error_code", "prompt_tokens", "completion_tokens", "cost_units", "latency_ms", "ttft_ms",
    "account_tier",
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting so is read as a formula by spreadsheets: it gets a leading quote."""


def _usage(request: Request) -> protocols.UsageRepository:
    usage: protocols.UsageRepository | None = getattr(request.app.state, "usage", None)
    if usage is None:
        raise HTTPException(status_code=503, detail="this admin app has no usage store")
    return usage


Usage = Annotated[protocols.UsageRepository, Depends(_usage)]


def _when(text: str | None, name: str) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise HTTPException(
            status_code=400,
            detail=f"{name} {text!r}: give an ISO date or time, e.g. 2026-01-31 or "
            "2026-01-31T12:00:00Z",
        ) from exc
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def filters(
    key_id: Annotated[str | None, Query(description="Only this client key's requests.")] = None,
    model: Annotated[str | None, Query(description="Only this model.")] = None,
    endpoint: Annotated[
        str | None, Query(description="Only this route, e.g. /v1/chat/completions.")
    ] = None,
    since: Annotated[str | None, Query(description="From this time on (ISO; UTC).")] = None,
    until: Annotated[str | None, Query(description="Before this time (ISO; UTC).")] = None,
) -> records.UsageFilter:
    start, end = _when(since, "since"), _when(until, "until")
    if start is not None and end is not None and start >= end:
        raise HTTPException(status_code=400, detail="since must be before until")
    return records.UsageFilter(
        since=start, until=end, key_id=key_id or None, model=model or None,
        endpoint=endpoint or None,
    )  # fmt: skip


Filters = Annotated[records.UsageFilter, Depends(filters)]


def grouping(text: str) -> tuple[records.UsageGrouping, ...]:
    """``day,model`` → (DAY, MODEL); unknown, repeated or hour with day → 400."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    choices = ", ".join(g.value for g in records.UsageGrouping)
    found: list[records.UsageGrouping] = []
    for name in names:
        try:
            group = records.UsageGrouping(name)
        except ValueError as exc:
            raise HTTPException(
                status_code=400, detail=f"group_by {name!r}: choose from {choices}"
            ) from exc
        if group in found:
            raise HTTPException(status_code=400, detail=f"group_by names {name} twice")
        found.append(group)
    if {records.UsageGrouping.DAY, records.UsageGrouping.HOUR} <= set(found):
        raise HTTPException(status_code=400, detail="group_by takes day or hour, not both")
    return tuple(found)


class BucketPublic(BaseModel):
    period: datetime | None = Field(None, description="UTC start of the hour or day.")
    key_id: str | None = None
    key_name: str | None = Field(None, description="The key's name, when grouped by key.")
    model: str | None = None
    endpoint: str | None = None
    requests: int
    errors: int = Field(..., description="Requests answered with a status of 400 or more.")
    prompt_tokens: int
    completion_tokens: int
    cost_units: int
    latency_ms_avg: float | None


class SummaryPublic(BaseModel):
    group_by: list[str]
    items: list[BucketPublic]


class RecordPublic(BaseModel):
    id: str
    timestamp: datetime
    key_id: str | None
    key_name: str | None
    model: str
    endpoint: str
    status: int
    error_code: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_units: int
    latency_ms: float
    ttft_ms: float | None
    account_tier: str | None
    request_id: str


class RecordPage(BaseModel):
    items: list[RecordPublic]
    next_before: str | None = Field(
        None, description="Pass as ``before`` for the next (older) page; null: no more."
    )


async def _key_names(request: Request) -> dict[str, str]:
    keys: protocols.ClientKeyRepository | None = getattr(request.app.state, "client_keys", None)
    if keys is None:
        return {}
    return {key.id: key.name for key in await keys.list()}


def _bucket(bucket: records.UsageBucket, names: dict[str, str]) -> BucketPublic:
    return BucketPublic(
        period=bucket.period, key_id=bucket.key_id,
        key_name=names.get(bucket.key_id) if bucket.key_id is not None else None,
        model=bucket.model, endpoint=bucket.endpoint, requests=bucket.requests,
        errors=bucket.errors, prompt_tokens=bucket.prompt_tokens,
        completion_tokens=bucket.completion_tokens, cost_units=bucket.cost_units,
        latency_ms_avg=round(bucket.latency_ms_total / bucket.requests, 1)
        if bucket.requests else None,
    )  # fmt: skip


def _record(record: records.UsageRecord, names: dict[str, str]) -> RecordPublic:
    return RecordPublic(
        id=record.id, timestamp=record.timestamp, key_id=record.key_id,
        key_name=names.get(record.key_id) if record.key_id is not None else None,
        model=record.model, endpoint=record.endpoint, status=record.status,
        error_code=record.error_code, prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens, cost_units=record.cost_units,
        latency_ms=record.latency_ms, ttft_ms=record.ttft_ms,
        account_tier=record.account_tier, request_id=record.request_id,
    )  # fmt: skip


@router.get("/usage/summary")
async def usage_summary(
    request: Request,
    usage: Usage,
    selected: Filters,
    group_by: Annotated[
        str,
        Query(description="Comma-separated: hour or day, key, model, endpoint; empty: one total."),
    ] = "",
) -> SummaryPublic:
    """Totals per group (periods ascending); one bucket for everything without group_by."""
    groups = grouping(group_by)
    buckets = await usage.summary(filters=selected, group_by=groups)
    names = await _key_names(request) if records.UsageGrouping.KEY in groups else {}
    return SummaryPublic(
        group_by=[g.value for g in groups], items=[_bucket(b, names) for b in buckets]
    )


@router.get("/usage/records")
async def usage_records(
    request: Request,
    usage: Usage,
    selected: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        str | None, Query(description="A record id: only records after it (older).")
    ] = None,
) -> RecordPage:
    """Matching records, newest first, ``limit`` at a time; 400 when ``before`` names no
    record."""
    try:
        found = await usage.list(filters=selected, limit=limit, before_id=before or None)
    except storage_errors.NotFoundError as exc:
        raise HTTPException(status_code=400, detail=f"before: {exc}") from exc
    names = await _key_names(request)
    return RecordPage(
        items=[_record(r, names) for r in found],
        next_before=found[-1].id if len(found) == limit else None,
    )


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(record: records.UsageRecord, names: dict[str, str]) -> str:
    values = {
        "timestamp": record.timestamp, "id": record.id, "request_id": record.request_id,
        "key_id": record.key_id, "key_name": names.get(record.key_id or ""),
        "model": record.model, "endpoint": record.endpoint, "status": record.status,
        "error_code": record.error_code, "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens, "cost_units": record.cost_units,
        "latency_ms": record.latency_ms, "ttft_ms": record.ttft_ms,
        "account_tier": record.account_tier,
    }  # fmt: skip
    return _line([_cell(values[column]) for column in CSV_COLUMNS])


def _line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


async def export_lines(
    usage: protocols.UsageRepository, selected: records.UsageFilter, names: dict[str, str]
) -> AsyncIterator[str]:
    """The header, then every matching record, newest first, read a page at a time."""
    yield _line(list(CSV_COLUMNS))
    before: str | None = None
    while True:
        page = await usage.list(filters=selected, limit=EXPORT_PAGE, before_id=before)
        for record in page:
            yield csv_row(record, names)
        if len(page) < EXPORT_PAGE:
            return
        before = page[-1].id


@router.get("/usage/export.csv")
async def usage_export(request: Request, usage: Usage, selected: Filters) -> StreamingResponse:
    """Every matching record as CSV (a header row, then newest first), streamed."""
    names = await _key_names(request)
    stamp = records.utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        export_lines(usage, selected, names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="grok2api-usage-{stamp}.csv"'},
    )
