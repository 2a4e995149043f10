"""Client API keys: list, show (with today's and this month's use), create (the secret
answered once, never again), change name, state and limits, revoke. Only a key's hash is
stored; listings carry its display prefix. Every change is audited, never the secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from grok2api_storage import errors as store_errors
from grok2api_storage import protocols, records
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import audit

router = APIRouter(tags=["client keys"])

MAX_NAMES = 200


def _keys(request: Request) -> protocols.ClientKeyRepository:
    keys: protocols.ClientKeyRepository | None = getattr(request.app.state, "client_keys", None)
    if keys is None:
        raise HTTPException(status_code=503, detail="this admin app has no client-key store")
    return keys


Keys = Annotated[protocols.ClientKeyRepository, Depends(_keys)]
Count = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _names(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    names = list(dict.fromkeys(name.strip() for name in value))
    if "" in names:
        raise ValueError("names must not be empty")
    if not names:
        raise ValueError("give at least one name, or null for no restriction")
    return names


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_models: list[str] | None = Field(
        None, max_length=MAX_NAMES, description="Models the key may use; null: every model."
    )
    rate_limit_per_minute: Count | None = Field(
        None, description="Requests in any rolling minute; null: no limit."
    )
    max_concurrent: Count | None = Field(
        None, description="Requests in flight at once, across replicas; null: no limit."
    )
    quota_unit: records.QuotaUnit = Field(
        records.QuotaUnit.REQUESTS,
        description="What daily_quota and monthly_quota count: requests or cost (units).",
    )
    daily_quota: Count | None = Field(None, description="Units per UTC day; null: none.")
    monthly_quota: Count | None = Field(None, description="Units per UTC month; null: none.")
    account_tags: list[str] | None = Field(
        None, max_length=MAX_NAMES,
        description="Only accounts carrying one of these tags serve the key; null: any.",
    )  # fmt: skip
    expires_at: datetime | None = Field(
        None, description="When the key stops working (UTC when no zone is given); null: never."
    )

    _check_names = field_validator("allowed_models", "account_tags")(_names)
    _check_time = field_validator("expires_at")(_aware)


class ClientKeyCreate(_Limits):
    name: Name = Field(..., description="What the key is for (1 to 200 characters).")


class ClientKeyUpdate(_Limits):
    """Only the fields sent change; a limit sent as null is cleared."""

    name: Name | None = None
    enabled: bool | None = None
    quota_unit: records.QuotaUnit | None = None  # type: ignore[assignment]


class ClientKeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    state: str = Field(..., description="active, disabled, revoked or expired.")
    enabled: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    allowed_models: list[str] | None
    rate_limit_per_minute: int | None
    max_concurrent: int | None
    quota_unit: str
    daily_quota: int | None
    monthly_quota: int | None
    account_tags: list[str] | None
    expires_at: datetime | None


class UsageTotals(BaseModel):
    since: datetime
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_units: int
    used: int = Field(..., description="What the quota counts (requests or cost units).")
    quota: int | None


class ClientKeyDetail(ClientKeyPublic):
    today: UsageTotals = Field(..., description="Since UTC midnight.")
    month: UsageTotals = Field(..., description="Since the first of the month, UTC.")


class ClientKeyCreated(BaseModel):
    item: ClientKeyPublic
    secret: str = Field(..., description="The key itself: shown in this answer only.")


def public(record: records.ClientKeyRecord, now: datetime | None = None) -> ClientKeyPublic:
    limits = record.limits
    return ClientKeyPublic(
        id=record.id,
        name=record.name,
        prefix=record.prefix,
        state=record.refusal(now or records.utcnow()) or "active",
        enabled=record.enabled,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
        allowed_models=list(limits.allowed_models) if limits.allowed_models is not None else None,
        rate_limit_per_minute=limits.rate_limit_per_minute,
        max_concurrent=limits.max_concurrent,
        quota_unit=limits.quota_unit.value,
        daily_quota=limits.daily_quota,
        monthly_quota=limits.monthly_quota,
        account_tags=list(limits.account_tags) if limits.account_tags is not None else None,
        expires_at=limits.expires_at,
    )


def _invalid(exc: store_errors.InvalidRecordError) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


def _not_found(key_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no client key {key_id!r}")


def _as_tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in values.items()
    }


@router.get("/keys")
async def list_keys(keys: Keys) -> dict[str, list[ClientKeyPublic]]:
    """Every client key, oldest first, revoked ones included (``state`` says which)."""
    now = records.utcnow()
    return {"items": [public(record, now) for record in await keys.list()]}


async def _totals(
    usage: protocols.UsageRepository | None, key: records.ClientKeyRecord, since: datetime,
    quota: int | None,
) -> UsageTotals:  # fmt: skip
    bucket = records.UsageBucket()
    if usage is not None:
        found = await usage.summary(filters=records.UsageFilter(key_id=key.id, since=since))
        bucket = found[0] if found else bucket
    cost = key.limits.quota_unit is records.QuotaUnit.COST
    return UsageTotals(
        since=since, requests=bucket.requests, errors=bucket.errors,
        prompt_tokens=bucket.prompt_tokens, completion_tokens=bucket.completion_tokens,
        cost_units=bucket.cost_units, used=bucket.cost_units if cost else bucket.requests,
        quota=quota,
    )  # fmt: skip


@router.get("/keys/{key_id}")
async def show_key(key_id: str, request: Request, keys: Keys) -> ClientKeyDetail:
    """One key, with what it used today and this month (UTC) against its quotas."""
    record = await keys.get(key_id)
    if record is None:
        raise _not_found(key_id)
    now = records.utcnow()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    usage: protocols.UsageRepository | None = getattr(request.app.state, "usage", None)
    return ClientKeyDetail(
        **public(record, now).model_dump(),
        today=await _totals(usage, record, day, record.limits.daily_quota),
        month=await _totals(usage, record, day.replace(day=1), record.limits.monthly_quota),
    )


@router.post("/keys", status_code=201)
async def create_key(body: ClientKeyCreate, request: Request, keys: Keys) -> ClientKeyCreated:
    """A new key (``g2a-…``); its secret is in this answer and nowhere else, ever."""
    limits = records.ClientKeyLimits(**_as_tuples(body.model_dump(exclude={"name"})))
    try:
        created = await keys.create(name=body.name, limits=limits)
    except store_errors.InvalidRecordError as exc:
        raise _invalid(exc) from exc
    await audit.audit(
        request, "client_key.create", created.record.id, name=created.record.name,
        key_prefix=created.record.prefix, **body.model_dump(exclude={"name"}, exclude_none=True),
    )  # fmt: skip
    return ClientKeyCreated(item=public(created.record), secret=created.plain_key)


@router.patch("/keys/{key_id}")
async def update_key(
    key_id: str, body: ClientKeyUpdate, request: Request, keys: Keys
) -> ClientKeyPublic:
    """Rename, enable or disable, or change limits: only the fields sent change, and a
    limit sent as null is cleared. A revoked key cannot be enabled again (400)."""
    sent: dict[str, Any] = body.model_dump(exclude_unset=True)
    for required in ("name", "enabled", "quota_unit"):
        if required in sent and sent[required] is None:
            raise HTTPException(status_code=400, detail=f"{required} cannot be null")
    try:
        record = await keys.update(key_id, records.ClientKeyPatch(**_as_tuples(sent)))
    except store_errors.NotFoundError as exc:
        raise _not_found(key_id) from exc
    except store_errors.InvalidRecordError as exc:
        raise _invalid(exc) from exc
    await audit.audit(request, "client_key.update", key_id, fields=sorted(sent), **sent)
    return public(record)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, request: Request, keys: Keys) -> ClientKeyPublic:
    """Revoke for good: the key is refused from now on; its record and usage stay."""
    record = await keys.revoke(key_id)
    if record is None:
        raise _not_found(key_id)
    await audit.audit(request, "client_key.revoke", key_id, name=record.name)
    return public(record)
