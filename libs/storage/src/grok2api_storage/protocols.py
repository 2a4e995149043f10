"""The repository interfaces; the SQL and Redis stores both implement them.

Every method is safe to call concurrently from several replicas: uniqueness (credential
fingerprints, client-key hashes) is enforced by the store itself, not by the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from . import records, urls


class AccountRepository(Protocol):
    async def add(self, account: records.NewAccount) -> records.AccountRecord:
        """Store a new account; ``DuplicateError`` if its credential is already stored."""

    async def upsert(self, account: records.NewAccount) -> records.UpsertResult:
        """Add, or update the account holding the same credential with the given fields."""

    async def bulk_upsert(
        self, accounts: Iterable[records.NewAccount], *, update_existing: bool = True
    ) -> records.ImportCounts:
        """Import many accounts (see ``ImportCounts``); existing ones get the given tier,
        tags, note (when set) unless ``update_existing`` is false."""

    async def get(self, account_id: str) -> records.AccountRecord | None: ...

    async def find_by_credential(self, credential: str) -> records.AccountRecord | None: ...

    async def update(self, account_id: str, patch: records.AccountPatch) -> records.AccountRecord:
        """Apply ``patch``; ``NotFoundError`` if the account does not exist."""

    async def list(
        self,
        *,
        filters: records.AccountFilter = records.AccountFilter(),
        offset: int = 0,
        limit: int = 50,
    ) -> records.AccountPage: ...

    async def remove(self, account_id: str) -> bool:
        """Delete the account; ``False`` if it did not exist."""

    def iter_all(self, *, batch_size: int = 500) -> AsyncIterator[records.AccountRecord]:
        """Every account, in batches, without loading the whole table at once."""

    async def save_quotas(self, checkpoints: Mapping[str, records.QuotaCheckpoint]) -> int:
        """Write many accounts' quota and last use at once (one transaction where the store
        has them); accounts no longer stored are skipped. How many were written."""


class ClientKeyRepository(Protocol):
    async def create(
        self,
        *,
        name: str,
        limits: records.ClientKeyLimits = records.ClientKeyLimits(),
        plain_key: str | None = None,
    ) -> records.CreatedClientKey:
        """A new key (``g2a-…`` unless ``plain_key`` imports one); the plain key is in the
        answer and nowhere else, ever. ``InvalidRecordError`` for a bad name or limit."""

    async def find(self, plain_key: str) -> records.ClientKeyRecord | None:
        """The key whose hash matches ``plain_key`` in whatever state (revoked, disabled,
        expired: the caller asks ``refusal``), else ``None``. Constant-time compare."""

    async def any_exist(self) -> bool:
        """Whether at least one key is stored, revoked ones included (then the API is closed)."""

    async def get(self, key_id: str) -> records.ClientKeyRecord | None: ...

    async def list(self) -> tuple[records.ClientKeyRecord, ...]:
        """All keys, oldest first, masked (records carry only the display prefix)."""

    async def update(self, key_id: str, patch: records.ClientKeyPatch) -> records.ClientKeyRecord:
        """``NotFoundError`` for an unknown key, ``InvalidRecordError`` for a bad value or for
        enabling a revoked key."""

    async def mark_used(self, last_used: Mapping[str, datetime]) -> None:
        """Move each key's ``last_used_at`` forward to the given time (never backward)."""

    async def revoke(self, key_id: str) -> records.ClientKeyRecord | None:
        """Revoke for good (sets ``revoked_at`` and ``enabled=False``; revoking again keeps
        the first time); ``None`` if the key does not exist."""

    async def delete(self, key_id: str) -> bool: ...


class SettingsOverrideRepository(Protocol):
    async def get_all(self) -> dict[str, records.SettingOverride]: ...

    async def set_many(self, values: Mapping[str, Any], *, updated_by: str) -> None:
        """Insert or replace each dotted key's JSON value in one transaction."""

    async def delete(self, keys: Iterable[str]) -> int:
        """Remove overrides; the number actually removed."""


class UsageRepository(Protocol):
    async def add_many(self, entries: Iterable[records.UsageRecord]) -> int:
        """Store the records; one whose ``id`` is stored already is skipped (idempotent,
        also against a concurrent writer of an overlapping batch). The number newly stored.
        ``InvalidRecordError`` for an id that is not 1 to 64 printable ASCII characters or a
        naive timestamp; text fields longer than their column are clipped."""

    async def list(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        limit: int = 1000,
        before_id: str | None = None,
    ) -> tuple[records.UsageRecord, ...]:
        """Matching records, newest first (``timestamp``, then ``id`` bytewise, descending);
        with ``before_id``, only those after that record in this order (keyset paging:
        pass the last id of a page); ``NotFoundError`` if that record is not stored."""

    async def summary(
        self,
        *,
        filters: records.UsageFilter = records.UsageFilter(),
        group_by: Sequence[records.UsageGrouping] = (),
    ) -> tuple[records.UsageBucket, ...]:
        """Totals per group, ordered by the grouped fields (periods ascending); one bucket
        for everything when ``group_by`` is empty (an all-zero bucket if nothing matched).
        ``InvalidRecordError`` when grouping by both HOUR and DAY."""

    async def purge_before(self, cutoff: datetime) -> int:
        """Delete records older than ``cutoff``; the number deleted."""


class AuditRepository(Protocol):
    async def add(self, entry: records.AuditEntry) -> None:
        """Append one entry; entries are listed in the order they were added."""

    async def list(self, *, offset: int = 0, limit: int = 50) -> records.AuditPage:
        """A page of entries, newest first."""


class EgressRepository(Protocol):
    """Egresses (proxy URLs and clearance cookies encrypted at rest) and which egress
    each account is bound to."""

    async def add(self, egress: records.NewEgress) -> records.EgressRecord:
        """``DuplicateError`` when the name is taken, ``InvalidRecordError`` for a bad value."""

    async def get(self, egress_id: str) -> records.EgressRecord | None: ...

    async def find_by_name(self, name: str) -> records.EgressRecord | None: ...

    async def list(self) -> tuple[records.EgressRecord, ...]:
        """Every egress, oldest first."""

    async def update(self, egress_id: str, patch: records.EgressPatch) -> records.EgressRecord:
        """``NotFoundError``, ``DuplicateError`` (name taken) or ``InvalidRecordError``."""

    async def remove(self, egress_id: str) -> bool:
        """Delete the egress and its bindings; ``False`` if it did not exist."""

    async def bindings(self) -> dict[str, str]:
        """Account id -> the egress id it is bound to."""

    async def set_bindings(self, bindings: Mapping[str, str | None]) -> None:
        """Bind each account to the egress given (``None``: unbind)."""


class Store(Protocol):
    """One open durable store. Use as ``async with``, or call ``aclose``."""

    @property
    def location(self) -> urls.StoreLocation: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def client_keys(self) -> ClientKeyRepository: ...

    @property
    def settings_overrides(self) -> SettingsOverrideRepository: ...

    @property
    def usage(self) -> UsageRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def egresses(self) -> EgressRepository: ...

    async def migrate(self) -> records.SchemaMigration:
        """Bring the schema to this code's version; idempotent, safe across replicas."""

    async def schema_version(self) -> str | None: ...

    async def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the store answers (for /readyz)."""

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
