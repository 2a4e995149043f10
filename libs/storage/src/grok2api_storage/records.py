"""Values the repositories take and return: frozen dataclasses, plain Python types.

Timestamps are timezone-aware UTC ``datetime`` objects. Credentials and client keys are
excluded from ``repr`` so that logging a record never leaks them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import masking


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    COOLING = "cooling"
    INVALID = "invalid"
    DISABLED = "disabled"


class AccountTier(enum.StrEnum):
    BASIC = "basic"
    SUPER = "super"
    HEAVY = "heavy"


class QuotaSource(enum.StrEnum):
    REAL = "real"
    """Reported by the upstream's rate-limits answer."""
    ESTIMATED = "estimated"
    """Derived by counting our own use since the last real figure."""
    DEFAULT = "default"
    """The tier's documented default; nothing better is known yet."""


class Unset(enum.Enum):
    """Marks a patch field as "leave unchanged" (``None`` is a real value for some fields)."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class QuotaWindow:
    """One mode's quota: ``remaining`` of ``total`` per ``window_seconds``."""

    remaining: int
    total: int
    window_seconds: int
    reset_at: datetime | None = None
    source: QuotaSource = QuotaSource.DEFAULT

    def to_json(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "total": self.total,
            "window_seconds": self.window_seconds,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "source": self.source.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuotaWindow:
        reset_at = data.get("reset_at")
        return cls(
            remaining=int(data["remaining"]),
            total=int(data["total"]),
            window_seconds=int(data["window_seconds"]),
            reset_at=datetime.fromisoformat(reset_at) if reset_at else None,
            source=QuotaSource(data.get("source", QuotaSource.DEFAULT)),
        )


def quota_to_json(quota: Mapping[str, QuotaWindow]) -> dict[str, Any]:
    return {mode: window.to_json() for mode, window in sorted(quota.items())}


def quota_from_json(data: Mapping[str, Any] | None) -> dict[str, QuotaWindow]:
    return {mode: QuotaWindow.from_json(window) for mode, window in (data or {}).items()}


@dataclasses.dataclass(frozen=True)
class AccountRecord:
    """A stored Grok account, credential decrypted (never shown by ``repr``)."""

    id: str
    credential: str = dataclasses.field(repr=False)
    fingerprint: str = dataclasses.field(repr=False)
    tier: AccountTier | None
    status: AccountStatus
    enabled: bool
    tags: tuple[str, ...]
    note: str
    fail_count: int
    quota: Mapping[str, QuotaWindow]
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    user_id: str = ""
    """The account's grok.com user id (a UUID), discovered from ``/api/auth/session`` the
    first time a chat needed it; "" until then. Not a secret, but an upstream identifier:
    never logged next to the credential, never a metrics label."""

    @property
    def masked_credential(self) -> str:
        return masking.mask_secret(self.credential)


@dataclasses.dataclass(frozen=True)
class NewAccount:
    """An account to add or import. Only ``credential`` is required."""

    credential: str = dataclasses.field(repr=False)
    tier: AccountTier | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    enabled: bool = True
    tags: tuple[str, ...] = ()
    note: str = ""
    quota: Mapping[str, QuotaWindow] = dataclasses.field(default_factory=dict)



@dataclasses.dataclass(frozen=True)
class QuotaCheckpoint:
    """An account's quota windows and last lease as the pool's hot state counts them, saved
    so a rebuilt hot state does not forget what was spent (``AccountRepository.save_quotas``)."""

    quota: Mapping[str, QuotaWindow]
    last_used_at: datetime | None = None

@dataclasses.dataclass(frozen=True)
class AccountPatch:
    """Fields to change on an account; ``UNSET`` fields are left as they are.

    Changing ``credential`` re-encrypts it and recomputes the fingerprint; it fails with
    ``DuplicateError`` when another account already holds the new credential. It also
    forgets the ``user_id`` (another credential may be another user) unless the same
    patch sets one.
    """

    credential: str | Unset = dataclasses.field(default=UNSET, repr=False)
    tier: AccountTier | Unset | None = UNSET
    status: AccountStatus | Unset = UNSET
    enabled: bool | Unset = UNSET
    tags: tuple[str, ...] | Unset = UNSET
    note: str | Unset = UNSET
    fail_count: int | Unset = UNSET
    quota: Mapping[str, QuotaWindow] | Unset = UNSET
    last_used_at: datetime | Unset | None = UNSET
    user_id: str | Unset = UNSET

    def changes(self) -> dict[str, Any]:
        """The set fields by name."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }


@dataclasses.dataclass(frozen=True)
class AccountFilter:
    """Listing filters; ``None`` means "any". ``search`` matches the id or the note
    (case-insensitive substring) or, exactly, a pasted credential (by fingerprint)."""

    status: AccountStatus | None = None
    tier: AccountTier | None = None
    tag: str | None = None
    enabled: bool | None = None
    search: str | None = None


@dataclasses.dataclass(frozen=True)
class AccountPage:
    """One page of a listing, ordered by creation time then id; ``total`` ignores paging."""

    items: tuple[AccountRecord, ...]
    total: int
    offset: int
    limit: int


@dataclasses.dataclass(frozen=True)
class UpsertResult:
    account: AccountRecord
    created: bool


@dataclasses.dataclass(frozen=True)
class ImportCounts:
    """Outcome of a bulk import: new accounts, changed existing ones, and the rest
    (unchanged existing accounts, duplicates within the batch, blank credentials)."""

    added: int = 0
    updated: int = 0
    skipped: int = 0


class QuotaUnit(enum.StrEnum):
    """What a client key's daily and monthly quotas count."""

    REQUESTS = "requests"
    COST = "cost"
    """The model catalogue's cost units (``ModelSpec.cost``; a heavier model costs more)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyLimits:
    """What a client key may do. ``None`` everywhere means "no limit"."""

    allowed_models: tuple[str, ...] | None = None
    """``None``: every model is allowed."""
    rate_limit_per_minute: int | None = None
    """Requests admitted in any rolling 60 seconds."""
    max_concurrent: int | None = None
    """Requests in flight at once, across every gateway replica."""
    quota_unit: QuotaUnit = QuotaUnit.REQUESTS
    daily_quota: int | None = None
    """Units per UTC calendar day."""
    monthly_quota: int | None = None
    """Units per UTC calendar month."""
    account_tags: tuple[str, ...] | None = None
    """``None``: any account; else only accounts carrying at least one of these tags."""
    expires_at: datetime | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyRecord:
    """A client API key as listed: the plain key is never stored, only its hash."""

    id: str
    name: str
    prefix: str
    enabled: bool
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    """Set once by ``revoke``; a revoked key never works again (``enabled`` cannot undo it)."""
    limits: ClientKeyLimits = ClientKeyLimits()

    @property
    def masked(self) -> str:
        return f"{self.prefix}…"

    def refusal(self, now: datetime) -> str | None:
        """Why the key cannot be used at ``now`` ("revoked", "disabled", "expired"), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if not self.enabled:
            return "disabled"
        expires = self.limits.expires_at
        if expires is not None and expires <= now:
            return "expired"
        return None


@dataclasses.dataclass(frozen=True)
class CreatedClientKey:
    """The answer to ``create``: the only time the plain key is available."""

    record: ClientKeyRecord
    plain_key: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientKeyPatch:
    """A change to a key; every field left ``UNSET`` stays as it is."""

    name: str | Unset = UNSET
    enabled: bool | Unset = UNSET
    allowed_models: tuple[str, ...] | Unset | None = UNSET
    rate_limit_per_minute: int | Unset | None = UNSET
    max_concurrent: int | Unset | None = UNSET
    quota_unit: QuotaUnit | Unset = UNSET
    daily_quota: int | Unset | None = UNSET
    monthly_quota: int | Unset | None = UNSET
    account_tags: tuple[str, ...] | Unset | None = UNSET
    expires_at: datetime | Unset | None = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }


