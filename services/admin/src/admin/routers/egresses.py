"""Egresses, the ways out to grok.com (issue #20): list with state, load and clearance;
add, edit (paste a clearance), remove; test through each (a batch followed over SSE at
``/batches/{id}/events``); refresh a clearance through the solver now.

Proxy URLs and clearance cookies are write-only: an egress is answered with its proxy as
``scheme://host:port`` and its clearance as where it came from and until when, never the
cookies. Audit entries name the fields that changed, never their values. The egress the
pool builds from the settings (``from_settings``) is read-only here (409): change the
settings, or add egresses, which replace it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from grok2api_poolclient import egresses, errors
from grok2api_poolclient.client import PoolClient
from grok2api_settings.live import LiveSettings
from grok2api_storage import masking
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import audit, batches
from ..errors import AdminError

router = APIRouter(tags=["egresses"])

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _pool(request: Request) -> PoolClient:
    pool: PoolClient = request.app.state.pool
    return pool


Pool = Annotated[PoolClient, Depends(_pool)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Cap = Annotated[int, Field(ge=0, le=100_000, description="Calls at once through it; 0: no cap.")]


def _proxy(value: str | None) -> str | None:
    """A proxy URL the pool can use, or "" (direct). The message never repeats the URL."""
    if not value:
        return value
    try:
        parts = urlsplit(value.strip())
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError("not a URL (scheme://[user:password@]host:port)") from exc
    if parts.scheme not in PROXY_SCHEMES:
        raise ValueError(f"the scheme must be one of {', '.join(PROXY_SCHEMES)}")
    if not host:
        raise ValueError("the URL names no host")
    return value.strip()


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _check_proxies = field_validator("proxy_url", "asset_proxy_url", check_fields=False)(_proxy)


class EgressCreate(_Fields):
    name: Name
    proxy_url: str = Field(
        "", max_length=2000,
        description="http(s)://, socks5:// or socks5h:// (remote DNS), credentials allowed; "
        "empty: direct. Write-only.",
    )  # fmt: skip
    asset_proxy_url: str = Field(
        "", max_length=2000, description="For asset downloads; empty: the same as proxy_url."
    )
    tags: list[str] = Field([], description="Accounts carrying one of them prefer it.")
    enabled: bool = True
    max_inflight: Cap = 0
    browser: str = Field("", max_length=64, description="Fingerprint; empty: security.browser.")
    user_agent: str = Field("", max_length=1000, description="Empty: the setting's.")
    clearance_cookies: str = Field(
        "", max_length=20_000,
        description="A pasted Cookie header or bare cf_clearance value, obtained through this "
        "egress with user_agent. Write-only.",
    )  # fmt: skip


class EgressUpdate(_Fields):
    """Only the fields sent change; ``clearance_cookies: ""`` forgets the clearance."""

    name: Name | None = None
    proxy_url: str | None = Field(None, max_length=2000, description="Write-only.")
    asset_proxy_url: str | None = Field(None, max_length=2000)
    tags: list[str] | None = None
    enabled: bool | None = None
    max_inflight: Cap | None = None
    browser: str | None = Field(None, max_length=64)
    user_agent: str | None = Field(None, max_length=1000)
    clearance_cookies: str | None = Field(None, max_length=20_000, description="Write-only.")


class ClearancePublic(BaseModel):
    source: str = Field(..., description="manual (pasted), solver or settings.")
    user_agent: str
    obtained_at: float = Field(..., description="Unix seconds; 0 when unknown.")
    expires_at: float | None


class EgressPublic(BaseModel):
    id: str
    name: str
    proxy: str = Field(..., description="scheme://host:port, or direct; never credentials.")
    asset_proxy: str
    tags: list[str]
    enabled: bool
    max_inflight: int
    browser: str
    user_agent: str
    clearance: ClearancePublic | None = Field(..., description="Never the cookies.")
    state: egresses.EgressState
    bound_accounts: int
    inflight: int
    calls: int
    challenges: int
    challenge_rate: float
    latency_ms: float
    last_error: str
    from_settings: bool = Field(..., description="Built from the settings: read-only here.")
    created_at: float
    updated_at: float


class EgressList(BaseModel):
    items: list[EgressPublic]
    solver: bool = Field(..., description="egress.solver_url is set (refreshes can run).")


class RefreshPublic(BaseModel):
    egress_id: str
    result: egresses.RefreshResult
    message: str


def public(egress: egresses.Egress) -> EgressPublic:
    clearance = egress.clearance
    return EgressPublic(
        id=egress.id, name=egress.name, proxy=egress.proxy_masked or "direct",
        asset_proxy=egress.asset_proxy_masked, tags=list(egress.tags), enabled=egress.enabled,
        max_inflight=egress.max_inflight, browser=egress.browser, user_agent=egress.user_agent,
        clearance=ClearancePublic(
            source=clearance.source, user_agent=clearance.user_agent,
            obtained_at=clearance.obtained_at, expires_at=clearance.expires_at,
        ) if clearance is not None else None,
        state=egress.state, bound_accounts=egress.bound_accounts, inflight=egress.inflight,
        calls=egress.calls, challenges=egress.challenges, challenge_rate=egress.challenge_rate,
        latency_ms=egress.latency_ms, last_error=egress.last_error,
        from_settings=egress.from_settings, created_at=egress.created_at,
        updated_at=egress.updated_at,
    )  # fmt: skip


def _pool_error(exc: errors.PoolError, *secrets: str | None) -> AdminError:
    message = str(exc)
    for secret in secrets:  # a second line of defence: the pool's messages name no secret
        if secret:
            message = message.replace(secret, masking.mask_proxy(secret))
    if isinstance(exc, errors.EgressNotFound):
        return AdminError(404, message, code="egress_not_found")
    if isinstance(exc, errors.InvalidRequest):
        return AdminError(400, message)
    return AdminError(503, f"token pool: {message}", type="api_error", code="pool_unavailable")


async def _listed(pool: PoolClient) -> tuple[egresses.Egress, ...]:
    try:
        return await pool.list_egresses()
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc


async def _existing(pool: PoolClient, egress_id: str) -> egresses.Egress:
    for egress in await _listed(pool):
        if egress.id == egress_id:
            return egress
    raise AdminError(404, f"no egress {egress_id!r}", code="egress_not_found")


def _refuse_settings_egress(egress: egresses.Egress) -> None:
    if egress.from_settings:
        raise AdminError(
            409, f"egress {egress.name!r} is built from the settings (network.base_proxy_url, "
            "network.asset_proxy_url, security.cf_clearance): change them there, or add "
            "egresses here, which replace it", type="conflict_error", code="egress_from_settings",
        )  # fmt: skip


def _refuse_taken_name(listed: tuple[egresses.Egress, ...], name: str, own_id: str = "") -> None:
    if any(e.name == name and e.id != own_id and not e.from_settings for e in listed):
        raise AdminError(
            409, f"an egress named {name!r} exists already", type="conflict_error",
            code="egress_name_taken",
        )  # fmt: skip


@router.get("/egresses")
async def list_egresses(request: Request, pool: Pool) -> EgressList:
    """Every egress by name, with its state, load and clearance (never cookies)."""
    settings: LiveSettings = request.app.state.settings
    return EgressList(
        items=[public(e) for e in await _listed(pool)],
        solver=bool(settings.current.egress.solver_url),
    )


@router.post("/egresses", status_code=201)
async def add_egress(body: EgressCreate, request: Request, pool: Pool) -> EgressPublic:
    """Add an egress; a pasted ``clearance_cookies`` is its manual clearance for
    ``user_agent``. 409 when the name is taken."""
    _refuse_taken_name(await _listed(pool), body.name)
    try:
        egress = await pool.add_egress(
            name=body.name, proxy_url=body.proxy_url, asset_proxy_url=body.asset_proxy_url,
            tags=body.tags, enabled=body.enabled, max_inflight=body.max_inflight,
            browser=body.browser, user_agent=body.user_agent,
            clearance_cookies=body.clearance_cookies,
        )  # fmt: skip
    except errors.PoolError as exc:
        raise _pool_error(exc, body.proxy_url, body.asset_proxy_url) from exc
    await audit.audit(
        request, "egress.add", egress.id, name=egress.name, proxy=egress.proxy_masked,
        clearance="pasted" if body.clearance_cookies else "none",
    )  # fmt: skip
    return public(egress)


@router.patch("/egresses/{egress_id}")
async def update_egress(
    egress_id: str, body: EgressUpdate, request: Request, pool: Pool
) -> EgressPublic:
    """Change the fields sent (tags replaced); paste a clearance with ``clearance_cookies``,
    or send it empty to forget it. Its accounts rebind when it is disabled."""
    sent = body.model_dump(exclude_unset=True)
    for required in ("name", "enabled", "max_inflight"):
        if required in sent and sent[required] is None:
            raise AdminError(400, f"{required} cannot be null", code="invalid_value")
    listed = await _listed(pool)
    current = next((e for e in listed if e.id == egress_id), None)
    if current is None:
        raise AdminError(404, f"no egress {egress_id!r}", code="egress_not_found")
    _refuse_settings_egress(current)
    if body.name is not None:
        _refuse_taken_name(listed, body.name, own_id=egress_id)
    try:
        egress = await pool.update_egress(egress_id, **sent)
    except errors.PoolError as exc:
        raise _pool_error(exc, body.proxy_url, body.asset_proxy_url) from exc
    detail: dict[str, Any] = {"fields": sorted(sent)}
    if body.clearance_cookies is not None:
        detail["clearance"] = "pasted" if body.clearance_cookies else "forgotten"
    for shown in ("name", "enabled", "max_inflight", "tags"):
        if shown in sent:
            detail[shown] = sent[shown]
    await audit.audit(request, "egress.update", egress_id, **detail)
    return public(egress)


@router.delete("/egresses/{egress_id}", status_code=204)
async def remove_egress(egress_id: str, request: Request, pool: Pool) -> None:
    """Delete the egress; its accounts move to the others."""
    egress = await _existing(pool, egress_id)
    _refuse_settings_egress(egress)
    try:
        await pool.remove_egress(egress_id)
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    await audit.audit(request, "egress.remove", egress_id, name=egress.name)


@router.post("/egresses/test", status_code=202)
async def test_every_egress(request: Request, pool: Pool) -> dict[str, Any]:
    """Fetch the upstream's home page through every egress, as a batch: answers its state
    (``id``); follow ``/batches/{id}/events`` for one ``progress`` event per egress (with
    ``egress_id``, ``ok``, ``status``, ``challenged``, ``latency_ms``, ``error``), then the
    ``summary``."""
    listed = await _listed(pool)
    state = await batches.of(request.app).start_egress_test(all_egresses=True, total=len(listed))
    await audit.audit(request, "egress.test", state["id"], egresses="all")
    return state


@router.post("/egresses/{egress_id}/test", status_code=202)
async def test_egress(egress_id: str, request: Request, pool: Pool) -> dict[str, Any]:
    """Test one egress, as a batch of one (see ``POST /egresses/test``)."""
    await _existing(pool, egress_id)
    state = await batches.of(request.app).start_egress_test([egress_id])
    await audit.audit(request, "egress.test", state["id"], egresses=[egress_id])
    return state


@router.post("/egresses/{egress_id}/refresh-clearance")
async def refresh_clearance(egress_id: str, request: Request, pool: Pool) -> RefreshPublic:
    """Obtain a new clearance through the solver now (one at a time per egress across
    replicas). ``fresh``: one was obtained moments ago and is kept. 409 when no solver is
    configured (``egress.solver_url``); 502 when the solver failed."""
    try:
        done = await pool.refresh_clearance(egress_id)
    except errors.PoolError as exc:
        raise _pool_error(exc) from exc
    await audit.audit(request, "egress.refresh_clearance", egress_id, result=done.result.value)
    if done.result is egresses.RefreshResult.NO_SOLVER:
        raise AdminError(
            409, "no clearance solver is configured: set egress.solver_url (FlareSolverr), or "
            "paste a clearance obtained through this egress", type="conflict_error",
            code="no_solver",
        )  # fmt: skip
    if done.result is egresses.RefreshResult.FAILED:
        raise AdminError(
            502, done.message or "the solver could not obtain a clearance", type="api_error",
            code="clearance_refresh_failed",
        )  # fmt: skip
    return RefreshPublic(egress_id=done.egress_id, result=done.result, message=done.message)
