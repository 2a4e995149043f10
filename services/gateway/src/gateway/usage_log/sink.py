"""Where a ``UsageLog`` hands its batches: the ``UsageSink`` protocol, and ``StoreSink``
(single-process mode: straight into the durable store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from grok2api_storage.protocols import ClientKeyRepository, UsageRepository
from grok2api_storage.records import UsageRecord

from . import metrics


class UsageSink(Protocol):
    stage: str
    """The ``stage`` label of the metrics: ``queue`` or ``store``."""

    async def write(self, batch: Sequence[UsageRecord]) -> None:
        """Hand the whole batch on, or raise (the caller keeps it and retries later). Writing
        the same batch again must be harmless: records carry idempotent ids."""


class UsageStore(Protocol):
    """The part of a durable store (``grok2api_storage.protocols.Store``) usage needs."""

    @property
    def usage(self) -> UsageRepository: ...

    @property
    def client_keys(self) -> ClientKeyRepository: ...


def newest_use(batch: Sequence[UsageRecord]) -> dict[str, datetime]:
    """Each client key's newest request time in ``batch`` (master-key records have none)."""
    newest: dict[str, datetime] = {}
    for record in batch:
        key_id = record.key_id
        if key_id is not None:
            seen = newest.get(key_id)
            if seen is None or record.timestamp > seen:
                newest[key_id] = record.timestamp
    return newest


async def write_to_store(store: UsageStore, batch: Sequence[UsageRecord]) -> int:
    """Store the records (idempotent by id) and move their keys' ``last_used_at`` forward;
    the number newly stored. Safe to repeat after a failure at any point."""
    if not batch:
        return 0
    added = await store.usage.add_many(batch)
    last_used = newest_use(batch)
    if last_used:
        await store.client_keys.mark_used(last_used)
    metrics.WRITTEN.labels("store").inc(added)
    return added


class StoreSink:
    """Single-process mode: each batch goes to the durable store in one ``add_many``."""

    stage = "store"

    def __init__(self, store: UsageStore) -> None:
        self._store = store

    async def write(self, batch: Sequence[UsageRecord]) -> None:
        await write_to_store(self._store, batch)
