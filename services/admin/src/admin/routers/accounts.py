"""Accounts: list (server-side paging, filters, search, sort), add, edit, delete, import,
and one account's upstream assets. Everything goes through the token pool's API.

Credentials are write-only: an account is answered with ``credential`` masked (first and
last characters), never in full. An account a Kubernetes ``GrokToken`` manages (the
reserved tag ``k8s:<namespace>/<name>``, see ``accounts.MANAGED_TAG_PREFIX``) is listed
with ``managed: true`` and cannot be edited or deleted here (409): the object is its
source of truth, and the operator would undo the change.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from grok2api_poolclient import accounts, declared, errors, formats
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.leases import Tier
from pydantic import BaseModel, Field, ValidationError

from .. import audit, batches
from ..errors import AdminError

router = APIRouter(tags=["accounts"])

MAX_IMPORT_BYTES = 8 * 1024 * 1024


def _pool(request: Request) -> PoolClient:
    pool: PoolClient = request.app.state.pool
    return pool


Pool = Annotated[PoolClient, Depends(_pool)]
TierName = Literal["basic", "super", "heavy"]


class QuotaPublic(BaseModel):
    mode: str
    remaining: int
    total: int
    window_seconds: int
    reset_at: float | None = Field(None, description="Unix seconds the window refills.")
    source: str = Field(..., description="default, estimated or real.")


class AccountPublic(BaseModel):
    id: str
    credential: str = Field(..., description="Masked: first and last characters only.")
    tier: str
    status: str = Field(..., description="active, cooling, invalid or disabled.")
    enabled: bool
    tags: list[str] = Field(..., description="Without the reserved k8s: mark.")
    note: str
    quota: list[QuotaPublic]
    inflight: int
    failures: int
    last_used_at: float | None
    last_refresh_at: float | None
    cooling_until: float | None
    created_at: float
    updated_at: float
    refused_products: list[str]
    managed: bool = Field(..., description="A GrokToken object manages it: read-only here.")
    managed_by: str | None = Field(None, description="namespace/name of that GrokToken.")


class AccountList(BaseModel):
    items: list[AccountPublic]
    total: int
    page: int
    page_size: int
    pages: int


class AccountCreate(BaseModel):
    credential: str = Field(..., description="The sso cookie value (a leading sso= is fine).")
    tier: TierName | None = Field(None, description="Inferred by a usage refresh if omitted.")
    tags: list[str] = []
    note: str = ""
    enabled: bool = True


class AccountUpdate(BaseModel):
    tier: TierName | None = None
    tags: list[str] | None = None
    note: str | None = None
    enabled: bool | None = None


class ImportBody(BaseModel):
    text: str = Field(..., description="Credential lines or a token.json pool file.")
    tier: TierName | None = Field(None, description="Tier of entries that carry none.")
    tags: list[str] = Field([], description="Added to every entry.")


def public(account: accounts.Account) -> AccountPublic:
    return AccountPublic(
        id=account.account_id,
        credential=account.credential_masked,
        tier=account.tier.value,
        status=account.status.value,
        enabled=account.enabled,
        tags=[t for t in account.tags if not t.startswith(accounts.MANAGED_TAG_PREFIX)],
        note=account.note,
        quota=[
            QuotaPublic(
                mode=w.mode, remaining=w.remaining, total=w.total,
                window_seconds=w.window_seconds, reset_at=w.reset_at, source=w.source.value,
            )
            for w in account.quota
        ],
        inflight=account.inflight,
        failures=account.fail_count,
        last_used_at=account.last_used_at,
        last_refresh_at=account.last_refresh_at,
        cooling_until=account.cooling_until,
        created_at=account.created_at,
        updated_at=account.updated_at,
        refused_products=list(account.refused_products),
        managed=account.managed_by is not None,
        managed_by=account.managed_by,
    )


def _pool_error(exc: errors.PoolError) -> AdminError:
    if isinstance(exc, errors.AccountNotFound):
        return AdminError(404, str(exc), code="account_not_found")
    if isinstance(exc, errors.InvalidRequest):
        return AdminError(400, str(exc))
    return AdminError(503, f"token pool: {exc}", type="api_error", code="pool_unavailable")


def _plain_tags(tags: list[str]) -> list[str]:
    if any(t.strip().startswith(accounts.MANAGED_TAG_PREFIX) for t in tags):
        raise AdminError(
            400, f"tags starting with {accounts.MANAGED_TAG_PREFIX!r} are reserved for "
            "accounts a GrokToken object manages", code="reserved_tag",
        )  # fmt: skip
    return tags


def _refuse_managed(account: accounts.Account) -> None:
    reason = declared.refusal(account)
    if reason is not None:
        raise AdminError(409, reason, type="conflict_error", code="account_managed")


@router.get("/accounts")
async def list_accounts(
    pool: Pool,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: accounts.AccountSort = accounts.AccountSort.ID,
    order: Literal["asc", "desc"] = "asc",
    q: Annotated[str, Query(max_length=200, description="In the id or note.")] = "",
    tier: TierName | None = None,
    status: accounts.AccountStatus | None = None,
    tag: str = "",
) -> AccountList:
    """One page of accounts matching the filters, sorted (ties by id)."""
    try:
        found = await pool.list_accounts(
            tier=Tier(tier) if tier else None, status=status, tag=tag or None,
            search=q or None, page_size=page_size, page_token=str((page - 1) * page_size),
            sort=sort, descending=order == "desc",
        )  # fmt: skip
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    return AccountList(
        items=[public(a) for a in found.accounts],
        total=found.total,
        page=page,
        page_size=page_size,
        pages=max(1, -(-found.total // page_size)),
    )


@router.post("/accounts", status_code=201)
async def add_account(body: AccountCreate, request: Request, pool: Pool) -> AccountPublic:
    """Add one account; a credential already in the pool updates that account."""
    tags = _plain_tags(body.tags)
    try:
        existing = await pool.list_accounts(search=body.credential.strip(), page_size=1)
        for match in existing.accounts:  # a pasted credential finds its account
            _refuse_managed(match)
        account = await pool.upsert_account(
            credential=body.credential, tier=Tier(body.tier) if body.tier else None,
            tags=tags, note=body.note, enabled=body.enabled,
        )  # fmt: skip
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    await audit.audit(request, "account.add", account.account_id, tier=account.tier.value)
    return public(account)


@router.patch("/accounts/{account_id}")
async def update_account(
    account_id: str, body: AccountUpdate, request: Request, pool: Pool
) -> AccountPublic:
    """Change tier, tags (replaced), note or enabled; fields left out keep their value."""
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    try:
        _refuse_managed(await pool.get_account(account_id))
        account = await pool.upsert_account(
            account_id=account_id, tier=Tier(body.tier) if body.tier else None,
            tags=_plain_tags(body.tags) if body.tags is not None else None,
            note=body.note, enabled=body.enabled,
        )  # fmt: skip
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    await audit.audit(request, "account.update", account_id, fields=sorted(sent))
    return public(account)


@router.delete("/accounts/{account_id}", status_code=204)
async def delete_account(account_id: str, request: Request, pool: Pool) -> None:
    """Remove the account from the pool."""
    try:
        _refuse_managed(await pool.get_account(account_id))
        await pool.remove_account(account_id)
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    await audit.audit(request, "account.delete", account_id)


# The import reads its body by hand (JSON or a form with a file), so it is described here.
_IMPORT_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "Credential lines or a token.json pool file."},
        "text": {"type": "string", "description": "Pasted instead of a file."},
        "tier": {"type": "string", "enum": list(get_args(TierName))},
        "tags": {"type": "string", "description": "Comma-separated."},
    },
}  # fmt: skip
_IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ImportBody.model_json_schema()},
        "multipart/form-data": {"schema": _IMPORT_FORM},
    },
}


@router.post("/accounts/import", status_code=202, openapi_extra={"requestBody": _IMPORT_BODY})
async def import_accounts(request: Request) -> dict[str, Any]:
    """Import many accounts as a batch job: JSON ``{"text", "tier", "tags"}`` with pasted
    text, or a multipart form with a ``file`` (credential lines or a ``token.json`` pool
    file) and optional ``tier`` and ``tags`` (comma-separated) fields. Answers the batch
    (``id``, ``total``); follow it at ``/batches/{id}/events``."""
    body = await _import_body(request)
    try:
        entries = formats.parse(body.text)
    except formats.FormatError as exc:
        raise AdminError(400, str(exc), code="bad_import_format") from exc
    if not entries:
        raise AdminError(400, "no credentials found in the import", code="bad_import_format")
    tags = _plain_tags(body.tags)
    state = await batches.of(request.app).start_import(
        entries, tier=Tier(body.tier) if body.tier else None, tags=tags
    )
    await audit.audit(request, "account.import", state["id"], entries=len(entries))
    return state


async def _import_body(request: Request) -> ImportBody:
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        try:
            return ImportBody.model_validate_json(await request.body())
        except ValidationError as exc:
            raise AdminError(400, f"import body: {exc.errors()[0]['msg']}") from exc
    form = await request.form()
    upload = form.get("file")
    text = form.get("text")
    if upload is not None and not isinstance(upload, str):
        raw = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            raise AdminError(413, "the import file is larger than 8 MiB", code="too_large")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AdminError(400, "the import file is not UTF-8 text") from exc
    tier = form.get("tier") or None
    tags = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
    try:
        return ImportBody.model_validate({"text": text or "", "tier": tier, "tags": tags})
    except ValidationError as exc:
        raise AdminError(400, f"import form: {exc.errors()[0]['msg']}") from exc


@router.get("/accounts/{account_id}/assets")
async def list_assets(
    account_id: str,
    pool: Pool,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    page_token: str = "",
) -> dict[str, Any]:
    """One page of the account's upstream assets; ``next_page_token`` "" on the last."""
    try:
        found = await pool.list_assets(account_id, page_size=page_size, page_token=page_token)
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    return {
        "items": [
            {"id": a.asset_id, "name": a.name, "mime_type": a.mime_type, "key": a.key,
             "size": a.size, "created_at": a.created_at}
            for a in found.assets
        ],
        "next_page_token": found.next_page_token,
    }