@dataclasses.dataclass(frozen=True)
class SettingOverride:
    """A runtime settings change: dotted key (``chat.stream``) to a JSON value."""

    key: str
    value: Any
    updated_at: datetime
    updated_by: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageRecord:
    """One client request, as the gateway saw it. Never the credential or the prompt.

    ``id`` is unique per request and makes writes idempotent: a batch written twice (a
    drainer that died between its insert and its acknowledgement) stores each record once.
    """

    id: str
    timestamp: datetime
    """When the request arrived."""
    key_id: str | None
    """The client key's id; ``None`` for the master key (``app.api_key``) or an open API."""
    model: str
    endpoint: str
    """The route, e.g. ``/v1/chat/completions``."""
    status: int
    """The HTTP status answered (a stream that failed after its head: the error's status)."""
    error_code: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    """Time to the first streamed token; ``None`` when nothing was streamed."""
    account_tier: str | None = None
    request_id: str = ""


_USAGE_FIELDS = frozenset(field.name for field in dataclasses.fields(UsageRecord))
_new_object = object.__new__


def usage_record(**fields: Any) -> UsageRecord:
    """``UsageRecord(**fields)``, cheaper when every field is given (the gateway makes one per
    request, the drainer one per record it reads back): the values go into the instance's
    ``__dict__`` at once instead of through the frozen class's ``object.__setattr__`` per
    field, which cost about 20 k instructions a record. Anything else (a field missing, one
    unknown) goes through the class itself: its defaults, its ``TypeError``."""
    if fields.keys() != _USAGE_FIELDS:
        return UsageRecord(**fields)
    record = _new_object(UsageRecord)
    record.__dict__.update(fields)
    return record


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageFilter:
    """Which records a query covers: ``since <= timestamp < until`` and the equalities set."""

    since: datetime | None = None
    until: datetime | None = None
    key_id: str | None = None
    model: str | None = None
    endpoint: str | None = None


