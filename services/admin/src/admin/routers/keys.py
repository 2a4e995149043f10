"""Client API keys: list, create (the secret answered once, never again), change limits,
revoke. Only a key's hash is stored; listings carry its display prefix."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from grok2api_storage import errors as store_errors
from grok2api_storage import protocols, records
from pydantic import BaseModel, Field

from .. import audit

router = APIRouter(tags=["client keys"])


def _keys(request: Request) -> protocols.ClientKeyRepository:
    keys: protocols.ClientKeyRepository | None = getattr(request.app.state, "client_keys", None)
    if keys is None:
        raise HTTPException(status_code=503, detail="this admin app has no client-key store")
    return keys


Keys = Annotated[protocols.ClientKeyRepository, Depends(_keys)]


class ClientKeyCreate(BaseModel):
    name: str = Field(..., description="What the key is for (1 to 100 characters).")
    rate_limit_per_minute: int | None = Field(None, description="Requests a minute; null: none.")
    allowed_models: list[str] | None = Field(None, description="Models allowed; null: every one.")


class ClientKeyUpdate(BaseModel):
    name: str | None = None
    enabled: bool | None = None
    rate_limit_per_minute: int | None = None
    allowed_models: list[str] | None = None


class ClientKeyPublic(BaseModel):
    id: str
    name: str
    prefix: str
    enabled: bool
    created_at: datetime
    last_used_at: datetime | None
    rate_limit_per_minute: int | None
    allowed_models: list[str] | None


class ClientKeyCreated(BaseModel):
    item: ClientKeyPublic
    secret: str = Field(..., description="The key itself: shown in this answer only.")


def _public(record: records.ClientKeyRecord) -> ClientKeyPublic:
    return ClientKeyPublic(
        id=record.id,
        name=record.name,
        prefix=record.prefix,
        enabled=record.enabled,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        rate_limit_per_minute=record.limits.rate_limit_per_minute,
        allowed_models=(
            list(record.limits.allowed_models) if record.limits.allowed_models is not None else None
        ),
    )


@router.get("/keys")
async def list_keys(keys: Keys) -> dict[str, list[ClientKeyPublic]]:
    """Every client key, oldest first, revoked ones included (``enabled`` false)."""
    return {"items": [_public(record) for record in await keys.list()]}


@router.post("/keys", status_code=201)
async def create_key(body: ClientKeyCreate, request: Request, keys: Keys) -> ClientKeyCreated:
    """A new key; its secret is in this answer and nowhere else, ever."""
    try:
        created = await keys.create(
            name=body.name,
            limits=records.ClientKeyLimits(
                rate_limit_per_minute=body.rate_limit_per_minute,
                allowed_models=(
                    tuple(body.allowed_models) if body.allowed_models is not None else None
                ),
            ),
        )
    except store_errors.InvalidRecordError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    await audit.audit(request, "client_key.create", created.record.id, name=created.record.name)
    return ClientKeyCreated(item=_public(created.record), secret=created.plain_key)


@router.patch("/keys/{key_id}")
async def update_key(
    key_id: str, body: ClientKeyUpdate, request: Request, keys: Keys
) -> ClientKeyPublic:
    """Rename, re-enable or change limits; a field sent as null clears a limit."""
    sent: dict[str, Any] = body.model_dump(exclude_unset=True)
    for required in ("name", "enabled"):
        if sent.get(required, "") is None:
            raise HTTPException(status_code=400, detail=f"{required} cannot be null")
    if sent.get("allowed_models") is not None:
        sent["allowed_models"] = tuple(sent["allowed_models"])
    try:
        record = await keys.update(key_id, records.ClientKeyPatch(**sent))
    except store_errors.NotFoundError as exc:
        raise HTTPException(status_code=404, detail=f"no client key {key_id!r}") from exc
    except store_errors.InvalidRecordError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    await audit.audit(request, "client_key.update", key_id, fields=sorted(sent))
    return _public(record)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, request: Request, keys: Keys) -> ClientKeyPublic:
    """Revoke: the key is refused from now on; its record stays for the audit trail."""
    record = await keys.revoke(key_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no client key {key_id!r}")
    await audit.audit(request, "client_key.revoke", key_id)
    return _public(record)
