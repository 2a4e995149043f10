"""UsageRepository behaviours on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grok2api_storage import protocols
from grok2api_storage.records import UsageRecord

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def entry(minutes: int, outcome: str = "success") -> UsageRecord:
    return UsageRecord(
        timestamp=T0 + timedelta(minutes=minutes),
        account_id="a" * 32,
        model="grok-4",
        outcome=outcome,
        prompt_tokens=minutes,
        completion_tokens=2 * minutes,
    )


async def test_lists_usage_newest_first_within_a_window(store: protocols.Store) -> None:
    await store.usage.add_many([entry(m) for m in range(10)])
    await store.usage.add_many([entry(3, "rate_limited")])
    window = await store.usage.list(
        since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5)
    )
    assert [e.timestamp for e in window] == [T0 + timedelta(minutes=m) for m in (4, 3, 3, 2)]
    assert {e.outcome for e in window if e.timestamp == T0 + timedelta(minutes=3)} == {
        "success",
        "rate_limited",
    }
    assert (await store.usage.list(limit=2)) == (entry(9), entry(8))


async def test_purges_records_older_than_a_cutoff(store: protocols.Store) -> None:
    await store.usage.add_many([entry(m) for m in range(5)])
    assert await store.usage.purge_before(T0 + timedelta(minutes=3)) == 3
    assert [e.prompt_tokens for e in await store.usage.list()] == [4, 3]
    await store.usage.add_many([])