class UsageGrouping(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"
    KEY = "key"
    MODEL = "model"
    ENDPOINT = "endpoint"


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageBucket:
    """The records of one group. Only the grouped-by fields are set: ``period`` (UTC start
    of the hour or day) for HOUR/DAY, ``key_id`` for KEY, and so on."""

    period: datetime | None = None
    key_id: str | None = None
    model: str | None = None
    endpoint: str | None = None
    requests: int = 0
    errors: int = 0
    """Records with ``status >= 400``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms_total: float = 0.0
    """Sum, so buckets can be merged; divide by ``requests`` for the mean."""


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One change made through the admin panel or its API.

    ``actor`` says who (``session:<id prefix>`` or ``bearer``), ``client`` from which
    address; ``detail`` holds JSON values the caller chose, never a secret.
    """

    at: datetime
    action: str
    target: str
    actor: str
    client: str
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first; ``total`` ignores paging."""

    items: tuple[AuditEntry, ...]
    total: int
    offset: int
    limit: int


@dataclasses.dataclass(frozen=True)
class SchemaMigration:
    """What ``migrate`` did: the schema version before and after."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


class ClearanceSource(enum.StrEnum):
    """Where an egress's Cloudflare clearance came from."""

    MANUAL = "manual"
    """Pasted by an operator (management API)."""
    SOLVER = "solver"
    """Obtained by the configured solver (FlareSolverr) through the egress."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Clearance:
    """Cloudflare clearance of one egress: valid only from that egress's address and with
    the user agent it was obtained with. ``cookies`` is a Cookie header value
    (``name=value; name=value``), encrypted at rest and never shown by ``repr``."""

    cookies: str = dataclasses.field(repr=False)
    user_agent: str = ""
    obtained_at: datetime
    expires_at: datetime | None = None
    source: ClearanceSource = ClearanceSource.MANUAL


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressRecord:
    """A way out to the upstream: direct (``proxy_url == ""``) or through a proxy.

    Proxy URLs may carry credentials: they are encrypted at rest and left out of ``repr``;
    ``masked_proxy`` (scheme://host:port) is what listings and logs show."""

    id: str
    name: str
    proxy_url: str = dataclasses.field(repr=False)
    asset_proxy_url: str = dataclasses.field(repr=False)
    tags: tuple[str, ...]
    enabled: bool
    max_inflight: int
    """Concurrent upstream calls through this egress; 0 = no cap."""
    browser: str
    """The TLS/HTTP fingerprint to impersonate ("" = the setting ``security.browser``)."""
    user_agent: str
    """The User-Agent to send ("" = the clearance's, else ``security.user_agent``)."""
    clearance: Clearance | None
    created_at: datetime
    updated_at: datetime

    @property
    def masked_proxy(self) -> str:
        return masking.mask_proxy(self.proxy_url)


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewEgress:
    name: str
    proxy_url: str = dataclasses.field(default="", repr=False)
    asset_proxy_url: str = dataclasses.field(default="", repr=False)
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_inflight: int = 0
    browser: str = ""
    user_agent: str = ""
    clearance: Clearance | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressPatch:
    """Fields to change on an egress; ``UNSET`` fields are left as they are. A new
    ``proxy_url`` forgets the clearance (it belonged to the old address) unless the same
    patch sets one."""

    name: str | Unset = UNSET
    proxy_url: str | Unset = dataclasses.field(default=UNSET, repr=False)
    asset_proxy_url: str | Unset = dataclasses.field(default=UNSET, repr=False)
    tags: tuple[str, ...] | Unset = UNSET
    enabled: bool | Unset = UNSET
    max_inflight: int | Unset = UNSET
    browser: str | Unset = UNSET
    user_agent: str | Unset = UNSET
    clearance: Clearance | Unset | None = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }
