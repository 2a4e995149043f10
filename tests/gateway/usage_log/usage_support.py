"""Helpers of the usage-pipeline tests: records, live settings, a TCP forwarder that can
cut a store off and restore it, a failing sink, a store wrapper that counts writes, and
waiting for a condition."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols
from grok2api_storage.records import UsageRecord

# The storage suite's helpers (servers, per-run databases, Redis prefixes) are reused.
_TESTS = str(Path(__file__).resolve().parents[2])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
from storage import support as storage_support  # noqa: E402
from storage.forwarder import TcpForwarder  # noqa: E402,F401  (re-exported for the suite)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def live_settings(tmp_path: Path, **usage: Any) -> LiveSettings:
    return LiveSettings(
        Settings.model_validate(
            {"data_dir": str(tmp_path), "usage": {"flush_interval_seconds": 0.05, **usage}}
        )
    )


def make_record(n: int, *, key_id: str | None = None, at: datetime | None = None) -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4().hex,
        timestamp=at or T0 + timedelta(seconds=n),
        key_id=key_id,
        model="grok-4",
        endpoint="/v1/chat/completions",
        status=200 if n % 7 else 429,
        error_code=None if n % 7 else "rate_limited",
        prompt_tokens=n,
        completion_tokens=2 * n,
        cost_units=1,
        latency_ms=12.5,
        ttft_ms=3.25 if n % 2 else None,
        account_tier="basic",
        request_id=f"req-{n}",
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], *, what: str, attempts: int = 600
) -> None:
    """Poll ``check`` every 50 ms until it holds; fail naming ``what`` after ``attempts``."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def stored(store: protocols.Store) -> list[UsageRecord]:
    return list(await store.usage.list(limit=1_000_000))


def metric(counter: Any, *labels: str) -> float:
    """The current value of a prometheus counter or gauge (child)."""
    child = counter.labels(*labels) if labels else counter
    return float(child._value.get())


class FlakySink:
    """A ``UsageSink`` that fails while ``down`` and keeps what it was handed otherwise."""

    stage = "store"

    def __init__(self) -> None:
        self.down = False
        self.received: list[UsageRecord] = []

    async def write(self, batch: Sequence[UsageRecord]) -> None:
        if self.down:
            raise ConnectionError("the next stage is down")
        self.received.extend(batch)


class _CountingUsage:
    def __init__(self, inner: protocols.UsageRepository, seen: Counter[str]) -> None:
        self._inner = inner
        self._seen = seen

    async def add_many(self, entries: Iterable[UsageRecord]) -> int:
        batch = list(entries)
        added = await self._inner.add_many(batch)
        self._seen.update(record.id for record in batch)
        return added

    async def purge_before(self, cutoff: datetime) -> int:
        return await self._inner.purge_before(cutoff)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingStore:
    """A store whose ``usage.add_many`` counts how often each record id was written."""

    def __init__(self, inner: protocols.Store) -> None:
        self.inner = inner
        self.written: Counter[str] = Counter()
        self._usage = _CountingUsage(inner.usage, self.written)

    @property
    def usage(self) -> Any:
        return self._usage

    @property
    def client_keys(self) -> protocols.ClientKeyRepository:
        return self.inner.client_keys


def newest_per_key(records: Iterable[UsageRecord]) -> Mapping[str, datetime]:
    newest: dict[str, datetime] = {}
    for record in records:
        if record.key_id is not None:
            newest[record.key_id] = max(
                record.timestamp, newest.get(record.key_id, record.timestamp)
            )
    return newest


__all__ = ["storage_support"]
